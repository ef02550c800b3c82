namespace Flagstaff.Client;

/// <summary>
/// Describes a migration from an old store to a new one: how to read and write each side, how to
/// compare two reads, what to do with a failed write. Build it once and keep the
/// <see cref="Migration{TReadInput, TReadResult, TWriteInput, TWriteResult}"/> for the life of the client.
/// </summary>
/// <example>
/// <code>
/// var orders = new MigrationBuilder&lt;string, Order?, Order, bool&gt;(client, "orders-store")
///     .Read(old: (id, ct) =&gt; oldStore.GetAsync(id, ct), @new: (id, ct) =&gt; newStore.GetAsync(id, ct))
///     .Write(old: (order, ct) =&gt; oldStore.PutAsync(order, ct), @new: (order, ct) =&gt; newStore.PutAsync(order, ct))
///     .OnFailedWrite(failure =&gt; repairs.Enqueue(failure.Side, failure.Input))
///     .Build();
/// var user = EvaluationContext.CreateBuilder().Set("accountId", accountId).Build();
/// var order = (await orders.ReadAsync(user, orderId)).Value;
/// </code>
/// </example>
/// <typeparam name="TReadInput">What a read takes (an id, a query).</typeparam>
/// <typeparam name="TReadResult">What a read returns.</typeparam>
/// <typeparam name="TWriteInput">What a write takes (a record).</typeparam>
/// <typeparam name="TWriteResult">What a write returns.</typeparam>
public sealed class MigrationBuilder<TReadInput, TReadResult, TWriteInput, TWriteResult>
{
    private readonly FlagstaffClient _client;
    private readonly MigrationStageSource _stages;
    private Func<TReadInput, CancellationToken, Task<TReadResult>>? _readOld;
    private Func<TReadInput, CancellationToken, Task<TReadResult>>? _readNew;
    private Func<TWriteInput, CancellationToken, Task<TWriteResult>>? _writeOld;
    private Func<TWriteInput, CancellationToken, Task<TWriteResult>>? _writeNew;
    private Func<TReadResult, TReadResult, bool>? _compare;
    private Action<MigrationWriteFailure<TWriteInput>>? _onFailedWrite;

    /// <summary>Starts a migration driven by a migration flag, whose value for a context is its stage.</summary>
    /// <param name="client">The client that evaluates the flag and sends the measurements.</param>
    /// <param name="flag">The migration flag's slug.</param>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> or <paramref name="flag"/> is null.</exception>
    public MigrationBuilder(FlagstaffClient client, string flag)
        : this(client, new MigrationFlagStageSource(flag ?? throw new ArgumentNullException(nameof(flag))))
    {
    }

    private MigrationBuilder(FlagstaffClient client, MigrationStageSource stages)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _stages = stages;
    }

    /// <summary>
    /// Starts a migration driven by two ordinary boolean flags, as teams do without migration flags: a
    /// kill switch that lets writes reach new, and a routing flag that sends reads to new. Kill switch
    /// off: <see cref="MigrationStage.Off"/>; on, routing off: <see cref="MigrationStage.DualWrite"/>; both
    /// on: <see cref="MigrationStage.Rampdown"/> (new read and written first, old still written, so a
    /// failing new falls back to old). Such a migration is not measured on the server (no guards).
    /// </summary>
    /// <param name="client">The client that evaluates the flags.</param>
    /// <param name="writeToNewFlag">The kill switch: on lets writes reach new.</param>
    /// <param name="readFromNewFlag">The routing flag: on sends the context's reads to new.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public MigrationBuilder(FlagstaffClient client, string writeToNewFlag, string readFromNewFlag)
        : this(client, new TwoFlagStageSource(
            writeToNewFlag ?? throw new ArgumentNullException(nameof(writeToNewFlag)),
            readFromNewFlag ?? throw new ArgumentNullException(nameof(readFromNewFlag))))
    {
    }

    /// <summary>How to read each side, and optionally how to compare two reads (default: <see cref="EqualityComparer{T}.Default"/>).</summary>
    /// <param name="old">Reads the old store.</param>
    /// <param name="new">Reads the new store.</param>
    /// <param name="compare">Whether two results agree, old's first; it must not throw (a throw counts as a disagreement).</param>
    /// <returns>This builder.</returns>
    public MigrationBuilder<TReadInput, TReadResult, TWriteInput, TWriteResult> Read(
        Func<TReadInput, CancellationToken, Task<TReadResult>> old,
        Func<TReadInput, CancellationToken, Task<TReadResult>> @new,
        Func<TReadResult, TReadResult, bool>? compare = null)
    {
        _readOld = old ?? throw new ArgumentNullException(nameof(old));
        _readNew = @new ?? throw new ArgumentNullException(nameof(@new));
        _compare = compare;
        return this;
    }

    /// <summary>How to write each side.</summary>
    /// <param name="old">Writes the old store.</param>
    /// <param name="new">Writes the new store.</param>
    /// <returns>This builder.</returns>
    public MigrationBuilder<TReadInput, TReadResult, TWriteInput, TWriteResult> Write(
        Func<TWriteInput, CancellationToken, Task<TWriteResult>> old,
        Func<TWriteInput, CancellationToken, Task<TWriteResult>> @new)
    {
        _writeOld = old ?? throw new ArgumentNullException(nameof(old));
        _writeNew = @new ?? throw new ArgumentNullException(nameof(@new));
        return this;
    }

    /// <summary>
    /// What to do with a failed write to the side that is not authoritative (and with the write to new a
    /// failover skipped): typically, queue a repair. Called on the writing thread, so it should be quick;
    /// an exception it throws is logged and otherwise ignored.
    /// </summary>
    /// <param name="handler">Receives the flag, stage, side, context, input and exception.</param>
    /// <returns>This builder.</returns>
    public MigrationBuilder<TReadInput, TReadResult, TWriteInput, TWriteResult> OnFailedWrite(Action<MigrationWriteFailure<TWriteInput>> handler)
    {
        _onFailedWrite = handler ?? throw new ArgumentNullException(nameof(handler));
        return this;
    }

    /// <summary>Builds the migration.</summary>
    /// <returns>A thread-safe migration.</returns>
    /// <exception cref="InvalidOperationException"><see cref="Read"/> or <see cref="Write"/> was not called.</exception>
    public Migration<TReadInput, TReadResult, TWriteInput, TWriteResult> Build()
    {
        if (_readOld is null || _readNew is null)
        {
            throw new InvalidOperationException($"Migration \"{_stages.Flag}\" needs Read(old, new) before Build().");
        }

        if (_writeOld is null || _writeNew is null)
        {
            throw new InvalidOperationException($"Migration \"{_stages.Flag}\" needs Write(old, new) before Build().");
        }

        var comparer = EqualityComparer<TReadResult>.Default;
        return new Migration<TReadInput, TReadResult, TWriteInput, TWriteResult>(
            _client, _stages, _readOld, _readNew, _writeOld, _writeNew, _compare ?? comparer.Equals, _onFailedWrite);
    }
}
