using System.Collections.Concurrent;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>A project's context properties and their most recent values, as <c>GET /typing</c> lists them.</summary>
/// <param name="At">When it was read.</param>
/// <param name="Properties">The project's context properties.</param>
/// <param name="Values">Up to <see cref="TypingCatalogue.ValuesPerProperty"/> recent values per property.</param>
public sealed record ContextCatalogue(DateTimeOffset At, IReadOnlyList<ContextProperty> Properties, IReadOnlyList<(string Property, string Value, string? Label)> Values);

/// <summary>
/// The context catalogue of each project, read from the store at most once per <see cref="MaxAge"/>
/// whatever the request rate (<c>GET /typing</c> is called by build tools, sometimes in a loop).
/// </summary>
public sealed class TypingCatalogue(Store store, TimeProvider clock)
{
    /// <summary>How long a catalogue is served before it is read again.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);

    /// <summary>The most values listed per property.</summary>
    public const int ValuesPerProperty = 100;

    private readonly ConcurrentDictionary<string, ContextCatalogue> _projects = new(StringComparer.Ordinal);

    /// <summary>The project's catalogue, at most <see cref="MaxAge"/> old.</summary>
    public async Task<ContextCatalogue> GetAsync(string projectId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (_projects.TryGetValue(projectId, out var catalogue) && now - catalogue.At <= MaxAge)
        {
            return catalogue;
        }

        catalogue = await store.ReadAsync(
            async s => new ContextCatalogue(now, await s.ListContextPropertiesAsync(projectId).ConfigureAwait(false), await s.ListContextValuesAsync(projectId, ValuesPerProperty).ConfigureAwait(false)),
            cancellationToken).ConfigureAwait(false);
        _projects[projectId] = catalogue;
        return catalogue;
    }
}
