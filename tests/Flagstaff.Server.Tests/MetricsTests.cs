using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Management.Telemetry;
using Flagstaff.Server.Reports;
using Flagstaff.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Tests;

/// <summary>
/// The metrics tests run alone: OpenTelemetry listens to every meter of the server's name in the
/// process, so the servers that other tests start and stop meanwhile would add their series to the
/// scrape and, when they stop, end the metric streams the fixture's server shares with them. (In
/// production there is one server per process.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Metrics, alone";
}

/// <summary>A server with the Prometheus endpoint on, behind a token.</summary>
public sealed class MetricsServer() : ServerFixture(DatabaseKind.Sqlite)
{
    public const string Token = "metrics-token-0123456789";

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Flagstaff:Telemetry:Prometheus:Enabled"] = "true",
        ["Flagstaff:Telemetry:Prometheus:Token"] = Token,
    };
}

/// <summary>Metrics: what the server counts, the scrape endpoint's protection, and a real Prometheus scraping it.</summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsTests(MetricsServer fixture) : EvaluationApiTestsBase(fixture), IClassFixture<MetricsServer>
{
    private HttpClient Scraper(string? token = MetricsServer.Token)
    {
        var client = new HttpClient { BaseAddress = Server.Address };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    private async Task<string> ScrapeAsync()
    {
        using var client = Scraper();
        using var response = await client.GetAsync("metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return text;
    }

    /// <summary>The value of one series in the Prometheus text format (NaN when absent): every label given must match.</summary>
    private static double Value(string text, string name, params (string Label, string Value)[] labels)
    {
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal) && !line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                continue;
            }

            if (labels.All(l => line.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                return double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return double.NaN;
    }

    private EnvironmentSnapshot SnapshotOf(string project)
    {
        var snapshots = Server.Services.GetRequiredService<SnapshotCache>();
        foreach (var id in snapshots.EnvironmentIds)
        {
            if (snapshots.TryGet(id, out var snapshot) && snapshot.Project.Key == project && snapshot.Environment.Key == "production")
            {
                return snapshot;
            }
        }

        throw new InvalidOperationException($"No snapshot of {project}/production.");
    }

    [Fact]
    public async Task The_metrics_endpoint_refuses_a_scrape_without_the_token_or_with_a_wrong_one()
    {
        using var anonymous = Scraper(token: null);
        var missing = await anonymous.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        var problem = await missing.Content.ReadAsStringAsync();
        Assert.Contains("Flagstaff:Telemetry:Prometheus:Token", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("flagstaff_", problem, StringComparison.Ordinal);

        using var wrong = Scraper("metrics-token-0123456788");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("metrics")).StatusCode);
        using var prefix = Scraper(MetricsServer.Token[..^1]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await prefix.GetAsync("metrics")).StatusCode);

        var text = await ScrapeAsync();
        Assert.Contains("# TYPE flagstaff_http_requests_total counter", text, StringComparison.Ordinal);
        Assert.True(Value(text, "flagstaff_http_requests_total", ("area", "metrics"), ("status", "401")) >= 3, text);
    }

    [Fact]
    public async Task Evaluations_are_counted_per_environment_and_per_flag_across_snapshots()
    {
        var (project, server, client) = await SetUpAsync();
        using var http = WithKey(client);
        for (int i = 0; i < 3; i++)
        {
            await (await http.PostJsonAsync("flags", Json("""{"accountId":"a1"}"""))).ReadJsonAsync();
        }

        await (await http.PostJsonAsync("flags", Json("""[{"accountId":"a1"},{"accountId":"b"}]"""))).ReadJsonAsync();
        var first = SnapshotOf(project);

        // A change replaces the snapshot: what the old one counted must stay counted.
        await (await Admin.PostJsonAsync($"api/projects/{project}/flags/dark/environments/production/on", null)).ReadJsonAsync();
        Assert.NotSame(first, SnapshotOf(project));
        await (await http.PostJsonAsync("flags", Json("""[{"accountId":"a1"},{"accountId":"b"},{}]"""))).ReadJsonAsync();
        using var ofrep = WithKey(server, "X-API-Key");
        await (await ofrep.PostJsonAsync("ofrep/v1/evaluate/flags/search", Json("""{"context":{"accountId":"a1"}}"""))).ReadJsonAsync();
        first = null!;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        var text = await ScrapeAsync();
        (string, string)[] environment = [("project", project), ("environment", "production")];
        Assert.Equal(3 + 2 + 3 + 1, Value(text, "flagstaff_evaluation_contexts_total", environment));
        Assert.Equal(3 + 2 + 3 + 1, Value(text, "flagstaff_flag_evaluations_total", [.. environment, ("flag", "search")]));
        Assert.Equal(3 + 2 + 3, Value(text, "flagstaff_flag_evaluations_total", [.. environment, ("flag", "banner")]));
        Assert.Equal(3, Value(text, "flagstaff_flag_evaluations_total", [.. environment, ("flag", "dark")]));
        Assert.Equal(SnapshotOf(project).Version, Value(text, "flagstaff_snapshot_version", environment));
        Assert.Equal(0, Value(text, "flagstaff_snapshot_lag", environment));
        Assert.True(Value(text, "flagstaff_http_requests_total", ("area", "evaluation"), ("status", "200")) >= 5, text);
        Assert.True(Value(text, "flagstaff_db_operation_duration_seconds_count", ("operation", "write")) > 0, text);
    }

    [Fact]
    public async Task Counting_an_evaluation_or_a_request_allocates_nothing_while_metrics_are_collected()
    {
        var (project, _, _) = await SetUpAsync();
        var snapshot = SnapshotOf(project);
        var metrics = Server.Services.GetRequiredService<FlagstaffMetrics>();
        snapshot.CountEvaluations(1);
        metrics.RequestCompleted("evaluation", 200);
        await ScrapeAsync();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            snapshot.CountEvaluations(1);
            metrics.RequestCompleted("evaluation", 200);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(100_001, Value(await ScrapeAsync(), "flagstaff_evaluation_contexts_total", ("project", project), ("environment", "production")));
    }

    private static double Count(string text, string name, params (string Label, string Value)[] labels) =>
        Value(text, name, labels) is var value && double.IsNaN(value) ? 0 : value;

    [Fact]
    public async Task A_guard_rollback_is_counted_with_the_guard_that_tripped()
    {
        var project = await NewProjectAsync();
        await CreateFlagAsync(project, "orders", new JsonObject
        {
            ["kind"] = "migration",
            ["migration"] = JsonNode.Parse("""{"path":"full"}"""),
            ["environments"] = JsonNode.Parse("""{"production":{"enabled":true,"rules":[],"defaultServe":{"variation":"live"}}}"""),
        });
        var key = (await (await Admin.PostJsonAsync($"api/projects/{project}/environments/production/keys", new JsonObject { ["name"] = "sdk", ["kind"] = "server" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();
        var before = await ScrapeAsync();
        double Or0(double value) => double.IsNaN(value) ? 0 : value;
        var rollbacks = Or0(Value(before, "flagstaff_guard_rollbacks_total", ("guard", "maxNewErrorRate")));
        var judged = Or0(Value(before, "flagstaff_guard_evaluations_total"));

        // 210 of 5,000 calls to new failed: 4.2 % against the 1 % the error-rate guard allows.
        using var sdk = Server.Anonymous();
        sdk.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        await (await sdk.PostJsonAsync("migrations/report", JsonNode.Parse("""
            {"measurements":[{"flag":"orders","stage":"live","operation":"read","from":1764115200000,"to":1764115205000,
              "old":{"invoked":5000,"errors":0,"latency":[[14,5000]]},"new":{"invoked":5000,"errors":210,"latency":[[15,5000]]}}]}
            """)!)).ReadJsonAsync(HttpStatusCode.Accepted);
        await EventuallyAsync(async () => Or0(Value(await ScrapeAsync(), "flagstaff_guard_rollbacks_total", ("guard", "maxNewErrorRate"))) == rollbacks + 1, "the guard's rollback was not counted");
        Assert.True(Or0(Value(await ScrapeAsync(), "flagstaff_guard_evaluations_total")) > judged, "the guards' judgement was not counted");
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Streams_their_fan_out_reports_and_failed_sign_ins_are_counted()
    {
        var (project, server, client) = await SetUpAsync();
        var before = await ScrapeAsync();
        double streams = Count(before, "flagstaff_streams_open", ("stream", "flagstaff"));
        double writes = Count(before, "flagstaff_stream_fanout_duration_seconds_count", ("stream", "flagstaff"));
        await using (var stream = await SseReader.ConnectAsync(WithKey(server), "stream"))
        {
            Assert.Equal("config", (await stream.NextAsync()).Event);
            Assert.Equal(streams + 1, Count(await ScrapeAsync(), "flagstaff_streams_open", ("stream", "flagstaff")));
            await (await Admin.PostJsonAsync($"api/projects/{project}/flags/dark/environments/production/on", null)).ReadJsonAsync();
            Assert.Equal("patch", (await stream.NextAsync()).Event);

            // Recorded once the server's write returned, which may be just after the client read it.
            await EventuallyAsync(async () => Count(await ScrapeAsync(), "flagstaff_stream_fanout_duration_seconds_count", ("stream", "flagstaff")) == writes + 1, "the patch's fan-out latency was not recorded");
        }

        await EventuallyAsync(async () => Count(await ScrapeAsync(), "flagstaff_streams_open", ("stream", "flagstaff")) == streams, "the closed stream is still counted as open");

        // A usage report of a flag the project does not have: received, and its value dropped once written.
        double received = Count(before, "flagstaff_reports_received_total", ("kind", "usage"));
        double unknown = Count(before, "flagstaff_reports_dropped_total", ("kind", "usage"), ("reason", ReportDrop.UnknownFlag));
        using var http = WithKey(client);
        await (await http.PostJsonAsync("report", Json("""{"clients":[{"id":"c1","flags":{"nope":[{"value":true,"count":3}],"search":[{"value":true,"count":2}]}}]}"""))).ReadJsonAsync();
        await Server.Services.GetRequiredService<UsageAggregator>().FlushAsync(CancellationToken.None);
        var text = await ScrapeAsync();
        Assert.Equal(received + 1, Count(text, "flagstaff_reports_received_total", ("kind", "usage")));
        Assert.Equal(unknown + 1, Count(text, "flagstaff_reports_dropped_total", ("kind", "usage"), ("reason", ReportDrop.UnknownFlag)));

        // Five wrong passwords for one account, then the throttle refuses the sixth unchecked.
        double failures = Count(text, "flagstaff_login_failures_total");
        double throttled = Count(text, "flagstaff_login_throttled_total");
        using var anonymous = Server.Anonymous();
        var email = UniqueKey("nobody") + "@example.com";
        for (int i = 0; i < 6; i++)
        {
            var refused = await anonymous.PostJsonAsync("api/auth/login", new System.Text.Json.Nodes.JsonObject { ["email"] = email, ["password"] = "not the password" });
            Assert.Equal(i < 5 ? HttpStatusCode.Unauthorized : HttpStatusCode.TooManyRequests, refused.StatusCode);
        }

        text = await ScrapeAsync();
        Assert.Equal(failures + 5, Count(text, "flagstaff_login_failures_total"));
        Assert.Equal(throttled + 1, Count(text, "flagstaff_login_throttled_total"));
        Assert.Equal(0, Count(text, "flagstaff_db_errors_total"));
    }

    [Fact]
    public async Task A_real_Prometheus_scrapes_the_server_and_answers_a_query_for_the_evaluations_this_test_made()
    {
        var (project, _, client) = await SetUpAsync();
        using var http = WithKey(client);
        for (int i = 0; i < 4; i++)
        {
            await (await http.PostJsonAsync("flags", Json("""{"accountId":"a2"}"""))).ReadJsonAsync();
        }

        await (await http.PostJsonAsync("flags", Json("""[{},{},{}]"""))).ReadJsonAsync();

        await using var prometheus = await PrometheusProcess.StartAsync($"{Server.Address.Host}:{Server.Address.Port}", "/metrics", MetricsServer.Token);
        var query = $"flagstaff_evaluation_contexts_total{{project=\"{project}\",environment=\"production\"}}";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> found = [];
        while (DateTime.UtcNow < deadline)
        {
            found = await prometheus.QueryAsync(query);
            if (found.Count > 0)
            {
                break;
            }

            await Task.Delay(250);
        }

        Assert.True(found.Count == 1, $"Prometheus found {found.Count} series for {query}. Targets: {await prometheus.TargetsAsync()}{Environment.NewLine}{prometheus.Output}");
        Assert.Equal(7, found[0].Value);
        Assert.Equal("flagstaff", found[0].Labels["job"]);

        var perFlag = await prometheus.QueryAsync($"sum by (flag) (flagstaff_flag_evaluations_total{{project=\"{project}\"}})");
        Assert.Equal(7, perFlag.Single(s => s.Labels["flag"] == "search").Value);
        Assert.DoesNotContain(perFlag, s => s.Labels["flag"] == "dark");
    }
}

/// <summary>The scrape endpoint is off unless configured, and a configuration that would expose it is refused at start.</summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsSettingsTests
{
    [Fact]
    public async Task Metrics_are_off_by_default()
    {
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite);
        using var client = new HttpClient { BaseAddress = server.Address };
        var response = await client.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("flagstaff_", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(server.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.Enabled);
    }

    [Theory]
    [InlineData("Flagstaff:Telemetry:Prometheus:Enabled", "true", "neither Flagstaff:Telemetry:Prometheus:Token nor Flagstaff:Telemetry:Prometheus:Port is set")]
    [InlineData("Flagstaff:Telemetry:Prometheus:Token", "short", "Flagstaff:Telemetry:Prometheus:Token must be at least 16 characters")]
    [InlineData("Flagstaff:Telemetry:OtlpEndpoint", "collector:4317", "Flagstaff:Telemetry:OtlpEndpoint must be an absolute http or https URL")]
    [InlineData("Flagstaff:Telemetry:OtlpProtocol", "udp", "Flagstaff:Telemetry:OtlpProtocol must be \"grpc\" or \"http/protobuf\"")]
    public async Task A_wrong_setting_stops_the_start_with_a_message_naming_it(string setting, string value, string message)
    {
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?> { [setting] = value }));
        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_an_OTLP_endpoint_metrics_and_traces_are_exported_to_it()
    {
        // A real HTTP receiver on loopback stands for the collector: the exporter posts OTLP/HTTP
        // protobuf to the configured URL as is, and metric names and span paths travel as UTF-8 in it.
        await using var collector = await WebhookReceiver.StartAsync();
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?>
        {
            ["Flagstaff:Telemetry:OtlpEndpoint"] = new Uri(collector.Address, "otlp").ToString(),
            ["Flagstaff:Telemetry:OtlpProtocol"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        using var client = new HttpClient { BaseAddress = server.Address };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/live")).StatusCode);

        await collector.WaitForAsync(received => received.Any(r => r.Body.Contains("flagstaff.streams.open", StringComparison.Ordinal)), "the server's own metrics");
        await collector.WaitForAsync(received => received.Any(r => r.Body.Contains("/health/live", StringComparison.Ordinal)), "the span of the request");
        Assert.All(collector.Received, r => Assert.Equal("/otlp", r.Path));
    }

    [Fact]
    public async Task On_a_port_of_its_own_the_endpoint_answers_there_without_a_token_and_not_on_the_server_port()
    {
        int port = ServerHost.FreePort();
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?>
        {
            ["Flagstaff:Telemetry:Prometheus:Enabled"] = "true",
            ["Flagstaff:Telemetry:Prometheus:Port"] = port.ToString(CultureInfo.InvariantCulture),
        });
        using var client = new HttpClient();
        var main = await client.GetAsync(new Uri(server.Address, "metrics"));
        Assert.Equal(HttpStatusCode.NotFound, main.StatusCode);
        var own = await client.GetAsync($"http://127.0.0.1:{port}/metrics");
        var text = await own.Content.ReadAsStringAsync();
        Assert.True(own.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains("flagstaff_streams_open", text, StringComparison.Ordinal);
    }
}
