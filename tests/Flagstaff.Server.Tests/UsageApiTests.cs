using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Server.Reports;
using Flagstaff.Storage;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Server.Tests;

/// <summary>Usage over the management API: what SDKs reported, per value in buckets, and when each flag was last evaluated, on each database.</summary>
public abstract class UsageApiTests(ServerFixture fixture) : ServerTest(fixture)
{
    [Fact]
    public async Task Reported_usage_is_read_per_value_in_buckets_and_as_last_evaluated()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "search");
        await CreateFlagAsync(project, "idle");
        var key = (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", new JsonObject { ["name"] = "checkout", ["kind"] = "server" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();

        // A report as an SDK sends it, from two clients, aggregated and written by the recorder.
        long before = Minute(DateTimeOffset.UtcNow);
        using (var sdk = Server.Anonymous())
        {
            sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
            var report = Json("""
                {"clients":[
                  {"id":"checkout","flags":{"search":[{"value":true,"default":false,"count":40},{"value":false,"default":false,"count":2}]}},
                  {"id":"billing","flags":{"search":[{"value":true,"default":false,"count":2}]}}]}
                """);
            await (await sdk.PostJsonAsync("report", report)).ReadJsonAsync();
        }

        await Server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);
        long after = Minute(DateTimeOffset.UtcNow);

        // Older minutes, as the recorder would have written them: three hours and two days ago.
        var store = Server.Services.GetRequiredService<Store>();
        var production = await store.ReadAsync(async s => (await s.GetEnvironmentAsync((await s.GetProjectAsync(project))!.Id, "production"))!);
        await store.WriteAsync(s => s.AddUsageAsync(
        [
            new UsageCount { EnvironmentId = production.Id, FlagKey = "search", Minute = before - 180, Value = "true", Client = "checkout", Count = 5 },
            new UsageCount { EnvironmentId = production.Id, FlagKey = "search", Minute = before - (2 * 1440), Value = "true", Client = "checkout", Count = 7 },
        ]));

        // The last hour, minute by minute: 60 buckets, the report in the last ones.
        var from = Instant(after - 59);
        var to = Instant(after + 1);
        var hour = await Admin.GetJsonAsync($"api/projects/{project}/flags/search/usage?environment=production&from={Query(from)}&to={Query(to)}");
        Assert.Equal(1, hour["bucketMinutes"]!.GetValue<int>());
        Assert.Equal(from, hour["from"]!.GetValue<DateTimeOffset>());
        Assert.Equal(to, hour["to"]!.GetValue<DateTimeOffset>());
        Assert.Equal(60, hour["buckets"]!.AsArray().Count);
        Assert.Equal(44, hour["total"]!.GetValue<long>());
        Assert.True(JsonNode.DeepEquals(Json("""[{"value":"true","variation":"on","total":42},{"value":"false","total":2}]"""), hour["values"]), hour["values"]!.ToJsonString());
        var reported = hour["buckets"]!.AsArray().Where(b => b!["total"]!.GetValue<long>() > 0).ToList();
        Assert.InRange(Minute(reported[0]!["start"]!.GetValue<DateTimeOffset>()), before, after);
        Assert.Equal([42L, 2L], reported.Aggregate(new long[2], (sum, b) => [sum[0] + b!["counts"]![0]!.GetValue<long>(), sum[1] + b["counts"]![1]!.GetValue<long>()]));

        // By default the day up to now, in quarter hours; a week comes in hours; buckets can be chosen.
        var day = await Admin.GetJsonAsync($"api/projects/{project}/flags/search/usage?environment=production");
        Assert.Equal(15, day["bucketMinutes"]!.GetValue<int>());
        Assert.InRange(day["buckets"]!.AsArray().Count, 96, 97);
        Assert.Equal(49, day["total"]!.GetValue<long>());
        Assert.All(day["buckets"]!.AsArray(), b => Assert.Equal(0, b!["start"]!.GetValue<DateTimeOffset>().Minute % 15));
        var week = await Admin.GetJsonAsync($"api/projects/{project}/flags/search/usage?environment=production&from={Query(DateTimeOffset.UtcNow.AddDays(-7))}");
        Assert.Equal(60, week["bucketMinutes"]!.GetValue<int>());
        Assert.Equal(56, week["total"]!.GetValue<long>());
        var fives = await Admin.GetJsonAsync($"api/projects/{project}/flags/search/usage?environment=production&from={Query(from)}&to={Query(to)}&bucket=5");
        Assert.Equal(after % 5 == 4 ? 12 : 13, fives["buckets"]!.AsArray().Count);
        Assert.Equal(0, fives["from"]!.GetValue<DateTimeOffset>().Minute % 5);
        Assert.Equal(44, fives["total"]!.GetValue<long>());

        // Nothing reported: every bucket, all empty; other environments are counted apart.
        var idle = await Admin.GetJsonAsync($"api/projects/{project}/flags/idle/usage?environment=production");
        Assert.Equal(0, idle["total"]!.GetValue<long>());
        Assert.Empty(idle["values"]!.AsArray());
        Assert.Null(idle["lastEvaluated"]);
        Assert.All(idle["buckets"]!.AsArray(), b => Assert.Empty(b!["counts"]!.AsArray()));
        Assert.Equal(0, (await Admin.GetJsonAsync($"api/projects/{project}/flags/search/usage?environment=staging"))["total"]!.GetValue<long>());

        // When each flag was last evaluated, per environment.
        var last = await Admin.GetJsonAsync($"api/projects/{project}/last-evaluated");
        Assert.InRange(Minute(last["environments"]!["production"]!["search"]!.GetValue<DateTimeOffset>()), before, after);
        Assert.Null(last["environments"]!["production"]!["idle"]);
        Assert.Empty(last["environments"]!["staging"]!.AsObject());
        Assert.Equal(last["environments"]!["production"]!["search"]!.GetValue<DateTimeOffset>(), day["lastEvaluated"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task Usage_questions_that_cannot_be_answered_say_why()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "search");
        var url = $"api/projects/{project}/flags/search/usage";

        Assert.Contains("required", await ErrorAsync(url, "environment"), StringComparison.Ordinal);
        var now = DateTimeOffset.UtcNow;
        Assert.Contains("before", await ErrorAsync($"{url}?environment=production&from={Query(now)}&to={Query(now.AddHours(-1))}", "from"), StringComparison.Ordinal);
        Assert.Contains("between 1 and 1440", await ErrorAsync($"{url}?environment=production&bucket=0", "bucket"), StringComparison.Ordinal);
        Assert.Contains("at most 1,000", await ErrorAsync($"{url}?environment=production&bucket=1&from={Query(now.AddDays(-7))}", "bucket"), StringComparison.Ordinal);
        await Admin.GetJsonAsync($"{url}?environment=nowhere", HttpStatusCode.NotFound);
        await Admin.GetJsonAsync($"api/projects/{project}/flags/nothing/usage?environment=production", HttpStatusCode.NotFound);
        await Server.Anonymous().GetJsonAsync($"{url}?environment=production", HttpStatusCode.Unauthorized);

        var document = await Server.Anonymous().GetJsonAsync("openapi/v1.json");
        var usage = document["paths"]!["/api/projects/{project}/flags/{flag}/usage"]!["get"]!;
        Assert.Equal(["environment", "from", "to", "bucket"], usage["parameters"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).Where(n => n is not ("project" or "flag")));
        Assert.NotNull(document["paths"]!["/api/projects/{project}/last-evaluated"]);
    }

    private async Task<string> ErrorAsync(string url, string field)
    {
        var problem = await Admin.GetJsonAsync(url, HttpStatusCode.BadRequest);
        return problem["errors"]![field]![0]!.GetValue<string>();
    }

    private static long Minute(DateTimeOffset at) => at.ToUnixTimeSeconds() / 60;

    private static DateTimeOffset Instant(long minute) => DateTimeOffset.FromUnixTimeSeconds(minute * 60);

    private static string Query(DateTimeOffset at) => Uri.EscapeDataString(at.ToString("O", CultureInfo.InvariantCulture));
}

public sealed class SqliteUsageApiTests(SqliteServer server) : UsageApiTests(server), IClassFixture<SqliteServer>;

public sealed class PostgresUsageApiTests(PostgresServer server) : UsageApiTests(server), IClassFixture<PostgresServer>;

/// <summary>The recorder's flushes, one at a time: what was recorded before a flush is written when it returns.</summary>
public sealed class UsageFlushTests(PostgresServer fixture) : ServerTest(fixture), IClassFixture<PostgresServer>
{
    [Fact]
    public async Task A_flush_called_while_another_is_writing_returns_only_once_that_one_is_written()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "search");
        var key = (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", new JsonObject { ["name"] = "sdk", ["kind"] = "server" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();
        using (var sdk = Server.Anonymous())
        {
            sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
            await (await sdk.PostJsonAsync("report", Json("""{"clients":[{"id":"checkout","flags":{"search":[{"value":true,"default":false,"count":3}]}}]}"""))).ReadJsonAsync();
        }

        // Another session holds the lock every report write takes, so whichever flush took the
        // report waits inside its write (well within the 5 s command timeout).
        var recorder = Server.Services.GetRequiredService<UsageAggregator>();
        await using var blocker = new Npgsql.NpgsqlConnection(Server.Database.ConnectionString);
        await blocker.OpenAsync();
        await using (var lockCommand = new Npgsql.NpgsqlCommand("SELECT pg_advisory_lock(7418263406)", blocker))
        {
            await lockCommand.ExecuteNonQueryAsync();
        }

        var first = recorder.FlushAsync(CancellationToken.None);
        await Task.Delay(300);
        var second = recorder.FlushAsync(CancellationToken.None);
        await Task.Delay(300);
        bool returnedEarly = second.IsCompleted;
        await using (var unlock = new Npgsql.NpgsqlCommand("SELECT pg_advisory_unlock(7418263406)", blocker))
        {
            await unlock.ExecuteNonQueryAsync();
        }

        await Task.WhenAll(first, second);
        Assert.False(returnedEarly, "a flush returned while the report it should have covered was still being written");
        Assert.DoesNotContain(Server.Logs.Lines, line => line.Contains("Could not write usage", StringComparison.Ordinal));
        var store = Server.Services.GetRequiredService<Store>();
        var production = await store.ReadAsync(async s => (await s.GetEnvironmentAsync((await s.GetProjectAsync(project))!.Id, "production"))!);
        long minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;
        Assert.Equal(3, (await store.ReadAsync(s => s.ListUsageAsync(production.Id, "search", minute - 5, minute + 5))).Sum(u => u.Count));
    }
}
