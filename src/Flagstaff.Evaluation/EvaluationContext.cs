using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flagstaff.Evaluation;

/// <summary>
/// The properties of whoever a flag is evaluated for (a user, an account, a request): a JSON object
/// in the flag format's terms. Immutable once built and safe to share between threads. Evaluation
/// reads it without allocating.
/// </summary>
/// <remarks>
/// Build one with <see cref="CreateBuilder"/> and typed setters, from a dictionary with
/// <see cref="FromDictionary"/>, or from JSON with <see cref="FromJson(JsonElement)"/>,
/// <see cref="FromJson(JsonObject)"/> or <see cref="Parse(ReadOnlySpan{byte})"/>.
/// </remarks>
public sealed class EvaluationContext
{
    // Contexts are small (a handful of properties): a linear scan over parallel arrays beats hashing.
    // Past this size an index is built once so that lookups stay O(1).
    private const int LinearScanLimit = 8;

    private readonly string[] _keys;
    private readonly ContextValue[] _values;
    private readonly Dictionary<string, int>? _index;

    private EvaluationContext(string[] keys, ContextValue[] values)
    {
        _keys = keys;
        _values = values;
        if (keys.Length > LinearScanLimit)
        {
            _index = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
            for (int i = 0; i < keys.Length; i++)
            {
                _index[keys[i]] = i;
            }
        }
    }

    /// <summary>A context with no properties.</summary>
    public static EvaluationContext Empty { get; } = new([], []);

    /// <summary>The number of properties.</summary>
    public int Count => _keys.Length;

    /// <summary>The property names, in the order they were set.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>Reads a property. Returns false when the context does not have it.</summary>
    public bool TryGetValue(string key, out ContextValue value)
    {
        int i = IndexOf(key);
        value = i < 0 ? default : _values[i];
        return i >= 0;
    }

    /// <summary>The position of a property, or -1.</summary>
    internal int IndexOf(string key)
    {
        if (_index is not null)
        {
            return _index.TryGetValue(key, out int found) ? found : -1;
        }

        var keys = _keys;
        for (int i = 0; i < keys.Length; i++)
        {
            var k = keys[i];
            if (ReferenceEquals(k, key) || (k.Length == key.Length && string.Equals(k, key, StringComparison.Ordinal)))
            {
                return i;
            }
        }

        return -1;
    }

    internal ref readonly ContextValue ValueAt(int index) => ref _values[index];

    /// <summary>Whether the context has the property (even if it is null).</summary>
    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <summary>Returns a context with the property set (replacing it if present); this one is unchanged.</summary>
    public EvaluationContext With(string key, ContextValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var builder = new Builder(this);
        builder.Set(key, value);
        return builder.Build();
    }

    /// <summary>Starts a new context.</summary>
    public static Builder CreateBuilder() => new();

    /// <summary>
    /// Builds a context from a dictionary. Values may be null, strings, booleans, any .NET number type,
    /// <see cref="DateTimeOffset"/> and <see cref="DateTime"/> (as milliseconds since the Unix epoch),
    /// sequences of strings (arrays), <see cref="JsonElement"/> or <see cref="JsonNode"/>. Other types
    /// are refused with an <see cref="ArgumentException"/> naming the property.
    /// </summary>
    public static EvaluationContext FromDictionary(IEnumerable<KeyValuePair<string, object?>> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var builder = new Builder();
        foreach (var (key, value) in properties)
        {
            builder.Set(key, ToContextValue(key, value));
        }

        return builder.Build();
    }

    /// <summary>Builds a context from a JSON object.</summary>
    /// <exception cref="ArgumentException">The element is not an object.</exception>
    public static EvaluationContext FromJson(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"A context is a JSON object, not {json.ValueKind}.", nameof(json));
        }

        var builder = new Builder();
        foreach (var property in json.EnumerateObject())
        {
            builder.Set(property.Name, FromElement(property.Value));
        }

        return builder.Build();
    }

    /// <summary>Builds a context from a JSON object node.</summary>
    public static EvaluationContext FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var builder = new Builder();
        foreach (var (key, node) in json)
        {
            builder.Set(key, FromNode(node));
        }

        return builder.Build();
    }

    /// <summary>Parses a context from UTF-8 JSON text (an object).</summary>
    /// <exception cref="JsonException">The text is not a JSON object.</exception>
    public static EvaluationContext Parse(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 64 });
        reader.Read();
        var context = Read(ref reader);
        if (reader.Read())
        {
            throw new JsonException("Unexpected data after the context object.");
        }

        return context;
    }

    /// <summary>
    /// Reads a context object at the reader's current token (<see cref="JsonTokenType.StartObject"/>),
    /// leaving the reader on its <see cref="JsonTokenType.EndObject"/>.
    /// </summary>
    /// <exception cref="JsonException">The current value is not an object.</exception>
    public static EvaluationContext Read(ref Utf8JsonReader reader) => Read(ref reader, [], int.MaxValue);

    /// <summary>
    /// Reads a context object at the reader's current token, adding the <paramref name="defaults"/> it
    /// does not set itself (what a server adds: <c>ip</c>, <c>referer</c>...).
    /// </summary>
    /// <param name="reader">The reader, on the object's start.</param>
    /// <param name="defaults">Properties to add when the object does not set them.</param>
    /// <param name="maxProperties">The most properties the object may hold itself.</param>
    /// <exception cref="JsonException">The current value is not an object.</exception>
    /// <exception cref="ContextTooLargeException">The object holds more than <paramref name="maxProperties"/> properties.</exception>
    public static EvaluationContext Read(ref Utf8JsonReader reader, ReadOnlySpan<KeyValuePair<string, ContextValue>> defaults, int maxProperties)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"A context is a JSON object, not {Describe(reader.TokenType)}.");
        }

        var builder = new Builder();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            builder.Set(key, ReadValue(ref reader));
            if (builder.Count > maxProperties)
            {
                throw new ContextTooLargeException(maxProperties);
            }
        }

        foreach (var (key, value) in defaults)
        {
            builder.SetIfAbsent(key, value);
        }

        return builder.Build();
    }

    private static ContextValue ReadValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return ContextValue.FromString(reader.GetString()!);
            case JsonTokenType.Number:
                return ContextValue.FromNumber(reader.GetDouble());
            case JsonTokenType.True:
                return ContextValue.FromBoolean(true);
            case JsonTokenType.False:
                return ContextValue.FromBoolean(false);
            case JsonTokenType.Null:
                return ContextValue.Null;
            case JsonTokenType.StartArray:
                {
                    List<string>? strings = null;
                    int depth = reader.CurrentDepth;
                    while (reader.Read() && !(reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == depth))
                    {
                        if (reader.TokenType == JsonTokenType.String && reader.CurrentDepth == depth + 1)
                        {
                            (strings ??= []).Add(reader.GetString()!);
                        }
                        else if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
                        {
                            reader.Skip();
                        }
                    }

                    return ContextValue.FromArrayUnsafe(strings is null ? [] : [.. strings]);
                }

            case JsonTokenType.StartObject:
                reader.Skip();
                return ContextValue.Object;
            default:
                throw new JsonException($"Unexpected {Describe(reader.TokenType)} in a context.");
        }
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    private static ContextValue FromElement(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => ContextValue.FromString(element.GetString()!),
        JsonValueKind.Number => ContextValue.FromNumber(element.GetDouble()),
        JsonValueKind.True => ContextValue.FromBoolean(true),
        JsonValueKind.False => ContextValue.FromBoolean(false),
        JsonValueKind.Array => ContextValue.FromArrayUnsafe(
            [.. element.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]),
        JsonValueKind.Object => ContextValue.Object,
        _ => ContextValue.Null,
    };

    private static ContextValue FromNode(JsonNode? node) => node switch
    {
        null => ContextValue.Null,
        JsonObject => ContextValue.Object,
        JsonArray array => ContextValue.FromArrayUnsafe(
            [.. array.Where(n => n is JsonValue v && v.GetValueKind() == JsonValueKind.String).Select(n => n!.GetValue<string>())]),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => ContextValue.FromString(value.GetValue<string>()),
            // A JsonValue built from a .NET number (long, decimal...) only converts to its own type.
            JsonValueKind.Number => ContextValue.FromNumber(value.TryGetValue<double>(out var number) ? number : double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture)),
            JsonValueKind.True => ContextValue.FromBoolean(true),
            JsonValueKind.False => ContextValue.FromBoolean(false),
            _ => ContextValue.Null,
        },
        _ => ContextValue.Null,
    };

    private static ContextValue ToContextValue(string key, object? value) => value switch
    {
        null => ContextValue.Null,
        ContextValue v => v,
        string s => ContextValue.FromString(s),
        bool b => ContextValue.FromBoolean(b),
        double d => ContextValue.FromNumber(d),
        float f => ContextValue.FromNumber(f),
        int i => ContextValue.FromNumber(i),
        long l => ContextValue.FromNumber(l),
        short s => ContextValue.FromNumber(s),
        byte b => ContextValue.FromNumber(b),
        uint u => ContextValue.FromNumber(u),
        ulong u => ContextValue.FromNumber(u),
        decimal m => ContextValue.FromNumber((double)m),
        DateTimeOffset t => ContextValue.FromNumber(t.ToUnixTimeMilliseconds()),
        DateTime t => ContextValue.FromNumber(new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t).ToUnixTimeMilliseconds()),
        JsonElement e => FromElement(e),
        JsonNode n => FromNode(n),
        IEnumerable<string> strings => ContextValue.FromArray(strings),
        _ => throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"Context property \"{key}\" has a value of type {value.GetType().Name}, which a context cannot hold."),
            nameof(value)),
    };

    /// <summary>Sets the properties of a new <see cref="EvaluationContext"/>. Not thread-safe.</summary>
    public sealed class Builder
    {
        private readonly List<string> _keys;
        private readonly List<ContextValue> _values;

        internal Builder()
        {
            _keys = [];
            _values = [];
        }

        internal Builder(EvaluationContext from)
        {
            _keys = [.. from._keys];
            _values = [.. from._values];
        }

        /// <summary>Sets a property (replacing an earlier value of the same name).</summary>
        public Builder Set(string key, ContextValue value)
        {
            ArgumentNullException.ThrowIfNull(key);
            int existing = _keys.IndexOf(key);
            if (existing >= 0)
            {
                _values[existing] = value;
            }
            else
            {
                _keys.Add(key);
                _values.Add(value);
            }

            return this;
        }

        /// <summary>Sets a string property; a null string sets JSON null.</summary>
        public Builder Set(string key, string? value) =>
            Set(key, value is null ? ContextValue.Null : ContextValue.FromString(value));

        /// <summary>Sets a number property.</summary>
        public Builder Set(string key, double value) => Set(key, ContextValue.FromNumber(value));

        /// <summary>Sets a number property.</summary>
        public Builder Set(string key, long value) => Set(key, ContextValue.FromNumber(value));

        /// <summary>Sets a boolean property.</summary>
        public Builder Set(string key, bool value) => Set(key, ContextValue.FromBoolean(value));

        /// <summary>Sets a date property, as milliseconds since the Unix epoch (what date rules read).</summary>
        public Builder Set(string key, DateTimeOffset value) => Set(key, ContextValue.FromNumber(value.ToUnixTimeMilliseconds()));

        /// <summary>Sets an array-of-strings property.</summary>
        public Builder Set(string key, IEnumerable<string> values) => Set(key, ContextValue.FromArray(values));

        /// <summary>Sets a property to JSON null.</summary>
        public Builder SetNull(string key) => Set(key, ContextValue.Null);

        /// <summary>Sets a property unless it is already set.</summary>
        public Builder SetIfAbsent(string key, ContextValue value)
        {
            if (!_keys.Contains(key))
            {
                Set(key, value);
            }

            return this;
        }

        /// <summary>Whether a property is set.</summary>
        public bool Contains(string key) => _keys.Contains(key);

        /// <summary>How many properties are set.</summary>
        public int Count => _keys.Count;

        /// <summary>Creates the context. The builder can go on being used afterwards.</summary>
        public EvaluationContext Build() =>
            _keys.Count == 0 ? Empty : new EvaluationContext([.. _keys], [.. _values]);
    }

    /// <summary>Gets a property's value, for diagnostics and tests.</summary>
    public bool TryGetString(string key, [NotNullWhen(true)] out string? value)
    {
        if (TryGetValue(key, out var v) && v.Kind == ContextValueKind.String)
        {
            value = v.String;
            return true;
        }

        value = null;
        return false;
    }
}

/// <summary>A context holds more properties than allowed.</summary>
public sealed class ContextTooLargeException : JsonException
{
    /// <summary>Creates the exception for a limit.</summary>
    public ContextTooLargeException(int maxProperties)
        : base(string.Create(CultureInfo.InvariantCulture, $"A context holds at most {maxProperties} properties."))
    {
        MaxProperties = maxProperties;
    }

    /// <summary>Creates the exception.</summary>
    public ContextTooLargeException()
        : this(0)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ContextTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ContextTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The limit.</summary>
    public int MaxProperties { get; }
}
