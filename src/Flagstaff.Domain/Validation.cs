using System.Globalization;
using System.Text.RegularExpressions;

namespace Flagstaff.Domain;

/// <summary>One problem with input: where (a path such as <c>rules[1].clauses[0].values</c>) and what.</summary>
/// <param name="Path">The field at fault, as a path from the top of the input; empty for the input as a whole.</param>
/// <param name="Message">What is wrong, in words a person can act on.</param>
public sealed record ValidationError(string Path, string Message);

/// <summary>Collects validation errors with paths as it walks an input.</summary>
public sealed class ValidationErrors
{
    private readonly List<ValidationError> _errors = [];

    /// <summary>Every error found so far.</summary>
    public IReadOnlyList<ValidationError> Items => _errors;

    /// <summary>Whether nothing is wrong.</summary>
    public bool IsEmpty => _errors.Count == 0;

    /// <summary>Records an error.</summary>
    public void Add(string path, string message) => _errors.Add(new ValidationError(path, message));

    /// <summary>Records several errors.</summary>
    public void AddRange(IEnumerable<ValidationError> errors) => _errors.AddRange(errors);

    /// <summary>Joins path segments: <c>Path("rules", 1, "clauses")</c> gives <c>rules[1].clauses</c>.</summary>
    public static string Join(string parent, string child) =>
        parent.Length == 0 ? child : child.StartsWith('[') ? parent + child : parent + "." + child;

    /// <summary>An indexer segment.</summary>
    public static string Index(string parent, int index) => parent + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";

    /// <summary>Throws <see cref="DomainValidationException"/> when anything was recorded.</summary>
    public void ThrowIfAny()
    {
        if (_errors.Count > 0)
        {
            throw new DomainValidationException(_errors);
        }
    }
}

/// <summary>Input that cannot be accepted; nothing was changed.</summary>
public sealed class DomainValidationException : Exception
{
    /// <summary>Creates the exception from the errors found.</summary>
    public DomainValidationException(IReadOnlyList<ValidationError> errors)
        : base(errors.Count == 1 ? $"{errors[0].Path}: {errors[0].Message}" : $"{errors.Count} problems; the first: {errors[0].Path}: {errors[0].Message}")
    {
        Errors = errors;
    }

    /// <summary>Creates the exception for one error.</summary>
    public DomainValidationException(string path, string message)
        : this([new ValidationError(path, message)])
    {
    }

    /// <summary>Creates the exception.</summary>
    public DomainValidationException()
        : this(string.Empty, "The input is invalid.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public DomainValidationException(string message)
        : this(string.Empty, message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public DomainValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new ValidationError(string.Empty, message)];
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<ValidationError> Errors { get; }
}

/// <summary>The rules for keys, names and other bounded text.</summary>
public static partial class Limits
{
    /// <summary>Longest key (projects, environments, flags, segments, variations, properties).</summary>
    public const int KeyLength = 100;

    /// <summary>Longest name.</summary>
    public const int NameLength = 200;

    /// <summary>Longest description.</summary>
    public const int DescriptionLength = 5_000;

    /// <summary>Most tags on a flag.</summary>
    public const int Tags = 50;

    /// <summary>Most variations of a flag.</summary>
    public const int Variations = 100;

    /// <summary>Most rules per flag and environment.</summary>
    public const int Rules = 500;

    /// <summary>Most clauses per rule or segment.</summary>
    public const int Clauses = 100;

    /// <summary>
    /// Most alternatives one rule's clauses may compile to: each segment clause multiplies them (by up
    /// to 2 when in the segment, by the segment's clause count when negated).
    /// </summary>
    public const int Alternatives = 1_000;

    /// <summary>Most values in one clause's list, or ids in a segment.</summary>
    public const int Values = 50_000;

    /// <summary>Longest text of a single value.</summary>
    public const int ValueLength = 1_000;

    /// <summary>Most environments per project.</summary>
    public const int Environments = 50;

    /// <summary>Whether a key is 1 to 100 letters, digits, '-', '_' or '.'.</summary>
    public static bool IsValidKey(string? key) => key is { Length: > 0 and <= KeyLength } && KeyPattern().IsMatch(key);

    /// <summary>
    /// Whether a context property name is 1 to 100 characters of printable text: no control
    /// characters, no unpaired surrogates, no '&lt;' or '&gt;'. Names are looser than keys (contexts
    /// use "user.email", "país", "$os"), but they arrive from public client keys in usage reports and
    /// are shown in the dashboard and written into generated typings, so text that can only be an
    /// attack or a mistake is refused.
    /// </summary>
    public static bool IsValidPropertyName(string? name)
    {
        if (name is not { Length: > 0 and <= KeyLength })
        {
            return false;
        }

        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsControl(c) || c is '<' or '>')
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Checks a context property name, recording an error that says what is allowed.</summary>
    public static void CheckPropertyName(string? name, string path, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(path, "is required");
        }
        else if (!IsValidPropertyName(name))
        {
            errors.Add(path, $"a property name is 1 to {KeyLength} characters, without control characters, '<' or '>'");
        }
    }

    /// <summary>Checks a key, recording an error that says what is allowed.</summary>
    public static void CheckKey(string? key, string path, ValidationErrors errors)
    {
        if (string.IsNullOrEmpty(key))
        {
            errors.Add(path, "is required");
        }
        else if (!IsValidKey(key))
        {
            errors.Add(path, $"\"{Truncate(key)}\" is not a valid key: use 1 to {KeyLength} letters, digits, '-', '_' or '.'");
        }
    }

    /// <summary>Checks a required name.</summary>
    public static void CheckName(string? name, string path, ValidationErrors errors)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            errors.Add(path, "is required");
        }
        else
        {
            CheckLength(name, NameLength, path, errors);
        }
    }

    /// <summary>Checks an optional text's length.</summary>
    public static void CheckLength(string? text, int max, string path, ValidationErrors errors)
    {
        if (text is not null && text.Length > max)
        {
            errors.Add(path, string.Create(CultureInfo.InvariantCulture, $"is {text.Length} characters long; at most {max} are allowed"));
        }
    }

    /// <summary>Shortens text for an error message.</summary>
    public static string Truncate(string text) => text.Length <= 60 ? text : text[..57] + "...";

    [GeneratedRegex("^[A-Za-z0-9._-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();
}
