using System.Text.Json.Serialization;

namespace Xenstore.Server.LiveUpdate;

/// <summary>
/// The hand-over record's serializer, generated at build time: no reflection, so it works in the native (AOT)
/// daemon, and the two sides of a live update read and write the same shape.
/// </summary>
[JsonSerializable(typeof(HandoverRecord))]
internal sealed partial class HandoverJson : JsonSerializerContext;
