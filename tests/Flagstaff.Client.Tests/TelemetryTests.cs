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
}
