using Xenstore.Protocol;

namespace Xenstore.Server.Pipeline;

/// <summary>One item for the store thread: a request, a connection opening or closing, or an action.</summary>
internal readonly struct StoreWork
{
    private StoreWork(StoreWorkKind kind, IClientConnection? connection, XsHeader header, byte[]? payload, Action<Store.XenstoreEngine>? action)
    {
        Kind = kind;
        Connection = connection;
        Header = header;
        Payload = payload;
        Action = action;
        Timestamp = kind == StoreWorkKind.Request ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
    }

    /// <summary>When a request arrived, for the latency histogram.</summary>
    public long Timestamp { get; }

    public StoreWorkKind Kind { get; }

    public IClientConnection? Connection { get; }

    public XsHeader Header { get; }

    public byte[]? Payload { get; }

    public Action<Store.XenstoreEngine>? Action { get; }

    public static StoreWork Request(IClientConnection connection, XsHeader header, byte[] payload) =>
        new(StoreWorkKind.Request, connection, header, payload, null);

    public static StoreWork Open(IClientConnection connection) => new(StoreWorkKind.Open, connection, default, null, null);

    public static StoreWork Close(IClientConnection connection) => new(StoreWorkKind.Close, connection, default, null, null);

    public static StoreWork Run(Action<Store.XenstoreEngine> action) => new(StoreWorkKind.Action, null, default, null, action);
}

internal enum StoreWorkKind
{
    Request,
    Open,
    Close,
    Action,
}
