using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Flagstaff.Evaluation;

namespace Flagstaff.Client.Tests;

/// <summary>The evaluation API, offline from a bootstrap configuration: values, defaults and reasons.</summary>
public sealed class EvaluationTests
{
    private const string Flags = """
        [
          {"slug":"on","conditions":[],"defaultVariation":{"active":true,"value":true}},
          {"slug":"off","conditions":[],"defaultVariation":{"active":false,"value":null}},
          {"slug":"color","conditions":[{"rules":[{"key":"userId","operator":"STR_EQUAL","negate":false,"values":["u-1"]}],"variation":{"active":true,"value":"green"}}],"defaultVariation":{"active":true,"value":"red"}},
          {"slug":"limit","conditions":[],"defaultVariation":{"active":true,"value":25}},
          {"slug":"ratio","conditions":[],"defaultVariation":{"active":true,"value":0.5}},
          {"slug":"settings","conditions":[],"defaultVariation":{"active":true,"value":{"mode":"fast","retries":3}}},
          {"slug":"rollout","conditions":[{"rules":[{"key":"userId","operator":"PERCENTAGE","rangeStart":0,"rangeEnd":1,"seed":1}],"variation":{"active":true,"value":true}}],"defaultVariation":{"active":false,"value":null}},
          {"slug":"launch","conditions":[{"rules":[{"key":"timestamp","operator":"DATE_AFTER","timestamp":1767225600000,"iso":"2026-01-01T00:00:00"}],"variation":{"active":true,"value":true}}],"defaultVariation":{"active":false,"value":null}},
          {"slug":"broken","conditions":[{"rules":[{"key":"userId","operator":"NO_SUCH_OPERATOR"}],"variation":{"active":true,"value":true}}],"defaultVariation":{"active":false,"value":null}}
        ]
        """;

    private static FlagstaffClient Offline(string flags = Flags, TimeProvider? clock = null) =>
        new(new FlagstaffClientOptions { Mode = SyncMode.Offline, BootstrapJson = flags, TimeProvider = clock });

    [Fact]
    public async Task Typed_getters_return_the_value_or_the_callers_default_with_a_reason()
    {
        await using var client = Offline();
        var user = Contexts.User("u-1");
        Assert.Equal(ClientState.Ready, client.State);

        Assert.True(client.GetBoolean("on", user, false));
        Assert.True(client.IsActive("on", user));
        Assert.False(client.IsActive("off", user));
        Assert.True(client.GetBoolean("off", user, true));
        Assert.Equal("green", client.GetString("color", user, "none"));
        Assert.Equal("red", client.GetString("color", Contexts.User("u-2"), "none"));
        Assert.Equal(25, client.GetInt64("limit", user, 0));
        Assert.Equal(0.5, client.GetDouble("ratio", user, 0));
        Assert.Equal(0, client.GetInt64("ratio", user, 0));
        Assert.Equal(new Settings("fast", 3), client.GetValue("settings", user, new Settings("slow", 0), TestJson.Default.Settings));

        var detail = client.GetStringDetail("color", user, "none");
        Assert.Equal((FlagReason.TargetingMatch, 0, true, false), (detail.Reason, detail.ConditionIndex, detail.IsActive, detail.IsDefault));
        Assert.Equal(FlagReason.Default, client.GetStringDetail("color", Contexts.User("u-2"), "none").Reason);
        Assert.Equal(FlagReason.Split, client.GetBooleanDetail("rollout", user, false).Reason);
        var inactive = client.GetBooleanDetail("off", user, true);
        Assert.Equal((true, false, true, FlagReason.Default), (inactive.Value, inactive.IsActive, inactive.IsDefault, inactive.Reason));
    }

    [Fact]
    public async Task Unknown_flags_wrong_types_and_invalid_flags_give_the_default_and_say_why()
    {
        await using var client = Offline();
        var user = Contexts.User("u-1");

        var unknown = client.GetBooleanDetail("nope", user, true);
        Assert.Equal((true, FlagReason.FlagNotFound), (unknown.Value, unknown.Reason));

        var wrongType = client.GetBooleanDetail("color", user, false);
        Assert.Equal((false, FlagReason.WrongType, true, true), (wrongType.Value, wrongType.Reason, wrongType.IsActive, wrongType.IsDefault));
        Assert.Contains("not a boolean", wrongType.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(new Settings("x", 1), client.GetValue("color", user, new Settings("x", 1), TestJson.Default.Settings));

        var broken = client.GetBooleanDetail("broken", user, true);
        Assert.Equal((true, FlagReason.Error), (broken.Value, broken.Reason));
        Assert.NotNull(broken.ErrorMessage);

        Assert.Equal(FlagReason.Error, client.GetBooleanDetail(null!, user, true).Reason);
        Assert.Equal(FlagReason.Error, client.GetBooleanDetail("on", null!, false).Reason);
        Assert.Null(client.Evaluate("off", user).Value);
        Assert.Equal("green", client.Evaluate("color", user).Value!.AsString());
    }

    [Fact]
    public async Task All_flags_for_a_context_are_the_active_ones()
    {
        await using var client = Offline(clock: new ManualClock(DateTimeOffset.Parse("2025-06-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)));
        var all = client.EvaluateAll(Contexts.User("u-1"));
        Assert.Equal(["color", "limit", "on", "ratio", "rollout", "settings"], all.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(9, client.GetSnapshot().FlagSlugs.Count);
    }

    [Fact]
    public async Task The_client_adds_the_timestamp_so_schedules_work_offline()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2025-12-31T23:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var client = Offline(clock: clock);
        var user = Contexts.User("u-1");
        Assert.False(client.IsActive("launch", user));
        clock.Now = DateTimeOffset.Parse("2026-01-01T00:00:01Z", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(client.IsActive("launch", user));

        // A context that sets its own timestamp wins.
        Assert.False(client.IsActive("launch", EvaluationContext.CreateBuilder().Set("timestamp", 1_000_000_000_000L).Build()));
    }

    [Fact]
    public async Task Before_any_configuration_every_evaluation_is_the_default_with_NotReady()
    {
        await using var client = new FlagstaffClient(new FlagstaffClientOptions { BaseUrl = new Uri("http://127.0.0.1:9/"), ServerKey = "fs_server_x", PersistConfiguration = false, ReportUsage = false });
        var detail = client.GetDoubleDetail("anything", Contexts.User("u"), 1.5);
        Assert.Equal((1.5, FlagReason.NotReady), (detail.Value, detail.Reason));
        Assert.False(client.GetSnapshot().HasConfiguration);
        Assert.Empty(client.EvaluateAll(Contexts.User("u")));
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_problem()
    {
        var e = Assert.Throws<ArgumentException>(() => new FlagstaffClient(new FlagstaffClientOptions { BaseUrl = new Uri("ftp://x/"), PollInterval = TimeSpan.Zero }));
        Assert.Contains("BaseUrl must be an absolute http", e.Message, StringComparison.Ordinal);
        Assert.Contains("ServerKey is required", e.Message, StringComparison.Ordinal);
        Assert.Contains("PollInterval must be positive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bootstrap_file_in_the_exported_format_is_read_and_a_bad_one_gives_an_error_not_an_exception()
    {
        var path = Environment.TempFile();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, Flags);
        await using (var client = new FlagstaffClient(new FlagstaffClientOptions { Mode = SyncMode.Offline, BootstrapPath = path }))
        {
            Assert.True(client.GetBoolean("on", Contexts.User("u"), false));
        }

        await File.WriteAllTextAsync(path, "{not json");
        await using var bad = new FlagstaffClient(new FlagstaffClientOptions { Mode = SyncMode.Offline, BootstrapPath = path });
        Assert.Equal(ClientState.Initializing, bad.State);
        Assert.Equal(FlagReason.NotReady, bad.GetBooleanDetail("on", Contexts.User("u"), false).Reason);
    }

    [Fact]
    public void The_sdk_reasons_extend_the_cores_reasons_member_for_member()
    {
        // FlagSnapshot casts EvaluationReason to FlagReason: their shared members must keep their order.
        foreach (var reason in Enum.GetValues<EvaluationReason>())
        {
            Assert.Equal(reason.ToString(), ((FlagReason)reason).ToString());
        }
    }

    public static TheoryData<string, string> Vectors()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Vectors"), "*.json").Where(f => !f.EndsWith("percentage-golden.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            foreach (var testCase in JsonNode.Parse(File.ReadAllText(file))!["cases"]!.AsArray())
            {
                data.Add(Path.GetFileName(file), testCase!["name"]!.GetValue<string>());
            }
        }

        return data;
    }

    // The shared conformance vectors through the SDK: it must answer exactly as the core does.
    [Theory]
    [MemberData(nameof(Vectors))]
    public async Task Conformance_vectors_give_the_same_answers_through_the_sdk(string file, string name)
    {
        var document = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", file)))!;
        var testCase = document["cases"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;
        var now = DateTimeOffset.Parse("2026-06-15T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        await using var client = Offline(document["flags"]!.ToJsonString(), new ManualClock(now));
        var context = EvaluationContext.FromJson(testCase["context"]!.AsObject());
        var slug = testCase["flag"]!.GetValue<string>();
        var expect = testCase["expect"]!;
        bool active = expect["active"]!.GetValue<bool>();
        var value = expect["value"];
        int condition = expect["condition"]?.GetValue<int>() ?? -1;

        // The SDK adds the current time as "timestamp" (docs/wire/flag-format.md); a vector written for a
        // context without one may then legitimately differ: the core, given the same time, decides.
        var core = client.GetSnapshot().Configuration!;
        var withNow = core.Evaluate(slug, context, now.ToUnixTimeMilliseconds());
        if (!context.ContainsKey("timestamp") && withNow.ConditionIndex != core.Evaluate(slug, context).ConditionIndex)
        {
            (active, value, condition) = (withNow.IsActive, withNow.Value is null ? null : JsonNode.Parse(withNow.Value.ToJson()), withNow.ConditionIndex);
        }

        var detail = client.Evaluate(slug, context);

        Assert.Equal(active, detail.IsActive);
        if (detail.IsActive)
        {
            Assert.True(JsonNode.DeepEquals(value, JsonNode.Parse(detail.Value!.ToJson())), $"expected {value?.ToJsonString() ?? "null"}, got {detail.Value!.ToJson()}");
        }

        Assert.Equal(condition, detail.ConditionIndex);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}

public sealed record Settings(string Mode, int Retries);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Settings))]
internal sealed partial class TestJson : JsonSerializerContext;
