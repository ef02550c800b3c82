using System.Text.Json.Nodes;

namespace Flagstaff.Evaluation.Tests;

/// <summary>Builds flag configurations in the wire format for tests, fluently.</summary>
internal sealed class FlagJson
{
    private readonly JsonObject _flag;
    private readonly JsonArray _conditions = [];

    private FlagJson(string slug)
    {
        _flag = new JsonObject
        {
            ["slug"] = slug,
            ["conditions"] = _conditions,
            ["defaultVariation"] = new JsonObject { ["active"] = false, ["value"] = null },
        };
    }

    public static FlagJson Flag(string slug) => new(slug);

    /// <summary>Adds a condition serving an active value when every rule matches.</summary>
    public FlagJson When(JsonNode? value, params JsonObject[] rules)
    {
        _conditions.Add(new JsonObject
        {
            ["rules"] = new JsonArray([.. rules]),
            ["variation"] = new JsonObject { ["active"] = true, ["value"] = value },
        });
        return this;
    }

    public FlagJson Otherwise(JsonNode? value)
    {
        _flag["defaultVariation"] = new JsonObject { ["active"] = true, ["value"] = value };
        return this;
    }

    public JsonObject Build() => _flag;

    public string ToJson() => _flag.ToJsonString();

    public static string Configuration(params FlagJson[] flags) => new JsonArray([.. flags.Select(f => f.Build())]).ToJsonString();

    public static JsonObject StrEqual(string key, params string[] values) =>
        new() { ["key"] = key, ["operator"] = "STR_EQUAL", ["negate"] = false, ["values"] = new JsonArray([.. values.Select(v => (JsonNode)v)]) };

    public static JsonObject Percentage(string key, double start, double end, long seed) =>
        new() { ["key"] = key, ["operator"] = "PERCENTAGE", ["negate"] = false, ["rangeStart"] = start, ["rangeEnd"] = end, ["seed"] = seed };

    public static JsonObject Rule(string key, string op, params (string Name, JsonNode? Value)[] fields)
    {
        var rule = new JsonObject { ["key"] = key, ["operator"] = op, ["negate"] = false };
        foreach (var (name, value) in fields)
        {
            rule[name] = value;
        }

        return rule;
    }
}
