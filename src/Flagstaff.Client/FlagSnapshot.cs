using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Client.Internal;
using Flagstaff.Evaluation;

namespace Flagstaff.Client;

/// <summary>
/// One version of the configuration, frozen: every evaluation through it sees the same flags, however
/// the configuration changes meanwhile (take one per request so that a flag cannot change halfway
/// through it). Cheap to take (<see cref="FlagstaffClient.GetSnapshot"/>) and safe to share between threads.
/// </summary>
/// <remarks>
/// The evaluation path allocates nothing and takes no lock; usage is counted per thread. Comments in
/// the code say why it is shaped as it is: no LINQ, no closures, per-type code through struct converters.
/// </remarks>
public sealed class FlagSnapshot : IFlagEvaluator
{
    private readonly ClientRuntime _runtime;

    private readonly IReadOnlyDictionary<string, double>? _compareRates;

    internal FlagSnapshot(ClientRuntime runtime, FlagConfiguration? configuration, IReadOnlyDictionary<string, double>? compareRates, long? version, int generation)
    {
        _runtime = runtime;
        _compareRates = compareRates;
        Configuration = configuration;
        Version = version;
        Generation = generation;
    }

    /// <summary>The compiled configuration; null before the first one.</summary>
    public FlagConfiguration? Configuration { get; }

    /// <summary>The server's configuration version, when known.</summary>
    public long? Version { get; }

    /// <summary>Whether there is a configuration to evaluate (if not, every evaluation gives the caller's default with <see cref="FlagReason.NotReady"/>).</summary>
    public bool HasConfiguration => Configuration is not null;

    /// <summary>Increases with every configuration the client takes.</summary>
    internal int Generation { get; }

    /// <summary>
    /// The share of reads whose two results a migration compares, from the flag's <c>migration</c>
    /// property; null when the flag is not a migration flag in this configuration.
    /// </summary>
    internal double? CompareRate(string slug) => _compareRates is not null && _compareRates.TryGetValue(slug, out double rate) ? rate : null;

    /// <summary>The slugs of the flags in this configuration (the flags that are on in the environment).</summary>
    public IReadOnlyList<string> FlagSlugs
    {
        get
        {
            if (Configuration is null)
            {
                return [];
            }

            var slugs = new List<string>(Configuration.Count);
            foreach (var flag in Configuration)
            {
                slugs.Add(flag.Slug);
            }

            return slugs;
        }
    }

    /// <inheritdoc />
    public bool IsActive(string slug, EvaluationContext context) => Resolve(slug, context, false, default(ActiveConverter)).Value;

    /// <inheritdoc />
    public bool GetBoolean(string slug, EvaluationContext context, bool defaultValue) => Resolve(slug, context, defaultValue, default(BooleanConverter)).Value;

    /// <inheritdoc />
    public string GetString(string slug, EvaluationContext context, string defaultValue) => Resolve(slug, context, defaultValue, default(StringConverter)).Value;

    /// <inheritdoc />
    public double GetDouble(string slug, EvaluationContext context, double defaultValue) => Resolve(slug, context, defaultValue, default(DoubleConverter)).Value;

    /// <inheritdoc />
    public long GetInt64(string slug, EvaluationContext context, long defaultValue) => Resolve(slug, context, defaultValue, default(Int64Converter)).Value;

    /// <inheritdoc />
    public T GetValue<T>(string slug, EvaluationContext context, T defaultValue, JsonTypeInfo<T> jsonTypeInfo) =>
        GetValueDetail(slug, context, defaultValue, jsonTypeInfo).Value;

    /// <inheritdoc />
    [RequiresUnreferencedCode("Deserialises by reflection; pass a JsonTypeInfo<T> for trimmed or AOT applications.")]
    [RequiresDynamicCode("Deserialises by reflection; pass a JsonTypeInfo<T> for trimmed or AOT applications.")]
    public T GetValue<T>(string slug, EvaluationContext context, T defaultValue, JsonSerializerOptions? options = null)
    {
        JsonTypeInfo<T> typeInfo;
        try
        {
            typeInfo = (JsonTypeInfo<T>)(options ?? JsonSerializerOptions.Web).GetTypeInfo(typeof(T));
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException)
        {
            // Options that cannot describe T: the caller's default, never an exception.
            return defaultValue;
        }

        return GetValueDetail(slug, context, defaultValue, typeInfo).Value;
    }

    /// <inheritdoc />
    public EvaluationDetail<bool> GetBooleanDetail(string slug, EvaluationContext context, bool defaultValue) => Resolve(slug, context, defaultValue, default(BooleanConverter));

    /// <inheritdoc />
    public EvaluationDetail<string> GetStringDetail(string slug, EvaluationContext context, string defaultValue) => Resolve(slug, context, defaultValue, default(StringConverter));

    /// <inheritdoc />
    public EvaluationDetail<double> GetDoubleDetail(string slug, EvaluationContext context, double defaultValue) => Resolve(slug, context, defaultValue, default(DoubleConverter));

    /// <inheritdoc />
    public EvaluationDetail<T> GetValueDetail<T>(string slug, EvaluationContext context, T defaultValue, JsonTypeInfo<T> jsonTypeInfo)
    {
        if (jsonTypeInfo is null)
        {
            return new EvaluationDetail<T>(defaultValue, false, true, FlagReason.Error, -1, "No JsonTypeInfo was given.");
        }

        return Resolve(slug, context, defaultValue, new Internal.JsonConverter<T>(jsonTypeInfo));
    }

    /// <inheritdoc />
    public EvaluationDetail<FlagValue?> Evaluate(string slug, EvaluationContext context) => Resolve<FlagValue?, ValueConverter>(slug, context, null, default);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, FlagValue> EvaluateAll(EvaluationContext context)
    {
        var result = new Dictionary<string, FlagValue>(StringComparer.Ordinal);
        var configuration = Configuration;
        if (configuration is null || context is null)
        {
            return result;
        }

        foreach (var flag in configuration)
        {
            var detail = Evaluate<FlagValue?, ValueConverter>(flag, context, null, default);
            if (detail.Value is { } value)
            {
                result[flag.Slug] = value;
            }
        }

        return result;
    }

    /// <summary>The one evaluation path of the SDK, specialised per converter by the JIT.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal EvaluationDetail<T> Resolve<T, TConverter>(string slug, EvaluationContext context, T defaultValue, TConverter converter)
        where TConverter : struct, IFlagConverter<T>
    {
        var configuration = Configuration;
        if (configuration is null || slug is null || context is null || !configuration.TryGetFlag(slug, out var flag))
        {
            return Miss(slug, context, defaultValue, converter);
        }

        return Evaluate(flag, context, defaultValue, converter);
    }

    /// <summary>The evaluation path of a <see cref="FlagHandle"/>: the flag already looked up (null when this configuration has none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal EvaluationDetail<T> Resolve<T, TConverter>(CompiledFlag? flag, string slug, EvaluationContext context, T defaultValue, TConverter converter)
        where TConverter : struct, IFlagConverter<T>
    {
        if (flag is null || context is null)
        {
            return Miss(slug, context, defaultValue, converter);
        }

        return Evaluate(flag, context, defaultValue, converter);
    }

    private EvaluationDetail<T> Evaluate<T, TConverter>(CompiledFlag flag, EvaluationContext context, T defaultValue, TConverter converter)
        where TConverter : struct, IFlagConverter<T>
    {
        EvaluationResult result;
        try
        {
            result = flag.Evaluate(context, _runtime.Clock.NowMilliseconds);
        }
        catch (Exception e)
        {
            // The core returns errors as results; this is a last line of defence for the never-throw promise.
            return Failed(flag, context, defaultValue, converter, FlagReason.Error, e.Message);
        }

        EvaluationDetail<T> detail;
        int slot;
        if (result.Value is { } value)
        {
            if (!converter.TryConvert(value, out var converted))
            {
                return Failed(flag, context, defaultValue, converter, FlagReason.WrongType, null);
            }

            // EvaluationReason and FlagReason share their first five members (pinned by a test).
            detail = new EvaluationDetail<T>(converted, true, false, (FlagReason)result.Reason, result.ConditionIndex, null);
            slot = result.ConditionIndex < 0 ? flag.ConditionCount : result.ConditionIndex;
        }
        else if (result.Reason == EvaluationReason.Error)
        {
            return Failed(flag, context, defaultValue, converter, FlagReason.Error, result.ErrorMessage);
        }
        else
        {
            detail = new EvaluationDetail<T>(defaultValue, false, true, (FlagReason)result.Reason, result.ConditionIndex, null);
            slot = result.ConditionIndex < 0 ? flag.ConditionCount : result.ConditionIndex;
        }

        _runtime.Usage?.Record(this, flag, slot, context, defaultValue, converter);
        var telemetry = _runtime.Telemetry;
        if (telemetry.IsEnabled)
        {
            telemetry.RecordEvaluation(flag.Slug, detail.Reason, detail.IsActive, result.Value, Version);
        }

        return detail;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EvaluationDetail<T> Failed<T, TConverter>(CompiledFlag flag, EvaluationContext context, T defaultValue, TConverter converter, FlagReason reason, string? message)
        where TConverter : struct, IFlagConverter<T>
    {
        if (reason == FlagReason.WrongType)
        {
            message = $"Flag \"{flag.Slug}\" is active but its value is not {converter.TypeName}.";
        }

        var detail = new EvaluationDetail<T>(defaultValue, reason == FlagReason.WrongType, true, reason, -1, message ?? $"Flag \"{flag.Slug}\" could not be evaluated.");
        _runtime.Usage?.Record(this, flag, flag.ConditionCount + 1, context, defaultValue, converter);
        if (_runtime.Telemetry.IsEnabled)
        {
            _runtime.Telemetry.RecordEvaluation(flag.Slug, reason, false, null, Version);
        }

        return detail;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EvaluationDetail<T> Miss<T, TConverter>(string? slug, EvaluationContext? context, T defaultValue, TConverter converter)
        where TConverter : struct, IFlagConverter<T>
    {
        if (slug is null)
        {
            return new EvaluationDetail<T>(defaultValue, false, true, FlagReason.Error, -1, "The flag's slug is null.");
        }

        if (context is null)
        {
            return new EvaluationDetail<T>(defaultValue, false, true, FlagReason.Error, -1, "The evaluation context is null.");
        }

        var reason = Configuration is null ? FlagReason.NotReady : FlagReason.FlagNotFound;
        var message = reason == FlagReason.NotReady
            ? "No flag configuration has been received yet."
            : null;
        _runtime.Usage?.RecordMiss(slug, defaultValue, converter);
        if (_runtime.Telemetry.IsEnabled)
        {
            _runtime.Telemetry.RecordEvaluation(slug, reason, false, null, Version);
        }

        return new EvaluationDetail<T>(defaultValue, false, true, reason, -1, message);
    }
}

/// <summary>What every snapshot of one client shares: the clock, the usage counters, the telemetry.</summary>
internal sealed class ClientRuntime(CoarseClock clock, UsageRecorder? usage, ClientTelemetry telemetry)
{
    public CoarseClock Clock { get; } = clock;

    public UsageRecorder? Usage { get; } = usage;

    public ClientTelemetry Telemetry { get; } = telemetry;
}
