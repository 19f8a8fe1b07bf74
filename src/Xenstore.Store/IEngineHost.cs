namespace Xenstore.Store;

/// <summary>
/// What the engine asks of its surroundings for requests whose effect lies outside the store: the transport of a
/// guest (INTRODUCE, RELEASE) and daemon-level CONTROL commands. The engine passes itself where the host needs to
/// look at the store. Every member has a harmless default so the engine runs alone in tests.
/// </summary>
public interface IEngineHost
{
    /// <summary>A domain was introduced (or re-introduced): connect its ring.</summary>
    void DomainIntroduced(DomainIntroduction domain) { }

    /// <summary>A domain was released or died: close its ring connection.</summary>
    void DomainReleased(uint domid) { }

    /// <summary>
    /// A CONTROL command the engine does not handle itself (e.g. <c>log</c>, <c>memreport</c>). Returns the reply
    /// text, or null for "not a command" (EINVAL).
    /// </summary>
    string? Control(XenstoreEngine engine, int connectionId, string command, IReadOnlyList<string> args) => null;

    /// <summary>
    /// Lets the host answer a CONTROL request later (a live update is answered by the new daemon). Returns true
    /// when the host took the request over; the engine then sends no reply.
    /// </summary>
    bool TryDeferControl(XenstoreEngine engine, int connectionId, Protocol.XsHeader header, string command, IReadOnlyList<string> args) => false;

    /// <summary>
    /// An unprivileged domain's request was refused for a quota or for permissions (the error reply follows). Called
    /// on the engine's thread, once per refused request.
    /// </summary>
    void Refused(XenstoreEngine engine, in Refusal refusal) { }
}
