using System.Text;
using Xenstore.Protocol;

namespace Xenstore.TestKit.Engine;

/// <summary>
/// The reply to one request, with the watch events the same connection received while it was processed
/// (before the reply, as C xenstored sends them, and after it, like the initial event of a new watch).
/// </summary>
public sealed class Reply(RecordedMessage message, IReadOnlyList<WatchEvent> eventsBefore, IReadOnlyList<WatchEvent> eventsAfter)
{
    public RecordedMessage Message { get; } = message;

    public IReadOnlyList<WatchEvent> EventsBefore { get; } = eventsBefore;

    public IReadOnlyList<WatchEvent> EventsAfter { get; } = eventsAfter;

    public bool IsError => Message.Type == XsMessageType.Error;

    public byte[] Payload => Message.Payload;

    /// <summary>The whole payload as text, NULs included.</summary>
    public string Text => Message.Text;

    /// <summary>The errno name of an error reply, or "OK"/the text of a success.</summary>
    public string Error => IsError ? Text.TrimEnd('\0') : "none";

    /// <summary>The NUL-terminated strings of the payload (bytes after the last NUL are ignored).</summary>
    public string[] Strings
    {
        get
        {
            string text = Text;
            int last = text.LastIndexOf('\0');
            return last < 0 ? [] : text[..last].Split('\0');
        }
    }

    /// <summary>Asserts the request succeeded with <c>OK\0</c>.</summary>
    public Reply Ok()
    {
        Assert.False(IsError, $"expected OK, got {Message}");
        Assert.Equal("OK\0", Text);
        return this;
    }

    /// <summary>Asserts the request succeeded (any payload).</summary>
    public Reply Success()
    {
        Assert.False(IsError, $"expected success, got {Message}");
        return this;
    }

    /// <summary>Asserts the request failed with exactly this errno name.</summary>
    public Reply Fails(string errno)
    {
        Assert.True(IsError, $"expected {errno}, got {Message}");
        Assert.Equal(errno + "\0", Text);
        return this;
    }

    /// <summary>Asserts a successful reply with exactly this payload.</summary>
    public Reply Is(string payload)
    {
        Assert.False(IsError, $"expected '{payload}', got {Message}");
        Assert.Equal(payload, Text);
        return this;
    }

    public static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);
}
