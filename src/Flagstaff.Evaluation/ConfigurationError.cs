using System.Globalization;
using System.Text;

namespace Flagstaff.Evaluation;

/// <summary>How strictly a configuration is loaded.</summary>
public enum LoadMode
{
    /// <summary>
    /// Any invalid flag fails the whole load (the server, before it stores or serves anything).
    /// </summary>
    Strict,

    /// <summary>
    /// An invalid flag is reported and evaluates inactive; every other flag still works (SDKs, relays).
    /// A regular expression that is valid JavaScript but has no linear-time evaluation (a
    /// backreference, a lookaround) is reported too, and only its rule is lost: it never matches.
    /// </summary>
    Lenient,
}

/// <summary>What is wrong in a configuration, and exactly where.</summary>
public sealed class ConfigurationError
{
    internal ConfigurationError(string message, int? flagIndex, string? flagSlug, int? conditionIndex, int? ruleIndex, string? field)
    {
        Message = message;
        FlagIndex = flagIndex;
        FlagSlug = flagSlug;
        ConditionIndex = conditionIndex;
        RuleIndex = ruleIndex;
        Field = field;
    }

    /// <summary>What is wrong.</summary>
    public string Message { get; }

    /// <summary>The position of the flag in the configuration array; null for an error in the document itself.</summary>
    public int? FlagIndex { get; }

    /// <summary>The flag's slug, when it has a readable one.</summary>
    public string? FlagSlug { get; }

    /// <summary>The index of the condition, when the error is inside one.</summary>
    public int? ConditionIndex { get; }

    /// <summary>The index of the rule within its condition, when the error is inside one.</summary>
    public int? RuleIndex { get; }

    /// <summary>The JSON field at fault, when there is one.</summary>
    public string? Field { get; }

    /// <summary>A JSON-pointer-like path to the error ("/3/conditions/1/rules/0/values").</summary>
    public string Path
    {
        get
        {
            var path = new StringBuilder();
            if (FlagIndex is int f)
            {
                path.Append(CultureInfo.InvariantCulture, $"/{f}");
                if (ConditionIndex is int c)
                {
                    path.Append(CultureInfo.InvariantCulture, $"/conditions/{c}");
                    if (RuleIndex is int r)
                    {
                        path.Append(CultureInfo.InvariantCulture, $"/rules/{r}");
                    }
                }
            }

            if (Field is not null)
            {
                path.Append('/').Append(Field);
            }

            return path.Length == 0 ? "/" : path.ToString();
        }
    }

    /// <summary>
    /// The error with its location, for example
    /// <c>flag "checkout" (index 3), condition 1, rule 0: operator "STR_EQUALS" is not known</c>.
    /// </summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        if (FlagIndex is int f)
        {
            text.Append(FlagSlug is null
                ? string.Create(CultureInfo.InvariantCulture, $"flag at index {f}")
                : string.Create(CultureInfo.InvariantCulture, $"flag \"{FlagSlug}\" (index {f})"));
            if (ConditionIndex is int c)
            {
                text.Append(CultureInfo.InvariantCulture, $", condition {c}");
                if (RuleIndex is int r)
                {
                    text.Append(CultureInfo.InvariantCulture, $", rule {r}");
                }
            }

            text.Append(": ");
        }

        return text.Append(Message).ToString();
    }
}

/// <summary>The outcome of loading a configuration.</summary>
public sealed class LoadResult
{
    internal LoadResult(FlagConfiguration? configuration, IReadOnlyList<ConfigurationError> errors)
    {
        Configuration = configuration;
        Errors = errors;
    }

    /// <summary>
    /// The loaded configuration: null when the document could not be read at all, or, in strict mode,
    /// when any flag is invalid.
    /// </summary>
    public FlagConfiguration? Configuration { get; }

    /// <summary>Every problem found. In lenient mode a loaded configuration may come with errors.</summary>
    public IReadOnlyList<ConfigurationError> Errors { get; }

    /// <summary>Whether the configuration loaded with no error at all.</summary>
    public bool IsValid => Configuration is not null && Errors.Count == 0;

    /// <summary>Returns the configuration, or throws <see cref="ConfigurationException"/> listing the errors.</summary>
    public FlagConfiguration GetConfigurationOrThrow() =>
        Configuration is not null && Errors.Count == 0 ? Configuration : throw new ConfigurationException(Errors);
}

/// <summary>A configuration that could not be loaded.</summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>Creates the exception from the errors found.</summary>
    public ConfigurationException(IReadOnlyList<ConfigurationError> errors)
        : base(Describe(errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception with a message.</summary>
    public ConfigurationException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    /// <summary>Creates the exception.</summary>
    public ConfigurationException()
        : this("The configuration is invalid.")
    {
    }

    /// <summary>Every error found.</summary>
    public IReadOnlyList<ConfigurationError> Errors { get; }

    private static string Describe(IReadOnlyList<ConfigurationError> errors) => errors.Count switch
    {
        0 => "The configuration is invalid.",
        1 => errors[0].ToString(),
        _ => string.Create(CultureInfo.InvariantCulture, $"{errors.Count} errors; the first: {errors[0]}"),
    };
}
