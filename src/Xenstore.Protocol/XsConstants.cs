namespace Xenstore.Protocol;

/// <summary>Limits and well-known values of the wire protocol (xs_wire.h).</summary>
public static class XsConstants
{
    /// <summary>Size of <c>struct xsd_sockmsg</c>.</summary>
    public const int HeaderSize = 16;

    /// <summary><c>XENSTORE_PAYLOAD_MAX</c>: the largest payload in either direction.</summary>
    public const int PayloadMax = 4096;

    /// <summary><c>XENSTORE_ABS_PATH_MAX</c>.</summary>
    public const int AbsolutePathMax = 3072;

    /// <summary><c>XENSTORE_REL_PATH_MAX</c>.</summary>
    public const int RelativePathMax = 2048;

    /// <summary><c>DOMID_FIRST_RESERVED</c>: no domain has this id or a higher one.</summary>
    public const uint DomidFirstReserved = 0x7ff0;

    /// <summary><c>DOMID_SELF</c>: IS_DOMAIN_INTRODUCED answers <c>T</c> for it.</summary>
    public const uint DomidSelf = 0x7ff0;

    /// <summary><c>DOMID_ANY</c>: in a permission entry, every domain (with the DOMID_ANY feature).</summary>
    public const uint DomidAny = 0x7ff5;

    /// <summary>The acknowledgement payload <c>OK\0</c>.</summary>
    public static ReadOnlySpan<byte> Ok => "OK\0"u8;
}
