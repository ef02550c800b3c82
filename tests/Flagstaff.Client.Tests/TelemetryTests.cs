using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Flagstaff.Client.Tests;

/// <summary>
/// Listeners are process-wide: tests that attach them run alone, so that they neither count other
/// tests' evaluations nor make other tests' evaluations record telemetry.
/// </summary>
[CollectionDefinition(nameof(GlobalListeners), DisableParallelization = true)]
public sealed class GlobalListeners;

/// <summary>OpenTelemetry: span events and a counter with the feature_flag.* semantic conventions, when someone listens.</summary>
[Collection(nameof(GlobalListeners))]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Evaluations_are_span_events_and_counted_with_the_feature_flag_conventions()
    {
        await using var client = new FlagstaffClient(new FlagstaffClientOptions
        {
            Mode = SyncMode.Offline,
            BootstrapJson = """[{"slug":"telemetry-beta","conditions":[],"defaultVariation":{"active":true,"value":"on"}}]""",
        });

        var measurements = new List<(long Value, Dictionary<string, object?> Tags)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == FlagstaffClient.TelemetryName && instrument.Name == "feature_flag.evaluations")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (measurements)
            {
                measurements.Add((value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
            }
        });
        meters.Start();

        using var tracing = new ActivityListener
        {
            ShouldListenTo = source => source.Name is FlagstaffClient.TelemetryName or "tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(tracing);
        using var source = new ActivitySource("tests");
        using (var request = source.StartActivity("request"))
        {
            client.GetString("telemetry-beta", Contexts.User("u"), "off");
            client.GetString("telemetry-missing", Contexts.User("u"), "off");
            var events = request!.Events.ToList();
            Assert.Equal(["feature_flag.evaluation", "feature_flag.evaluation"], events.Select(e => e.Name));
            var found = events[0].Tags.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal("telemetry-beta", found["feature_flag.key"]);
            Assert.Equal("default", found["feature_flag.result.reason"]);
            Assert.Equal("\"on\"", found["feature_flag.result.value"]);
            Assert.Equal("flag_not_found", events[1].Tags.Single(t => t.Key == "error.type").Value);
        }

        lock (measurements)
        {
            var ours = measurements.Where(m => m.Tags["feature_flag.key"] is "telemetry-beta" or "telemetry-missing").ToList();
            Assert.Equal(2, ours.Sum(m => m.Value));
            Assert.Contains(ours, m => (string?)m.Tags["feature_flag.key"] == "telemetry-beta" && (string?)m.Tags["feature_flag.provider.name"] == "Flagstaff");
        }
    }

    [Fact]
    public async Task Migration_calls_and_comparisons_are_measured_per_flag_stage_operation_and_side()
    {
        await using var client = MigrationFlags.Offline(MigrationFlags.PerUser("telemetry-migration", 1));
        var calls = new List<(double Seconds, Dictionary<string, object?> Tags)>();
        var comparisons = new List<Dictionary<string, object?>>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == FlagstaffClient.TelemetryName && instrument.Name.StartsWith("flagstaff.client.migration.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            lock (calls)
            {
                calls.Add((value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
            }
        });
        meters.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            lock (comparisons)
            {
                comparisons.Add(tags.ToArray().ToDictionary(t => t.Key, t => t.Value));
            }
        });
        meters.Start();
        var rig = new MigrationRig(client, "telemetry-migration");
        rig.New.FailWrites = true;
        var ct = TestContext.Current.CancellationToken;

        await rig.Migration.ReadAsync(Contexts.User("u-shadow"), "r", ct);
        await rig.Migration.WriteAsync(Contexts.User("u-shadow"), new Record("r", "v"), ct);

        lock (calls)
        {
            var ours = calls.Where(c => (string?)c.Tags["feature_flag.key"] == "telemetry-migration").ToList();
            // Recorded as each call ends: the two reads, made in parallel, in either order.
            Assert.Equal(
                ["read new ", "read old ", "write new " + typeof(StoreException).FullName, "write old "],
                ours.Select(c => $"{c.Tags["flagstaff.migration.operation"]} {c.Tags["flagstaff.migration.side"]} {c.Tags.GetValueOrDefault("error.type")}").Order(StringComparer.Ordinal));
            Assert.All(ours, c => Assert.Equal("shadow", c.Tags["flagstaff.migration.stage"]));
            Assert.All(ours, c => Assert.True(c.Seconds >= 0));
        }

        lock (comparisons)
        {
            var compared = Assert.Single(comparisons, c => (string?)c["feature_flag.key"] == "telemetry-migration");
            Assert.Equal(true, compared["flagstaff.migration.consistent"]);
        }
    }
}
