using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation;

/// <summary>
/// An immutable, precompiled snapshot of a flag configuration (the format of <c>GET /config</c>):
/// load it once, evaluate it any number of times from any number of threads. A change produces a
/// new snapshot with <see cref="WithChanges"/>, at a cost that does not grow with the number of flags.
/// </summary>
public sealed class FlagConfiguration : IReadOnlyCollection<CompiledFlag>
{
    private readonly FlagMap _flags;

    // Iteration walks a flat array, built on first use: after a change, the first request that reads
    // every flag pays one pass over them, which it was paying anyway.
    private CompiledFlag[]? _ordered;

    private FlagConfiguration(FlagMap flags)
    {
        _flags = flags;
    }

    /// <summary>A configuration with no flags.</summary>
    public static FlagConfiguration Empty { get; } = new(FlagMap.Empty);

    /// <summary>The number of flags.</summary>
    public int Count => _flags.Count;

    /// <summary>Loads a configuration from UTF-8 JSON.</summary>
    public static LoadResult Load(ReadOnlySpan<byte> utf8Json, LoadMode mode) => ConfigurationLoader.Load(utf8Json, mode);

    /// <summary>Loads a configuration from JSON text.</summary>
    public static LoadResult Load(string json, LoadMode mode)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Load(Encoding.UTF8.GetBytes(json), mode);
    }

    /// <summary>Loads a configuration from a JSON element (an array of flags).</summary>
    public static LoadResult Load(JsonElement json, LoadMode mode) => Load(json.GetRawText(), mode);

    /// <summary>
    /// Loads and compiles one flag (a JSON object in the configuration format). In strict mode an
    /// invalid flag gives errors and no flag; in lenient mode, a flag that evaluates inactive.
    /// </summary>
    public static FlagLoadResult LoadFlag(ReadOnlySpan<byte> utf8Json, LoadMode mode)
    {
        using var loader = new ConfigurationLoader();
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 64 });
        CompiledFlag? flag;
        try
        {
            reader.Read();
            flag = loader.ReadFlag(ref reader, 0);
            if (reader.Read())
            {
                return new FlagLoadResult(null, [new ConfigurationError("Unexpected data after the flag object.", 0, flag?.Slug, null, null, null)]);
            }
        }
        catch (JsonException e)
        {
            return new FlagLoadResult(null, [new ConfigurationError($"The flag is not valid JSON: {e.Message}", 0, null, null, null, null)]);
        }

        var errors = loader.Errors;
        return new FlagLoadResult(mode == LoadMode.Strict && errors.Count > 0 ? null : flag, errors);
    }

    /// <summary>Creates a configuration from compiled flags; a later flag replaces an earlier one with the same slug.</summary>
    public static FlagConfiguration Create(IEnumerable<CompiledFlag> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var unique = new Dictionary<string, CompiledFlag>(StringComparer.Ordinal);
        foreach (var flag in flags)
        {
            unique[flag.Slug] = flag;
        }

        return FromUnique([.. unique.Values]);
    }

    internal static FlagConfiguration FromUnique(CompiledFlag[] flags) => new(FlagMap.CreateFromUnique(flags));


    /// <summary>Finds a flag by slug.</summary>
    public bool TryGetFlag(string slug, [NotNullWhen(true)] out CompiledFlag? flag) => _flags.TryGetValue(slug, out flag);

    /// <summary>Evaluates one flag for a context. Never throws; an unknown slug gives <see cref="EvaluationReason.FlagNotFound"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="context">Who the flag is evaluated for.</param>
    /// <param name="now">The current time (ms since the Unix epoch) for rules on <c>timestamp</c> when the context lacks it.</param>
    public EvaluationResult Evaluate(string slug, EvaluationContext context, long? now = null) =>
        _flags.TryGetValue(slug, out var flag) ? flag.Evaluate(context, now) : EvaluationResult.NotFound;

    /// <summary>
    /// Evaluates every flag for a context and returns the active ones, slug to value: the answer of
    /// <c>POST /flags</c>.
    /// </summary>
    public Dictionary<string, FlagValue> EvaluateActive(EvaluationContext context, long? now = null)
    {
        var result = new Dictionary<string, FlagValue>(StringComparer.Ordinal);
        foreach (var flag in this)
        {
            if (flag.Evaluate(context, now).Value is { } value)
            {
                result[flag.Slug] = value;
            }
        }

        return result;
    }

    /// <summary>
    /// Returns a configuration with some flags added or replaced and some removed; this one is
    /// unchanged. The cost is proportional to the number of changes, not to the number of flags.
    /// </summary>
    public FlagConfiguration WithChanges(IEnumerable<CompiledFlag> upserted, IEnumerable<string> removed)
    {
        ArgumentNullException.ThrowIfNull(upserted);
        ArgumentNullException.ThrowIfNull(removed);
        var map = _flags;
        foreach (var slug in removed)
        {
            map = map.Remove(slug);
        }

        foreach (var flag in upserted)
        {
            map = map.SetItem(flag);
        }

        return new FlagConfiguration(map);
    }

    /// <summary>Enumerates the flags, in no particular order, without allocating.</summary>
    public Enumerator GetEnumerator() => new(Ordered());

    IEnumerator<CompiledFlag> IEnumerable<CompiledFlag>.GetEnumerator() => ((IEnumerable<CompiledFlag>)Ordered()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => Ordered().GetEnumerator();

    private CompiledFlag[] Ordered()
    {
        var ordered = Volatile.Read(ref _ordered);
        if (ordered is null)
        {
            var list = new List<CompiledFlag>(_flags.Count);
            _flags.CopyTo(list);
            ordered = [.. list];
            Volatile.Write(ref _ordered, ordered);
        }

        return ordered;
    }

    /// <summary>Enumerates the flags of a configuration.</summary>
    public struct Enumerator : IEnumerator<CompiledFlag>
    {
        private readonly CompiledFlag[] _flags;
        private int _index;

        internal Enumerator(CompiledFlag[] flags)
        {
            _flags = flags;
            _index = -1;
        }

        /// <inheritdoc />
        public readonly CompiledFlag Current => _flags[_index];

        readonly object IEnumerator.Current => Current;

        /// <inheritdoc />
        public bool MoveNext() => ++_index < _flags.Length;

        /// <inheritdoc />
        public void Reset() => _index = -1;

        /// <inheritdoc />
        public readonly void Dispose()
        {
        }
    }
}

/// <summary>The outcome of loading one flag.</summary>
public sealed class FlagLoadResult
{
    internal FlagLoadResult(CompiledFlag? flag, IReadOnlyList<ConfigurationError> errors)
    {
        Flag = flag;
        Errors = errors;
    }

    /// <summary>The compiled flag; null when it could not be read (or, in strict mode, is invalid).</summary>
    public CompiledFlag? Flag { get; }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<ConfigurationError> Errors { get; }
}
