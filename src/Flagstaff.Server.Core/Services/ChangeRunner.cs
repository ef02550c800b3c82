using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.DataPlane.Changes;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;
using Flagstaff.Storage;

namespace Flagstaff.Server.Services;

/// <summary>
/// Records a change inside its transaction: the audit entry (who, when, from where, before and after)
/// and, when flags of an environment's configuration changed, the new configuration version. Before
/// the transaction commits, each changed environment's flags are compiled once, from what the
/// transaction wrote, into the patch this node's snapshots apply as it is (see <see cref="ChangeRunner"/>).
/// </summary>
public sealed class ChangeRecorder(StoreSession session, Actor actor, DateTimeOffset now, Webhooks.WebhookOutbox outbox)
{
    // Each environment whose configuration changed, and its version before the transaction.
    private readonly Dictionary<string, long> _changedFrom = new(StringComparer.Ordinal);

    public StoreSession Session { get; } = session;

    public Actor Actor { get; } = actor;

    public DateTimeOffset Now { get; } = now;

    public static JsonElement? ToJson<T>(T? value, JsonTypeInfo<T> info) where T : class =>
        value is null ? null : JsonSerializer.SerializeToElement(value, info);

    /// <summary>
    /// Records a change in the history and, in the same transaction, the webhook deliveries it causes:
    /// every change is recorded here, so no change is missed by webhooks either.
    /// </summary>
    public async Task AuditAsync(
        string resourceType, string resourceKey, string action, JsonElement? before, JsonElement? after,
        string? projectId = null, string? environmentId = null, string? flagId = null, long? revision = null, string? comment = null)
    {
        await Session.AppendAuditAsync(new AuditEntry
        {
            At = Now,
            Actor = Actor,
            ProjectId = projectId,
            EnvironmentId = environmentId,
            FlagId = flagId,
            ResourceType = resourceType,
            ResourceKey = resourceKey,
            Action = action,
            Revision = revision,
            Before = before,
            After = after,
            Comment = comment,
        }).ConfigureAwait(false);
        if (projectId is not null)
        {
            await outbox.RecordAsync(this, resourceType, resourceKey, action, before, after, projectId, environmentId, revision, comment).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records that flags of an environment changed and publishes it after commit. With no flags it
    /// records nothing, unless <paramref name="always"/> (a new environment must be announced).
    /// </summary>
    public async Task ConfigChangedAsync(string environmentId, IReadOnlyList<string> flagKeys, bool always = false)
    {
        if (flagKeys.Count == 0 && !always)
        {
            return;
        }

        var change = await Session.RecordConfigChangeAsync(environmentId, flagKeys, Now).ConfigureAwait(false);
        _changedFrom.TryAdd(environmentId, change.Version - 1);
        await Session.NotifyAsync(StoreSession.ConfigChannel, string.Create(CultureInfo.InvariantCulture, $"{environmentId}:{change.Version}")).ConfigureAwait(false);
    }

    /// <summary>
    /// Compiles the patch of every environment changed in this transaction, as the transaction wrote it
    /// (the one compile of the change on this node). A flag that does not compile throws here, and the
    /// transaction does not commit.
    /// </summary>
    internal async Task<IReadOnlyList<SnapshotPatch>> CompilePatchesAsync()
    {
        var patches = new List<SnapshotPatch>(_changedFrom.Count);
        foreach (var (environmentId, fromVersion) in _changedFrom)
        {
            // Null only when the environment was deleted in the same transaction: nothing to apply.
            if (await StoreChangeSource.ReadPatchAsync(Session, environmentId, fromVersion).ConfigureAwait(false) is { } patch)
            {
                patches.Add(patch);
            }
        }

        return patches;
    }
}

/// <summary>
/// Runs a change: one transaction with its audit entries, configuration changes and their compiled
/// patches; once it commits, the patches are published into the data plane, and the caller waits
/// (briefly) until this node's snapshots serve them. Every change is written through here.
/// </summary>
public sealed class ChangeRunner(Store store, TimeProvider clock, ChangeFeed feed, SnapshotCache snapshots, Webhooks.WebhookOutbox outbox)
{
    private static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(2);

    public DateTimeOffset Now => clock.GetUtcNow();

    public async Task<T> WriteAsync<T>(Actor actor, Func<ChangeRecorder, Task<T>> work, CancellationToken cancellationToken)
    {
        IReadOnlyList<SnapshotPatch> patches = [];
        var result = await store.WriteAsync(async s =>
        {
            var recorder = new ChangeRecorder(s, actor, clock.GetUtcNow(), outbox);
            var result = await work(recorder).ConfigureAwait(false);
            patches = await recorder.CompilePatchesAsync().ConfigureAwait(false);
            return result;
        }, cancellationToken).ConfigureAwait(false);
        if (patches.Count > 0)
        {
            foreach (var patch in patches)
            {
                feed.Publish(new ChangeNotice(patch.Environment.Id, patch.Version, patch));
            }

            await snapshots.WhenAppliedAsync(patches.Select(p => (p.Environment.Id, p.Version)), ApplyTimeout).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>A change that returns nothing.</summary>
    public Task WriteAsync(Actor actor, Func<ChangeRecorder, Task> work, CancellationToken cancellationToken) =>
        WriteAsync(actor, async change =>
        {
            await work(change).ConfigureAwait(false);
            return true;
        }, cancellationToken);
}
