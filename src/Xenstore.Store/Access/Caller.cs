namespace Xenstore.Store.Access;

/// <summary>
/// Who asks, as permission checks see it: the domain, whether it is privileged, and the domain whose permissions it
/// holds as well (SET_TARGET), if any.
/// </summary>
internal readonly record struct Caller(uint Domid, bool Privileged, uint? Target);
