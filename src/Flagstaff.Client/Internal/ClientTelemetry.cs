using System.Diagnostics;
using System.Diagnostics.Metrics;
using Flagstaff.Evaluation;

namespace Flagstaff.Client.Internal;

/// <summary>
/// OpenTelemetry signals, with the <c>feature_flag.*</c> semantic conventions: a
/// <c>feature_flag.evaluation</c> event on the current span for each evaluation (when a tracer listens
/// to the <c>Flagstaff.Client</c> source), an evaluation counter, and the state of synchronisation.
/// With no listener the evaluation path pays two field reads.
/// </summary>
internal sealed class ClientTelemetry : IDisposable
{
    public const string Name = "Flagstaff.Client";
    private const string ProviderName = "Flagstaff";

    private readonly bool _ownsMeter;
    private readonly Counter<long> _evaluations;
    private readonly Counter<long> _updates;
    private readonly Counter<long> _reconnects;
    private readonly Histogram<double> _migrationCalls;
    private readonly Counter<long> _migrationComparisons;

    public ClientTelemetry(IMeterFactory? meterFactory, Func<double?> configurationAge)
    {
        var version = typeof(ClientTelemetry).Assembly.GetName().Version?.ToString(3);
        Source = new ActivitySource(Name, version);
        if (meterFactory is not null)
        {
            Meter = meterFactory.Create(new MeterOptions(Name) { Version = version });
        }
        else
        {
            Meter = new Meter(Name, version);
            _ownsMeter = true;
        }

        _evaluations = Meter.CreateCounter<long>("feature_flag.evaluations", "{evaluation}", "Flag evaluations, by flag, reason and error type.");
        _updates = Meter.CreateCounter<long>("flagstaff.client.configuration.updates", "{update}", "Configurations and patches applied.");
        _reconnects = Meter.CreateCounter<long>("flagstaff.client.reconnects", "{attempt}", "Connection attempts after a failure.");
        _migrationCalls = Meter.CreateHistogram<double>("flagstaff.client.migration.duration", "s", "Calls a migration made to its old or new side, by flag, stage, operation, side and error type.");
        _migrationComparisons = Meter.CreateCounter<long>("flagstaff.client.migration.comparisons", "{comparison}", "Reads a migration compared, by flag, stage and whether the two sides agreed.");
        Meter.CreateObservableGauge("flagstaff.client.configuration.age", () => configurationAge() ?? double.NaN, "s", "Seconds since the configuration was last known to be current.");
    }

    public ActivitySource Source { get; }

    public Meter Meter { get; }

    public bool IsEnabled => _evaluations.Enabled || Source.HasListeners();

    public void RecordEvaluation(string slug, FlagReason reason, bool isActive, FlagValue? value, long? version)
    {
        var (reasonText, errorType) = Describe(reason);
        if (_evaluations.Enabled)
        {
            var tags = new TagList
            {
                { "feature_flag.key", slug },
                { "feature_flag.provider.name", ProviderName },
                { "feature_flag.result.reason", reasonText },
            };
            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            _evaluations.Add(1, tags);
        }

        if (Source.HasListeners() && Activity.Current is { IsAllDataRequested: true } activity)
        {
            var tags = new ActivityTagsCollection
            {
                { "feature_flag.key", slug },
                { "feature_flag.provider.name", ProviderName },
                { "feature_flag.result.reason", reasonText },
            };
            if (isActive && value is not null)
            {
                tags.Add("feature_flag.result.value", value.ToJson());
            }

            if (version is { } v)
            {
                tags.Add("feature_flag.version", v);
            }

            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            activity.AddEvent(new ActivityEvent("feature_flag.evaluation", tags: tags));
        }
    }

    public bool MigrationCallsEnabled => _migrationCalls.Enabled;

    public void RecordMigrationCall(string flag, MigrationStage stage, MigrationOperation operation, MigrationSide side, TimeSpan duration, Exception? error)
    {
        var tags = new TagList
        {
            { "feature_flag.key", flag },
            { "flagstaff.migration.stage", stage.ToName() },
            { "flagstaff.migration.operation", operation == MigrationOperation.Read ? "read" : "write" },
            { "flagstaff.migration.side", side == MigrationSide.Old ? "old" : "new" },
        };
        if (error is not null)
        {
            tags.Add("error.type", error.GetType().FullName);
        }

        _migrationCalls.Record(duration.TotalSeconds, tags);
    }

    public void RecordMigrationComparison(string flag, MigrationStage stage, bool consistent)
    {
        if (_migrationComparisons.Enabled)
        {
            _migrationComparisons.Add(1, new TagList
            {
                { "feature_flag.key", flag },
                { "flagstaff.migration.stage", stage.ToName() },
                { "flagstaff.migration.consistent", consistent },
            });
        }
    }

    public void ConfigurationUpdated(string kind) => _updates.Add(1, new KeyValuePair<string, object?>("flagstaff.update.kind", kind));

    public void Reconnecting() => _reconnects.Add(1);

    // The reason values and error types of the semantic conventions.
    internal static (string Reason, string? ErrorType) Describe(FlagReason reason) => reason switch
    {
        FlagReason.TargetingMatch => ("targeting_match", null),
        FlagReason.Split => ("split", null),
        FlagReason.Default => ("default", null),
        FlagReason.FlagNotFound => ("error", "flag_not_found"),
        FlagReason.NotReady => ("error", "provider_not_ready"),
        FlagReason.WrongType => ("error", "type_mismatch"),
        FlagReason.Remote => ("unknown", null),
        _ => ("error", "general"),
    };

    public void Dispose()
    {
        Source.Dispose();
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }
}
