using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Client.Internal;
using Flagstaff.Evaluation;

namespace Flagstaff.Client;

/// <summary>
/// The flags the server evaluated for one context (remote evaluation). Reading never throws: an
/// inactive or unknown flag, a value of the wrong type, or a failed call give the caller's default.
/// </summary>
public sealed class RemoteFlags
{
    private static readonly Dictionary<string, FlagValue> None = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FlagValue> _flags;

    internal RemoteFlags(Dictionary<string, FlagValue>? flags, string? error)
    {
        _flags = flags ?? None;
        ErrorMessage = error;
    }

    /// <summary>The active flags, slug to value (empty when the call failed).</summary>
    public IReadOnlyDictionary<string, FlagValue> Flags => _flags;

    /// <summary>Whether the server answered.</summary>
    public bool IsSuccess => ErrorMessage is null;

    /// <summary>Why the call failed, when it did.</summary>
    public string? ErrorMessage { get; }

    /// <summary>Whether the flag is active.</summary>
    /// <param name="slug">The flag's key.</param>
    public bool IsActive(string slug) => slug is not null && _flags.ContainsKey(slug);

    /// <summary>The flag's boolean value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown or not a boolean, or the call failed.</param>
    public bool GetBoolean(string slug, bool defaultValue) => Resolve(slug, defaultValue, default(BooleanConverter)).Value;

    /// <summary>The flag's string value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown or not a string, or the call failed.</param>
    public string GetString(string slug, string defaultValue) => Resolve(slug, defaultValue, default(StringConverter)).Value;

    /// <summary>The flag's number value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown or not a number, or the call failed.</param>
    public double GetDouble(string slug, double defaultValue) => Resolve(slug, defaultValue, default(DoubleConverter)).Value;

    /// <summary>The flag's whole-number value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown or not a whole number, or the call failed.</param>
    public long GetInt64(string slug, long defaultValue) => Resolve(slug, defaultValue, default(Int64Converter)).Value;

    /// <summary>The flag's JSON value deserialised to <typeparamref name="T"/>, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown or does not deserialise, or the call failed.</param>
    /// <param name="jsonTypeInfo">How to deserialise.</param>
    public T GetValue<T>(string slug, T defaultValue, JsonTypeInfo<T> jsonTypeInfo) =>
        jsonTypeInfo is null ? defaultValue : Resolve(slug, defaultValue, new Internal.JsonConverter<T>(jsonTypeInfo)).Value;

    /// <summary>The flag's value with the reason and any error.</summary>
    /// <param name="slug">The flag's key.</param>
    public EvaluationDetail<FlagValue?> Evaluate(string slug) => Resolve<FlagValue?, ValueConverter>(slug, null, default);

    /// <summary>Like <see cref="GetBoolean"/>, with the reason and any error.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">The caller's default.</param>
    public EvaluationDetail<bool> GetBooleanDetail(string slug, bool defaultValue) => Resolve(slug, defaultValue, default(BooleanConverter));

    private EvaluationDetail<T> Resolve<T, TConverter>(string slug, T defaultValue, TConverter converter)
        where TConverter : struct, IFlagConverter<T>
    {
        if (ErrorMessage is not null)
        {
            return new EvaluationDetail<T>(defaultValue, false, true, FlagReason.Error, -1, ErrorMessage);
        }

        if (slug is null || !_flags.TryGetValue(slug, out var value))
        {
            return new EvaluationDetail<T>(defaultValue, false, true, FlagReason.Remote, -1, null);
        }

        return converter.TryConvert(value, out var converted)
            ? new EvaluationDetail<T>(converted, true, false, FlagReason.Remote, -1, null)
            : new EvaluationDetail<T>(defaultValue, true, true, FlagReason.WrongType, -1, $"Flag \"{slug}\" is active but its value is not {converter.TypeName}.");
    }

    internal static RemoteFlags Read(JsonElement element) =>
        element.ValueKind != JsonValueKind.Object
            ? new RemoteFlags(null, "The server answered something other than an object of flags.")
            : new RemoteFlags(element.EnumerateObject().ToDictionary(p => p.Name, p => FlagValue.FromJson(p.Value), StringComparer.Ordinal), null);
}
