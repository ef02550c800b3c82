using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Evaluation;

namespace Flagstaff.Client;

/// <summary>
/// Evaluates flags for a context, in process. Every method returns at once, never throws and never
/// waits for the network: before the first configuration, for an unknown flag, for a value of the
/// wrong type or after any failure it returns the caller's default (the detail methods say why).
/// </summary>
public interface IFlagEvaluator
{
    /// <summary>Whether the flag is active for the context (its value may still be <c>false</c> or <c>null</c>).</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    bool IsActive(string slug, EvaluationContext context);

    /// <summary>The flag's boolean value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown, not a boolean, or not loaded yet.</param>
    bool GetBoolean(string slug, EvaluationContext context, bool defaultValue);

    /// <summary>The flag's string value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown, not a string, or not loaded yet.</param>
    string GetString(string slug, EvaluationContext context, string defaultValue);

    /// <summary>The flag's number value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown, not a number, or not loaded yet.</param>
    double GetDouble(string slug, EvaluationContext context, double defaultValue);

    /// <summary>The flag's value as a whole number, or <paramref name="defaultValue"/> (also when the number has a fraction or is out of range).</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown, not a whole number, or not loaded yet.</param>
    long GetInt64(string slug, EvaluationContext context, long defaultValue);

    /// <summary>The flag's JSON value deserialised to <typeparamref name="T"/>, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown, does not deserialise, or is not loaded yet.</param>
    /// <param name="jsonTypeInfo">How to deserialise (from a source-generated <c>JsonSerializerContext</c>).</param>
    T GetValue<T>(string slug, EvaluationContext context, T defaultValue, JsonTypeInfo<T> jsonTypeInfo);

    /// <summary>The flag's JSON value deserialised to <typeparamref name="T"/> by reflection, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">What to use when the flag is inactive, unknown, does not deserialise, or is not loaded yet.</param>
    /// <param name="options">Serializer options; web defaults when null.</param>
    [RequiresUnreferencedCode("Deserialises by reflection; pass a JsonTypeInfo<T> for trimmed or AOT applications.")]
    [RequiresDynamicCode("Deserialises by reflection; pass a JsonTypeInfo<T> for trimmed or AOT applications.")]
    T GetValue<T>(string slug, EvaluationContext context, T defaultValue, JsonSerializerOptions? options = null);

    /// <summary>Like <see cref="GetBoolean"/>, with the reason and any error.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">The caller's default.</param>
    EvaluationDetail<bool> GetBooleanDetail(string slug, EvaluationContext context, bool defaultValue);

    /// <summary>Like <see cref="GetString"/>, with the reason and any error.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">The caller's default.</param>
    EvaluationDetail<string> GetStringDetail(string slug, EvaluationContext context, string defaultValue);

    /// <summary>Like <see cref="GetDouble"/>, with the reason and any error.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">The caller's default.</param>
    EvaluationDetail<double> GetDoubleDetail(string slug, EvaluationContext context, double defaultValue);

    /// <summary>Like <see cref="GetValue{T}(string, EvaluationContext, T, JsonTypeInfo{T})"/>, with the reason and any error.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="defaultValue">The caller's default.</param>
    /// <param name="jsonTypeInfo">How to deserialise.</param>
    EvaluationDetail<T> GetValueDetail<T>(string slug, EvaluationContext context, T defaultValue, JsonTypeInfo<T> jsonTypeInfo);

    /// <summary>
    /// Evaluates a flag without a type: the value is the flag's JSON value when active, null otherwise,
    /// with the reason and any error.
    /// </summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    EvaluationDetail<FlagValue?> Evaluate(string slug, EvaluationContext context);

    /// <summary>Every flag active for the context, slug to value (what <c>POST /flags</c> answers).</summary>
    /// <param name="context">Who the flags are evaluated for.</param>
    IReadOnlyDictionary<string, FlagValue> EvaluateAll(EvaluationContext context);
}
