using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flagstaff.Evaluation.Tests;

public class ContextTests
{
    private const string Json = """{"userId":"u1","age":42,"beta":true,"tags":["a",1,"b",null,{"x":1}],"meta":{"k":"v"},"gone":null}""";

    [Fact]
    public void Every_way_of_building_gives_the_same_context()
    {
        var parsed = EvaluationContext.Parse(System.Text.Encoding.UTF8.GetBytes(Json));
        var fromElement = EvaluationContext.FromJson(JsonDocument.Parse(Json).RootElement);
        var fromNode = EvaluationContext.FromJson(JsonNode.Parse(Json)!.AsObject());
        var fromDictionary = EvaluationContext.FromDictionary(new Dictionary<string, object?>
        {
            ["userId"] = "u1",
            ["age"] = 42,
            ["beta"] = true,
            ["tags"] = new[] { "a", "b" },
            ["meta"] = JsonNode.Parse("""{"k":"v"}"""),
            ["gone"] = null,
        });
        var built = EvaluationContext.CreateBuilder()
            .Set("userId", "u1").Set("age", 42L).Set("beta", true).Set("tags", ["a", "b"])
            .Set("meta", ContextValue.Object).SetNull("gone").Build();

        foreach (var context in new[] { parsed, fromElement, fromNode, fromDictionary, built })
        {
            Assert.Equal(6, context.Count);
            Assert.True(context.TryGetValue("userId", out var user));
            Assert.Equal("u1", user.String);
            Assert.True(context.TryGetValue("age", out var age));
            Assert.Equal(ContextValueKind.Number, age.Kind);
            Assert.Equal(42, age.Number);
            Assert.True(context.TryGetValue("beta", out var beta));
            Assert.True(beta.Boolean);
            Assert.True(context.TryGetValue("tags", out var tags));
            Assert.Equal(["a", "b"], tags.ArrayStrings.ToArray());
            Assert.True(context.TryGetValue("meta", out var meta));
            Assert.Equal(ContextValueKind.Object, meta.Kind);
            Assert.True(context.TryGetValue("gone", out var gone));
            Assert.Equal(ContextValueKind.Null, gone.Kind);
            Assert.False(context.TryGetValue("missing", out _));
        }
    }

    [Fact]
    public void Json_nodes_built_from_dotnet_numbers_are_read()
    {
        var context = EvaluationContext.FromJson(new JsonObject { ["long"] = 1_800_000_000_000L, ["decimal"] = 1.5m, ["int"] = 3 });

        Assert.True(context.TryGetValue("long", out var l));
        Assert.Equal(1_800_000_000_000d, l.Number);
        Assert.True(context.TryGetValue("decimal", out var d));
        Assert.Equal(1.5, d.Number);
        Assert.True(context.TryGetValue("int", out var i));
        Assert.Equal(3, i.Number);
    }

    [Fact]
    public void A_later_value_replaces_an_earlier_one_of_the_same_name()
    {
        var context = EvaluationContext.Parse("""{"a":1,"a":"two"}"""u8);

        Assert.Equal(1, context.Count);
        Assert.True(context.TryGetValue("a", out var a));
        Assert.Equal("two", a.String);
    }

    [Fact]
    public void Large_contexts_are_indexed()
    {
        var builder = EvaluationContext.CreateBuilder();
        for (int i = 0; i < 100; i++)
        {
            builder.Set("p" + i, i);
        }

        var context = builder.Build();
        for (int i = 0; i < 100; i++)
        {
            Assert.True(context.TryGetValue("p" + i, out var value));
            Assert.Equal(i, value.Number);
        }
    }

    [Fact]
    public void With_returns_a_new_context_and_leaves_the_original_alone()
    {
        var original = EvaluationContext.CreateBuilder().Set("a", "1").Build();
        var changed = original.With("b", ContextValue.FromString("2"));

        Assert.False(original.ContainsKey("b"));
        Assert.True(changed.ContainsKey("a"));
        Assert.True(changed.ContainsKey("b"));
    }

    [Fact]
    public void Dates_become_milliseconds_since_the_epoch()
    {
        var at = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var context = EvaluationContext.FromDictionary(new Dictionary<string, object?> { ["at"] = at });

        Assert.True(context.TryGetValue("at", out var value));
        Assert.Equal(1_704_067_200_000d, value.Number);
    }

    [Fact]
    public void An_unsupported_type_is_refused_with_the_property_name()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            EvaluationContext.FromDictionary(new Dictionary<string, object?> { ["when"] = new object() }));

        Assert.Contains("\"when\"", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("{\"a\":1} 2")]
    [InlineData("{")]
    public void Parse_refuses_what_is_not_one_object(string json)
    {
        Assert.ThrowsAny<JsonException>(() => EvaluationContext.Parse(System.Text.Encoding.UTF8.GetBytes(json)));
    }
}
