using System.Runtime.CompilerServices;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Client.Internal;
using Flagstaff.Evaluation;

namespace Flagstaff.Client;

/// <summary>
/// One flag, resolved once: evaluations through a handle skip the lookup of the flag by its slug, and
/// the handle follows every configuration the client takes (it resolves the flag again, once, when the
/// snapshot changes). Get one with <see cref="FlagHandleExtensions.Flag(IFlagstaffClient, string)"/>
/// and keep it (in a static field or a singleton); it is thread-safe. Results, usage reports and
/// telemetry are exactly those of the client's <c>Get*</c> methods with the same slug.
/// </summary>
/// <remarks>
/// The evaluation path allocates nothing and takes no lock: a volatile read of the client's snapshot, a
/// reference comparison with the one last resolved, and the flag's compiled rules. A configuration
/// change costs one lookup and one small object, on the first evaluation after it.
/// </remarks>
public sealed class FlagHandle
{
    private readonly IFlagstaffClient _client;
    private Resolution _resolution;

    internal FlagHandle(IFlagstaffClient client, string slug)
    {
        _client = client;
        Slug = slug;
        _resolution = Resolve(client.GetSnapshot());
    }

    /// <summary>The flag's slug.</summary>
    public string Slug { get; }

    /// <summary>Whether the flag is active for <paramref name="context"/> (as <see cref="IFlagEvaluator.IsActive"/>).</summary>
    /// <param name="context">Who is asking.</param>
    public bool IsActive(EvaluationContext context) => Evaluate(context, false, default(ActiveConverter)).Value;

    /// <summary>The flag's boolean value, or <paramref name="defaultValue"/> when it is inactive, missing or not a boolean.</summary>
    /// <param name="context">Who is asking.</param>
    /// <param name="defaultValue">What to answer when the flag gives no boolean.</param>
    public bool GetBoolean(EvaluationContext context, bool defaultValue) => Evaluate(context, defaultValue, default(BooleanConverter)).Value;

    /// <summary>The flag's string value, or <paramref name="defaultValue"/> when it is inactive, missing or not a string.</summary>
    /// <param name="context">Who is asking.</param>
    /// <param name="defaultValue">What to answer when the flag gives no string.</param>
    public string GetString(EvaluationContext context, string defaultValue) => Evaluate(context, defaultValue, default(StringConverter)).Value;

    /// <summary>The flag's number value, or <paramref name="defaultValue"/> when it is inactive, missing or not a number.</summary>
    /// <param name="context">Who is asking.</param>
    /// <param name="defaultValue">What to answer when the flag gives no number.</param>
    public double GetDouble(EvaluationContext context, double defaultValue) => Evaluate(context, defaultValue, default(DoubleConverter)).Value;

    /// <summary>The flag's value as a whole number, or <paramref name="defaultValue"/> when it is inactive, missing or not an integer.</summary>
    /// <param name="context">Who is asking.</param>
    /// <param name="defaultValue">What to answer when the flag gives no integer.</param>
    public long GetInt64(EvaluationContext context, long defaultValue) => Evaluate(context, defaultValue, default(Int64Converter)).Value;

    /// <summary>The flag's JSON value deserialized with <paramref name="jsonTypeInfo"/>, or <paramref name="defaultValue"/> (as <see cref="IFlagEvaluator.GetValue{T}(string, EvaluationContext, T, JsonTypeInfo{T})"/>).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="context">Who is asking.</param>
    /// <param name="defaultValue">What to answer when the flag gives no value of that type.</param>
    /// <param name="jsonTypeInfo">How to read the value (source-generated).</param>
    public T GetValue<T>(EvaluationContext context, T defaultValue, JsonTypeInfo<T> jsonTypeInfo)
    {
        var resolution = Current();
        return resolution.Snapshot.GetValue(Slug, context, defaultValue, jsonTypeInfo);
    }

    /// <summary>The flag's boolean value with why (as <see cref="IFlagEvaluator.GetBooleanDetail"/>).</summary>
    /// <param name="context">Who is asking.</param>
    /// <param name="defaultValue">What to answer when the flag gives no boolean.</param>
    public EvaluationDetail<bool> GetBooleanDetail(EvaluationContext context, bool defaultValue) => Evaluate(context, defaultValue, default(BooleanConverter));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private EvaluationDetail<T> Evaluate<T, TConverter>(EvaluationContext context, T defaultValue, TConverter converter)
        where TConverter : struct, IFlagConverter<T>
    {
        var resolution = Current();
        return resolution.Snapshot.Resolve(resolution.Flag, Slug, context, defaultValue, converter);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Resolution Current()
    {
        var snapshot = _client.GetSnapshot();
        var resolution = Volatile.Read(ref _resolution);
        return ReferenceEquals(resolution.Snapshot, snapshot) ? resolution : Refresh(snapshot);
    }

    // A race between threads here is harmless: each resolves the same flag from the same snapshot.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Resolution Refresh(FlagSnapshot snapshot)
    {
        var resolution = Resolve(snapshot);
        Volatile.Write(ref _resolution, resolution);
        return resolution;
    }

    private Resolution Resolve(FlagSnapshot snapshot) =>
        new(snapshot, snapshot.Configuration is { } configuration && configuration.TryGetFlag(Slug, out var flag) ? flag : null);

    private sealed record Resolution(FlagSnapshot Snapshot, CompiledFlag? Flag);
}

/// <summary>Gets <see cref="FlagHandle"/>s from a client.</summary>
public static class FlagHandleExtensions
{
    /// <summary>A handle on one flag of <paramref name="client"/>, resolved once and kept current; keep it and reuse it.</summary>
    /// <param name="client">The client whose configuration the handle follows.</param>
    /// <param name="slug">The flag's slug.</param>
    public static FlagHandle Flag(this IFlagstaffClient client, string slug)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(slug);
        return new FlagHandle(client, slug);
    }
}
