using System.Text.Json;
using Flagstaff.Client.Internal;
using Flagstaff.Evaluation;

namespace Flagstaff.Client.Tests;

/// <summary>
/// The migration helper stage by stage (docs/adr/0004-migrations.md), offline from a bootstrap
/// configuration so that each stage is one user id: which sides are called and in what order, what is
/// returned, what failures do, how comparisons are sampled and what is measured.
/// </summary>
public sealed class MigrationTests
{
    private const string Flag = "orders-store";

    public static TheoryData<string, string[], string, string?> Reads => new()
    {
        // stage, calls in order, side that answers, value returned
        { "off", ["old.read"], "Old", "old-value" },
        { "dualwrite", ["old.read"], "Old", "old-value" },
        { "shadow", ["old.read", "new.read"], "Old", "old-value" },
        { "live", ["new.read", "old.read"], "New", "new-value" },
        { "rampdown", ["new.read"], "New", "new-value" },
        { "complete", ["new.read"], "New", "new-value" },
        { "junk", ["old.read"], "Old", "old-value" },
        { "nobody", ["old.read"], "Old", "old-value" },
    };

    public static TheoryData<string, string[], string> Writes => new()
    {
        { "off", ["old.write"], "Old" },
        { "dualwrite", ["old.write", "new.write"], "Old" },
        { "shadow", ["old.write", "new.write"], "Old" },
        { "live", ["new.write", "old.write"], "New" },
        { "rampdown", ["new.write", "old.write"], "New" },
        { "complete", ["new.write"], "New" },
        { "junk", ["old.write"], "Old" },
        { "nobody", ["old.write"], "Old" },
    };

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task A_read_calls_the_stages_sides_in_order_and_returns_the_authoritative_result(string user, string[] calls, string side, string? value)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        rig.Old.Seed("r1", "old-value");
        rig.New.Seed("r1", "new-value");

        var result = await rig.Migration.ReadAsync(Contexts.User("u-" + user), "r1", TestContext.Current.CancellationToken);

        Assert.Equal(calls, rig.TakeCalls());
        Assert.Equal(side, result.Side.ToString());
        Assert.Equal(value, result.Value);
        Assert.Equal(MigrationStages.TryParse(user, out var stage) ? stage : MigrationStage.Off, result.Stage);
        Assert.False(result.FailedOver);
        Assert.Equal(user is "shadow" or "live" ? false : null, result.Consistent);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task A_write_goes_to_the_authoritative_side_first_and_to_the_other_after_it(string user, string[] calls, string side)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);

        var result = await rig.Migration.WriteAsync(Contexts.User("u-" + user), new Record("r1", "v1"), TestContext.Current.CancellationToken);

        Assert.Equal(calls, rig.TakeCalls());
        Assert.Equal(side, result.Side.ToString());
        Assert.Equal(side.ToLowerInvariant(), result.Value);
        Assert.Equal(calls.Contains("old.write") ? "v1" : null, rig.Old.Records.GetValueOrDefault("r1"));
        Assert.Equal(calls.Contains("new.write") ? "v1" : null, rig.New.Records.GetValueOrDefault("r1"));
        Assert.Empty(rig.FailedWrites);
    }

    [Fact]
    public async Task Reads_in_shadow_and_live_are_compared_and_counted()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        rig.Old.Seed("same", "x");
        rig.New.Seed("same", "x");
        rig.Old.Seed("differs", "x");
        rig.New.Seed("differs", "y");
        var ct = TestContext.Current.CancellationToken;

        Assert.True((await rig.Migration.ReadAsync(Contexts.User("u-shadow"), "same", ct)).Consistent);
        Assert.False((await rig.Migration.ReadAsync(Contexts.User("u-shadow"), "differs", ct)).Consistent);
        Assert.False((await rig.Migration.ReadAsync(Contexts.User("u-live"), "differs", ct)).Consistent);

        var measurements = MigrationFlags.Collect(client);
        var shadow = MigrationFlags.Single(measurements, "shadow", "read");
        Assert.Equal((2, 1), (shadow.Compared, shadow.Inconsistent));
        Assert.Equal((2, 0), (shadow.Old!.Invoked, shadow.Old.Errors));
        Assert.Equal((2, 0), (shadow.New!.Invoked, shadow.New.Errors));
        Assert.Equal(2, shadow.Old.Latency.Sum(pair => pair[1]));
        var live = MigrationFlags.Single(measurements, "live", "read");
        Assert.Equal((1, 1), (live.Compared, live.Inconsistent));
        Assert.Equal(2, measurements.Count);
    }

    [Fact]
    public async Task The_comparer_given_decides_and_sees_old_first_whichever_side_answers()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var seen = new List<(string?, string?)>();
        var rig = new MigrationRig(client, Flag, (old, @new) =>
        {
            lock (seen)
            {
                seen.Add((old, @new));
            }

            return string.Equals(old, @new, StringComparison.OrdinalIgnoreCase);
        });
        rig.Old.Seed("r1", "ABC");
        rig.New.Seed("r1", "abc");
        var ct = TestContext.Current.CancellationToken;

        Assert.True((await rig.Migration.ReadAsync(Contexts.User("u-shadow"), "r1", ct)).Consistent);
        Assert.True((await rig.Migration.ReadAsync(Contexts.User("u-live"), "r1", ct)).Consistent);
        Assert.Equal([("ABC", "abc"), ("ABC", "abc")], seen);
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(1.0, 400)]
    public async Task A_compare_rate_of_0_or_1_compares_no_read_or_every_read(double rate, int compared)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, rate));
        var rig = new MigrationRig(client, Flag);
        var ct = TestContext.Current.CancellationToken;
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(rate == 0 ? null : true, (await rig.Migration.ReadAsync(Contexts.User("u-shadow"), "r", ct)).Consistent);
            Assert.Equal(rate == 0 ? null : true, (await rig.Migration.ReadAsync(Contexts.User("u-live"), "r", ct)).Consistent);
        }

        var measurements = MigrationFlags.Collect(client);
        Assert.Equal(compared, measurements.Sum(m => m.Compared));
        Assert.Equal(400, measurements.Sum(m => m.New!.Invoked));
    }

    [Fact]
    public async Task A_compare_rate_between_compares_about_that_share_of_reads()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 0.25));
        var rig = new MigrationRig(client, Flag);
        var ct = TestContext.Current.CancellationToken;
        const int Reads = 4000;
        for (int i = 0; i < Reads; i++)
        {
            await rig.Migration.ReadAsync(Contexts.User("u-shadow"), "r", ct);
        }

        // Binomial(4000, 0.25): mean 1000, standard deviation 27; six deviations either side fail
        // about once in a billion runs, while a rate ignored (0 or 4000) or halved (500) fails always.
        long compared = MigrationFlags.Single(MigrationFlags.Collect(client), "shadow", "read").Compared;
        Assert.InRange(compared, 840, 1160);
    }

    [Fact]
    public async Task A_migration_flag_without_a_compare_rate_compares_every_read()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, null));
        var rig = new MigrationRig(client, Flag);
        Assert.Equal(true, (await rig.Migration.ReadAsync(Contexts.User("u-shadow"), "r", TestContext.Current.CancellationToken)).Consistent);
    }

    [Theory]
    [InlineData("shadow", "New")]
    [InlineData("live", "Old")]
    public async Task A_failing_read_of_the_other_side_never_reaches_the_caller_and_is_counted(string stage, string failing)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        rig.Old.Seed("r1", "old-value");
        rig.New.Seed("r1", "new-value");
        (failing == "Old" ? rig.Old : rig.New).FailReads = true;

        var result = await rig.Migration.ReadAsync(Contexts.User("u-" + stage), "r1", TestContext.Current.CancellationToken);

        Assert.NotEqual(failing, result.Side.ToString());
        Assert.IsType<StoreException>(result.OtherSideError);
        Assert.Null(result.Consistent);
        var measurement = MigrationFlags.Single(MigrationFlags.Collect(client), stage, "read");
        var side = failing == "Old" ? measurement.Old! : measurement.New!;
        Assert.Equal((1, 1), (side.Invoked, side.Errors));
        Assert.Equal(0, measurement.Compared);
    }

    [Theory]
    [InlineData("dualwrite", "New")]
    [InlineData("shadow", "New")]
    [InlineData("live", "Old")]
    [InlineData("rampdown", "Old")]
    public async Task A_failing_write_to_the_other_side_is_swallowed_counted_and_handed_to_the_callback(string stage, string failing)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        (failing == "Old" ? rig.Old : rig.New).FailWrites = true;
        var record = new Record("r1", "v1");
        var user = Contexts.User("u-" + stage);

        var result = await rig.Migration.WriteAsync(user, record, TestContext.Current.CancellationToken);

        Assert.NotEqual(failing, result.Side.ToString());
        Assert.False(result.FailedOver);
        var failure = Assert.Single(rig.FailedWrites);
        Assert.Equal((Flag, failing, record, user), (failure.Flag, failure.Side.ToString(), failure.Input, failure.Context));
        Assert.Equal(stage, failure.Stage.ToName());
        Assert.Same(result.OtherSideError, failure.Exception);
        var measurement = MigrationFlags.Single(MigrationFlags.Collect(client), stage, "write");
        Assert.Equal(1, measurement.FailedWrites);
        Assert.Equal(1, (failing == "Old" ? measurement.Old! : measurement.New!).Errors);
    }

    [Theory]
    [InlineData("off", "Old")]
    [InlineData("dualwrite", "Old")]
    [InlineData("shadow", "Old")]
    [InlineData("complete", "New")]
    public async Task A_failing_authoritative_read_is_thrown(string stage, string failing)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        (failing == "Old" ? rig.Old : rig.New).FailReads = true;

        var thrown = await Assert.ThrowsAsync<StoreException>(() => rig.Migration.ReadAsync(Contexts.User("u-" + stage), "r1", TestContext.Current.CancellationToken));

        Assert.Equal($"{failing.ToLowerInvariant()} cannot read", thrown.Message);
        var measurement = MigrationFlags.Single(MigrationFlags.Collect(client), stage, "read");
        Assert.Equal(1, (failing == "Old" ? measurement.Old! : measurement.New!).Errors);
    }

    [Theory]
    [InlineData("off", "Old", new[] { "old.write" })]
    [InlineData("dualwrite", "Old", new[] { "old.write" })]
    [InlineData("shadow", "Old", new[] { "old.write" })]
    [InlineData("complete", "New", new[] { "new.write" })]
    public async Task A_failing_authoritative_write_is_thrown_and_the_other_side_is_not_written(string stage, string failing, string[] calls)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        (failing == "Old" ? rig.Old : rig.New).FailWrites = true;

        await Assert.ThrowsAsync<StoreException>(() => rig.Migration.WriteAsync(Contexts.User("u-" + stage), new Record("r1", "v1"), TestContext.Current.CancellationToken));

        Assert.Equal(calls, rig.TakeCalls());
        Assert.Empty(rig.Old.Records);
        Assert.Empty(rig.New.Records);
        Assert.Empty(rig.FailedWrites);
    }

    [Theory]
    [InlineData("live", new[] { "new.read", "old.read" })]
    [InlineData("rampdown", new[] { "new.read", "old.read" })]
    public async Task A_failing_read_of_new_fails_over_to_old_while_old_is_written(string stage, string[] calls)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        rig.Old.Seed("r1", "old-value");
        rig.New.FailReads = true;

        var result = await rig.Migration.ReadAsync(Contexts.User("u-" + stage), "r1", TestContext.Current.CancellationToken);

        Assert.Equal(calls, rig.TakeCalls());
        Assert.Equal((MigrationSide.Old, "old-value", true), (result.Side, result.Value, result.FailedOver));
        Assert.IsType<StoreException>(result.OtherSideError);
        var measurement = MigrationFlags.Single(MigrationFlags.Collect(client), stage, "read");
        Assert.Equal((1, 1), (measurement.New!.Invoked, measurement.New.Errors));
        Assert.Equal((1, 0), (measurement.Old!.Invoked, measurement.Old.Errors));
    }

    [Theory]
    [InlineData("live")]
    [InlineData("rampdown")]
    public async Task A_failing_write_to_new_fails_over_to_old_and_new_is_handed_over_for_repair(string stage)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        rig.New.FailWrites = true;
        var record = new Record("r1", "v1");

        var result = await rig.Migration.WriteAsync(Contexts.User("u-" + stage), record, TestContext.Current.CancellationToken);

        Assert.Equal(["new.write", "old.write"], rig.TakeCalls());
        Assert.Equal((MigrationSide.Old, "old", true), (result.Side, result.Value, result.FailedOver));
        Assert.Equal("v1", rig.Old.Records["r1"]);
        var failure = Assert.Single(rig.FailedWrites);
        Assert.Equal((MigrationSide.New, record), (failure.Side, failure.Input));
        Assert.Equal(1, MigrationFlags.Single(MigrationFlags.Collect(client), stage, "write").FailedWrites);
    }

    [Theory]
    [InlineData("live")]
    [InlineData("rampdown")]
    public async Task When_both_sides_fail_the_caller_gets_news_exception(string stage)
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        rig.New.FailReads = rig.New.FailWrites = rig.Old.FailReads = rig.Old.FailWrites = true;
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal("new cannot read", (await Assert.ThrowsAsync<StoreException>(() => rig.Migration.ReadAsync(Contexts.User("u-" + stage), "r1", ct))).Message);
        Assert.Equal("new cannot write", (await Assert.ThrowsAsync<StoreException>(() => rig.Migration.WriteAsync(Contexts.User("u-" + stage), new Record("r1", "v"), ct))).Message);
        Assert.Empty(rig.FailedWrites);
    }

    [Fact]
    public async Task A_failed_write_handler_that_throws_does_not_reach_the_caller()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var store = new FakeStore("new", new());
        store.FailWrites = true;
        var migration = new MigrationBuilder<string, string?, Record, string>(client, Flag)
            .Read((_, _) => Task.FromResult<string?>("x"), store.ReadAsync)
            .Write((_, _) => Task.FromResult("old"), store.WriteAsync)
            .OnFailedWrite(_ => throw new InvalidOperationException("the repair queue is full"))
            .Build();

        var result = await migration.WriteAsync(Contexts.User("u-dualwrite"), new Record("r1", "v"), TestContext.Current.CancellationToken);

        Assert.Equal("old", result.Value);
    }

    [Fact]
    public async Task Two_ordinary_flags_give_off_dualwrite_and_rampdown()
    {
        const string Flags = """
            {"slug":"write-new","conditions":[{"rules":[{"key":"userId","operator":"STR_EQUAL","negate":false,"values":["u-dual","u-new"]}],"variation":{"active":true,"value":true}}],"defaultVariation":{"active":false,"value":null}},
            {"slug":"read-new","conditions":[{"rules":[{"key":"userId","operator":"STR_EQUAL","negate":false,"values":["u-new","u-read-only"]}],"variation":{"active":true,"value":true}}],"defaultVariation":{"active":false,"value":null}}
            """;
        await using var client = MigrationFlags.Offline(Flags);
        var rig = new MigrationRig(client, "write-new", readFlag: "read-new");
        rig.Old.Seed("r1", "old-value");
        rig.New.Seed("r1", "new-value");
        var ct = TestContext.Current.CancellationToken;

        // (user, stage, read calls, write calls, read value)
        (string, MigrationStage, string[], string[], string)[] expected =
        [
            ("u-nobody", MigrationStage.Off, ["old.read"], ["old.write"], "old-value"),
            ("u-read-only", MigrationStage.Off, ["old.read"], ["old.write"], "old-value"),
            ("u-dual", MigrationStage.DualWrite, ["old.read"], ["old.write", "new.write"], "old-value"),
            ("u-new", MigrationStage.Rampdown, ["new.read"], ["new.write", "old.write"], "new-value"),
        ];
        foreach (var (user, stage, reads, writes, value) in expected)
        {
            Assert.Equal(stage, rig.Migration.GetStage(Contexts.User(user)));
            var read = await rig.Migration.ReadAsync(Contexts.User(user), "r1", ct);
            Assert.Equal((stage, value), (read.Stage, read.Value));
            Assert.Equal(reads, rig.TakeCalls());
            await rig.Migration.WriteAsync(Contexts.User(user), new Record("w-" + user, "v"), ct);
            Assert.Equal(writes, rig.TakeCalls());
        }

        // With the kill switch on and reads routed to new, a failing new still costs no request.
        rig.New.FailReads = rig.New.FailWrites = true;
        Assert.Equal("old-value", (await rig.Migration.ReadAsync(Contexts.User("u-new"), "r1", ct)).Value);
        Assert.True((await rig.Migration.WriteAsync(Contexts.User("u-new"), new Record("r2", "v"), ct)).FailedOver);
        Assert.Equal(MigrationSide.New, Assert.Single(rig.FailedWrites).Side);

        // The server measures migration flags only: ordinary flags are not reported.
        Assert.Empty(MigrationFlags.Collect(client));
    }

    [Fact]
    public async Task Measurements_are_counted_per_stage_and_operation_exactly_under_concurrency()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        rig.New.FailWrites = true;
        var ct = TestContext.Current.CancellationToken;
        await Parallel.ForAsync(0, 800, ct, async (i, token) =>
        {
            var user = Contexts.User(i % 2 == 0 ? "u-shadow" : "u-dualwrite");
            await rig.Migration.WriteAsync(user, new Record("r" + i, "v"), token);
            await rig.Migration.ReadAsync(user, "r" + i, token);
        });

        var measurements = MigrationFlags.Collect(client);
        Assert.Equal(4, measurements.Count);
        foreach (var stage in new[] { "shadow", "dualwrite" })
        {
            var writes = MigrationFlags.Single(measurements, stage, "write");
            Assert.Equal((400, 0, 400, 400, 400), (writes.Old!.Invoked, writes.Old.Errors, writes.New!.Invoked, writes.New.Errors, writes.FailedWrites));
            Assert.Equal(400, writes.Old.Latency.Sum(pair => pair[1]));
            var reads = MigrationFlags.Single(measurements, stage, "read");
            Assert.Equal(400, reads.Old!.Invoked);
            Assert.Equal(stage == "shadow" ? 400 : 0, reads.New?.Invoked ?? 0);
            Assert.Equal(stage == "shadow" ? (400, 400) : (0, 0), (reads.Compared, reads.Inconsistent));
        }

        Assert.Equal(800, rig.FailedWrites.Count);
        Assert.Empty(MigrationFlags.Collect(client));
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(10.0, 0)]
    [InlineData(10.1, 1)]
    [InlineData(12.5, 1)]
    [InlineData(12.6, 2)]
    [InlineData(1000.0, 21)]
    [InlineData(10_000_000.0, 62)]
    [InlineData(1e12, 79)]
    public void Latency_buckets_follow_the_wire_definition(double micros, int bucket)
    {
        // Durations are whole ticks (0.1 µs). 10 µs × 1.25^20 = 867 µs, × 1.25^21 = 1,084 µs; 10 s lies between 1.25^61 and 1.25^62 times 10 µs.
        Assert.Equal(bucket, LatencyBuckets.Of(TimeSpan.FromTicks((long)(micros * TimeSpan.TicksPerMicrosecond))));
    }

    [Fact]
    public async Task The_report_body_is_the_wire_format()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        rig.New.FailReads = true;
        await rig.Migration.ReadAsync(Contexts.User("u-live"), "r1", TestContext.Current.CancellationToken);

        var body = new MigrationReportBody { Measurements = MigrationFlags.Collect(client) };
        var json = JsonDocument.Parse(JsonSerializer.Serialize(body, WireJson.Default.MigrationReportBody)).RootElement;

        var measurement = Assert.Single(json.GetProperty("measurements").EnumerateArray().ToList());
        Assert.Equal(Flag, measurement.GetProperty("flag").GetString());
        Assert.Equal("live", measurement.GetProperty("stage").GetString());
        Assert.Equal("read", measurement.GetProperty("operation").GetString());
        Assert.True(measurement.GetProperty("to").GetInt64() >= measurement.GetProperty("from").GetInt64());
        Assert.True(measurement.GetProperty("from").GetInt64() > 1_700_000_000_000);
        Assert.Equal(1, measurement.GetProperty("new").GetProperty("invoked").GetInt64());
        Assert.Equal(1, measurement.GetProperty("new").GetProperty("errors").GetInt64());
        var pair = Assert.Single(measurement.GetProperty("new").GetProperty("latency").EnumerateArray().ToList());
        Assert.Equal(2, pair.GetArrayLength());
        Assert.InRange(pair[0].GetInt32(), 0, 79);
        Assert.Equal(1, pair[1].GetInt64());
        Assert.Equal(0, measurement.GetProperty("old").GetProperty("errors").GetInt64());
        Assert.Equal(0, measurement.GetProperty("compared").GetInt64());
        Assert.Equal(0, measurement.GetProperty("inconsistent").GetInt64());
        Assert.Equal(0, measurement.GetProperty("failedWrites").GetInt64());
    }

    [Fact]
    public async Task A_side_not_called_is_left_out_of_the_report()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var rig = new MigrationRig(client, Flag);
        await rig.Migration.ReadAsync(Contexts.User("u-off"), "r1", TestContext.Current.CancellationToken);

        var json = JsonSerializer.Serialize(new MigrationReportBody { Measurements = MigrationFlags.Collect(client) }, WireJson.Default.MigrationReportBody);

        Assert.Contains("\"old\":", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"new\":", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_says_what_is_missing()
    {
        using var client = MigrationFlags.Offline(MigrationFlags.PerUser(Flag, 1));
        var builder = new MigrationBuilder<string, string, string, string>(client, Flag);
        Assert.Contains("Read(old, new)", Assert.Throws<InvalidOperationException>(builder.Build).Message, StringComparison.Ordinal);
        builder.Read((_, _) => Task.FromResult(""), (_, _) => Task.FromResult(""));
        Assert.Contains("Write(old, new)", Assert.Throws<InvalidOperationException>(builder.Build).Message, StringComparison.Ordinal);
    }
}
