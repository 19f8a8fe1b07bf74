using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xenstore.Protocol;

namespace Xenstore.Cli;

/// <summary>
/// The opt-in <c>--json</c> output. Values are strings when they are valid UTF-8, otherwise
/// <c>{"base64": "..."}</c>, so no byte is lost.
/// </summary>
internal sealed class JsonResult
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly UTF8Encoding s_strictUtf8 = new(false, throwOnInvalidBytes: true);

    private readonly JsonObject _root = [];

    public static JsonNode? Value(byte[]? value)
    {
        if (value is null)
        {
            return null;
        }
        try
        {
            return JsonValue.Create(s_strictUtf8.GetString(value));
        }
        catch (DecoderFallbackException)
        {
            return new JsonObject { ["base64"] = Convert.ToBase64String(value) };
        }
    }

    public void Add(string path, byte[] value) => _root[path] = Value(value);

    public void Add(string path, string[] children) => _root[path] = new JsonArray([.. children.Select(c => (JsonNode)JsonValue.Create(c))]);

    public Node Root(string path)
    {
        var children = new JsonObject();
        _root[path] = children;
        return new Node(children);
    }

    public string ToText() => _root.ToJsonString(s_options) + "\n";

    public static string Event(string path, byte[]? value)
    {
        var node = new JsonObject { ["path"] = path };
        if (value is not null)
        {
            node["value"] = Value(value);
        }
        return node.ToJsonString(s_options);
    }

    /// <summary>One level of an <c>ls --json</c> tree: name to <c>{value, perms?, children}</c>.</summary>
    internal sealed class Node(JsonObject children)
    {
        public Node Child(string name, byte[]? value, XsPermission[]? permissions)
        {
            var grandchildren = new JsonObject();
            var entry = new JsonObject { ["value"] = Value(value) };
            if (permissions is not null)
            {
                entry["perms"] = new JsonArray([.. permissions.Select(p => (JsonNode)JsonValue.Create(LsCommand.FormatPermission(p)))]);
            }
            entry["children"] = grandchildren;
            children[name] = entry;
            return new Node(grandchildren);
        }
    }
}
