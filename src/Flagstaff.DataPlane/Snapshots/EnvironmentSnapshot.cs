using System.Collections.Immutable;
using System.Globalization;
using Flagstaff.Domain;
using Flagstaff.Evaluation;

namespace Flagstaff.DataPlane.Snapshots;

/// <summary>
/// One environment's compiled configuration at one version: what every evaluation endpoint and stream
/// answers from. Immutable; a change produces a new snapshot, swapped in whole, so no request ever sees
/// half of a change.
/// </summary>
public sealed class EnvironmentSnapshot
{
    private const int HistoryLength = 512;
    private byte[]? _configJson;

    private EnvironmentSnapshot(
        Project project, ProjectEnvironment environment, ImmutableDictionary<string, SnapshotFlag> flags,
        FlagConfiguration active, ImmutableList<(long Version, IReadOnlySet<string> Keys)> history, DateTimeOffset? committedAt)
    {
        CommittedAt = committedAt;
        Project = project;
        Environment = environment;
        Flags = flags;
        Active = active;
        History = history;
    }

    /// <summary>The project, as it was at this version.</summary>
    public Project Project { get; }

    /// <summary>The environment, as it was at this version.</summary>
    public ProjectEnvironment Environment { get; }

    /// <summary>The configuration version (the ETag of <c>GET /config</c>, the id of stream events).</summary>
    public long Version => Environment.ConfigVersion;

    /// <summary>Every flag of the project, compiled for this environment (disabled ones included).</summary>
    public ImmutableDictionary<string, SnapshotFlag> Flags { get; }

    /// <summary>The flags that are on, for the evaluation core.</summary>
    public FlagConfiguration Active { get; }

    /// <summary>The flag keys each recent version changed, oldest first (for streams that resume).</summary>
    internal ImmutableList<(long Version, IReadOnlySet<string> Keys)> History { get; }

    /// <summary>The body of <c>GET /config</c>: the flags that are on, built once per snapshot.</summary>
    public byte[] ConfigJson => _configJson ??= Serialize(Active.Select(f => Flags[f.Slug]));

    /// <summary>The <c>GET /config</c> ETag: the version, quoted.</summary>
    public string ETag => "\"" + Version.ToString(CultureInfo.InvariantCulture) + "\"";

    /// <summary>When the newest change this snapshot applied was committed (null for a snapshot loaded whole).</summary>
    public DateTimeOffset? CommittedAt { get; }

    /// <summary>This snapshot's count of contexts evaluated (folded into the metrics).</summary>
    public EvaluationCounter Evaluations { get; } = new();

    /// <summary>Counts contexts evaluated from this snapshot (every flag that is on, for each): no allocation.</summary>
    public void CountEvaluations(int contexts)
    {
        Evaluations.Add(contexts);

        // The metrics fold this snapshot's count for the last time once it is collected: it must stay
        // alive until the add is done.
        GC.KeepAlive(this);
    }

    /// <summary>The flags in the wire format, as one JSON array.</summary>
    public static byte[] Serialize(IEnumerable<SnapshotFlag> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        using var buffer = new MemoryStream();
        buffer.WriteByte((byte)'[');
        bool first = true;
        foreach (var flag in flags)
        {
            if (!first)
            {
                buffer.WriteByte((byte)',');
            }

            buffer.Write(flag.Json);
            first = false;
        }

        buffer.WriteByte((byte)']');
        return buffer.ToArray();
    }

    /// <summary>A snapshot of every flag of an environment, compiled.</summary>
    public static EnvironmentSnapshot Create(Project project, ProjectEnvironment environment, IEnumerable<SnapshotFlag> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var all = flags.ToImmutableDictionary(f => f.Key, StringComparer.Ordinal);
        var active = FlagConfiguration.Create(all.Values.Where(f => f.Enabled).Select(f => f.Evaluator));
        return new EnvironmentSnapshot(project, environment, all, active, [], null);
    }

    /// <summary>
    /// This snapshot with a patch applied; its cost grows with the number of changes, not of flags.
    /// The patch must start at this snapshot's version (<see cref="SnapshotPatch.FromVersion"/>).
    /// </summary>
    public EnvironmentSnapshot Apply(SnapshotPatch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        if (patch.FromVersion != Version)
        {
            throw new ArgumentException($"The patch starts at version {patch.FromVersion}, the snapshot is at {Version}.", nameof(patch));
        }

        var compiled = patch.Flags.ToDictionary(f => f.Key, StringComparer.Ordinal);
        var flags = Flags.ToBuilder();
        var upserted = new List<CompiledFlag>();
        var removed = new List<string>();
        foreach (var key in patch.ChangedKeys)
        {
            if (compiled.TryGetValue(key, out var flag))
            {
                flags[key] = flag;
                if (flag.Enabled)
                {
                    upserted.Add(flag.Evaluator);
                }
                else
                {
                    removed.Add(key);
                }
            }
            else
            {
                flags.Remove(key);
                removed.Add(key);
            }
        }

        var history = History.AddRange(patch.Changes.Select(c => (c.Version, (IReadOnlySet<string>)c.Changed.ToHashSet(StringComparer.Ordinal))));
        if (history.Count > HistoryLength)
        {
            history = history.RemoveRange(0, history.Count - HistoryLength);
        }

        var committedAt = patch.Changes.Count > 0 ? patch.Changes.Max(c => c.At) : (DateTimeOffset?)null;
        return new EnvironmentSnapshot(patch.Project, patch.Environment, flags.ToImmutable(), Active.WithChanges(upserted, removed), history, committedAt);
    }

    /// <summary>The flags changed after <paramref name="version"/>, or null when this snapshot's history does not reach back that far.</summary>
    public IReadOnlySet<string>? ChangedSince(long version)
    {
        if (version == Version)
        {
            return new HashSet<string>();
        }

        if (version > Version || History.IsEmpty || History[0].Version > version + 1)
        {
            return null;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (v, changed) in History)
        {
            if (v > version)
            {
                keys.UnionWith(changed);
            }
        }

        return keys;
    }
}
