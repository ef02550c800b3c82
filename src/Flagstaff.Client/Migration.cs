using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Flagstaff.Client.Internal;
using Flagstaff.Evaluation;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Client;

/// <summary>
/// Reads and writes through an old and a new store as the stage the flag gives each context says
/// (docs/adr/0004-migrations.md): which sides are called, in what order, whose result is returned.
/// Built by <see cref="MigrationBuilder{TReadInput, TReadResult, TWriteInput, TWriteResult}"/>; thread-safe;
/// keep one per migration for the life of the client.
/// </summary>
/// <remarks>
/// The stage is evaluated locally from the client's configuration: a call never waits for the network
/// to learn it. A failure of the side that is not authoritative never reaches the caller: it is counted,
/// and a failed write is handed to the failed-write handler. A failure of the authoritative side is
/// thrown, except while old is still written (<see cref="MigrationStage.Live"/>, <see cref="MigrationStage.Rampdown"/>),
/// where a failed call to new falls back to old. Calls, errors, latencies and comparisons are measured
/// and sent to the server, whose guards roll a stage back when new misbehaves.
/// </remarks>
/// <typeparam name="TReadInput">What a read takes (an id, a query).</typeparam>
/// <typeparam name="TReadResult">What a read returns.</typeparam>
/// <typeparam name="TWriteInput">What a write takes (a record).</typeparam>
/// <typeparam name="TWriteResult">What a write returns.</typeparam>
public sealed class Migration<TReadInput, TReadResult, TWriteInput, TWriteResult>
{
    private readonly FlagstaffClient _client;
    private readonly MigrationStageSource _stages;
    private readonly MigrationFlagCounters _counters;
    private readonly Func<TReadInput, CancellationToken, Task<TReadResult>> _readOld;
    private readonly Func<TReadInput, CancellationToken, Task<TReadResult>> _readNew;
    private readonly Func<TWriteInput, CancellationToken, Task<TWriteResult>> _writeOld;
    private readonly Func<TWriteInput, CancellationToken, Task<TWriteResult>> _writeNew;
    private readonly Func<TReadResult, TReadResult, bool> _compare;
    private readonly Action<MigrationWriteFailure<TWriteInput>>? _onFailedWrite;
    private readonly ILogger _logger;
    private readonly ClientTelemetry _telemetry;

    internal Migration(
        FlagstaffClient client,
        MigrationStageSource stages,
        Func<TReadInput, CancellationToken, Task<TReadResult>> readOld,
        Func<TReadInput, CancellationToken, Task<TReadResult>> readNew,
        Func<TWriteInput, CancellationToken, Task<TWriteResult>> writeOld,
        Func<TWriteInput, CancellationToken, Task<TWriteResult>> writeNew,
        Func<TReadResult, TReadResult, bool> compare,
        Action<MigrationWriteFailure<TWriteInput>>? onFailedWrite)
    {
        _client = client;
        _stages = stages;

        // Only migration flags have measurements on the server; the two-flag pattern counts for nothing.
        _counters = stages.Reports ? client.Migrations.For(stages.Flag) : new MigrationFlagCounters(stages.Flag);
        _readOld = readOld;
        _readNew = readNew;
        _writeOld = writeOld;
        _writeNew = writeNew;
        _compare = compare;
        _onFailedWrite = onFailedWrite;
        _logger = client.Logger;
        _telemetry = client.Telemetry;
    }

    /// <summary>The migration flag (for the two-flag pattern, the read routing flag).</summary>
    public string Flag => _stages.Flag;

    /// <summary>The stage the flag gives a context now (what the next call for it would do).</summary>
    /// <param name="context">Who the call is for.</param>
    public MigrationStage GetStage(EvaluationContext context) => GetStage(_client.GetSnapshot(), context);

    /// <summary>The stage a configuration gives a context (for example the one a <see cref="FlagstaffClient.ConfigurationChanged"/> event brings).</summary>
    /// <param name="snapshot">A configuration of this migration's client.</param>
    /// <param name="context">Who the call would be for.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public MigrationStage GetStage(FlagSnapshot snapshot, EvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(context);
        return _stages.Resolve(snapshot, context, out _);
    }

    /// <summary>
    /// Reads as the context's stage says: old only (<c>off</c>, <c>dualwrite</c>); old and new in parallel,
    /// compared at the flag's compare rate, old returned (<c>shadow</c>); the same with new returned, or old's
    /// result when new fails (<c>live</c>); new only, then old when new fails (<c>rampdown</c>); new only (<c>complete</c>).
    /// </summary>
    /// <param name="context">Who the read is for: it decides the stage (targeting, percentages).</param>
    /// <param name="input">What to read.</param>
    /// <param name="cancellationToken">Passed to both sides.</param>
    /// <returns>The stage, the side that answered and its result, and whether the two sides agreed when compared.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <remarks>The authoritative side's exception is rethrown as it was when it failed and no failover applies.</remarks>
    public async Task<MigrationResult<TReadResult>> ReadAsync(EvaluationContext context, TReadInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var stage = _stages.Resolve(_client.GetSnapshot(), context, out double compareRate);
        var counters = _counters[stage, MigrationOperation.Read];
        switch (stage)
        {
            case MigrationStage.Off or MigrationStage.DualWrite or MigrationStage.Complete:
                {
                    var side = stage.Authoritative();
                    var only = await CallAsync(counters, stage, MigrationOperation.Read, side, Reader(side), input, cancellationToken).ConfigureAwait(false);
                    return Answer(stage, MigrationOperation.Read, side, only.Rethrow(), null, false, null);
                }

            case MigrationStage.Rampdown:
                {
                    var answer = await CallAsync(counters, stage, MigrationOperation.Read, MigrationSide.New, _readNew, input, cancellationToken).ConfigureAwait(false);
                    if (answer.Error is null)
                    {
                        return Answer(stage, MigrationOperation.Read, MigrationSide.New, answer.Value, null, false, null);
                    }

                    answer.RethrowIfCancelled(cancellationToken);
                    var fallback = await CallAsync(counters, stage, MigrationOperation.Read, MigrationSide.Old, _readOld, input, cancellationToken).ConfigureAwait(false);
                    if (fallback.Error is not null)
                    {
                        answer.Rethrow();
                    }

                    return Answer(stage, MigrationOperation.Read, MigrationSide.Old, fallback.Value, null, true, answer.Error);
                }

            default:
                {
                    // Shadow and live: both sides at once, the authoritative one started first.
                    var first = stage.Authoritative();
                    var second = first == MigrationSide.Old ? MigrationSide.New : MigrationSide.Old;
                    var firstCall = CallAsync(counters, stage, MigrationOperation.Read, first, Reader(first), input, cancellationToken);
                    var secondCall = CallAsync(counters, stage, MigrationOperation.Read, second, Reader(second), input, cancellationToken);
                    var answer = await firstCall.ConfigureAwait(false);
                    var other = await secondCall.ConfigureAwait(false);
                    if (answer.Error is null)
                    {
                        bool? consistent = other.Error is null && Sampled(compareRate) ? Compare(counters, stage, first, answer.Value, other.Value) : null;
                        return Answer(stage, MigrationOperation.Read, first, answer.Value, consistent, false, other.Error);
                    }

                    answer.RethrowIfCancelled(cancellationToken);
                    if (stage == MigrationStage.Live && other.Error is null)
                    {
                        return Answer(stage, MigrationOperation.Read, MigrationSide.Old, other.Value, null, true, answer.Error);
                    }

                    answer.Rethrow();
                    return null!;
                }
        }
    }

    /// <summary>
    /// Writes as the context's stage says: old only (<c>off</c>); old, then new once old succeeded
    /// (<c>dualwrite</c>, <c>shadow</c>); new, then old once new succeeded (<c>live</c>, <c>rampdown</c>;
    /// when new fails, old is written instead and the write to new handed to the failed-write handler);
    /// new only (<c>complete</c>).
    /// </summary>
    /// <param name="context">Who the write is for: it decides the stage.</param>
    /// <param name="input">What to write.</param>
    /// <param name="cancellationToken">Passed to both sides.</param>
    /// <returns>The stage, the side that answered and its result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <remarks>
    /// A failed write to the side that is not authoritative is swallowed, counted and handed to the
    /// failed-write handler (with the input, the side and the exception) so that it can be repaired.
    /// </remarks>
    public async Task<MigrationResult<TWriteResult>> WriteAsync(EvaluationContext context, TWriteInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var stage = _stages.Resolve(_client.GetSnapshot(), context, out _);
        var counters = _counters[stage, MigrationOperation.Write];
        var first = stage.Authoritative();
        var answer = await CallAsync(counters, stage, MigrationOperation.Write, first, Writer(first), input, cancellationToken).ConfigureAwait(false);
        if (!stage.WritesBoth())
        {
            return Answer(stage, MigrationOperation.Write, first, answer.Rethrow(), null, false, null);
        }

        if (answer.Error is null)
        {
            var second = first == MigrationSide.Old ? MigrationSide.New : MigrationSide.Old;
            var other = await CallAsync(counters, stage, MigrationOperation.Write, second, Writer(second), input, cancellationToken).ConfigureAwait(false);
            if (other.Error is not null)
            {
                FailedWrite(counters, stage, second, context, input, other.Error);
            }

            return Answer(stage, MigrationOperation.Write, first, answer.Value, null, false, other.Error);
        }

        answer.RethrowIfCancelled(cancellationToken);
        if (first == MigrationSide.Old)
        {
            answer.Rethrow();
        }

        // Live or rampdown: old is still written, so it takes the write and new is repaired later.
        var fallback = await CallAsync(counters, stage, MigrationOperation.Write, MigrationSide.Old, _writeOld, input, cancellationToken).ConfigureAwait(false);
        if (fallback.Error is not null)
        {
            answer.Rethrow();
        }

        FailedWrite(counters, stage, MigrationSide.New, context, input, answer.Error!);
        return Answer(stage, MigrationOperation.Write, MigrationSide.Old, fallback.Value, null, true, answer.Error);
    }

    private static MigrationResult<T> Answer<T>(MigrationStage stage, MigrationOperation operation, MigrationSide side, T value, bool? consistent, bool failedOver, Exception? otherSideError) =>
        new(stage, operation, side, value, consistent, failedOver, otherSideError);

    private static bool Sampled(double rate) => rate >= 1 || (rate > 0 && Random.Shared.NextDouble() < rate);

    private async Task<Outcome<TResult>> CallAsync<TInput, TResult>(
        MigrationCounters counters, MigrationStage stage, MigrationOperation operation, MigrationSide side, Func<TInput, CancellationToken, Task<TResult>> call, TInput input, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        Outcome<TResult> outcome;
        bool failed;
        try
        {
            outcome = new Outcome<TResult>(await call(input, cancellationToken).ConfigureAwait(false), null);
            failed = false;
        }
        catch (Exception e)
        {
            outcome = new Outcome<TResult>(default!, e);

            // The caller giving up is not the store failing.
            failed = !(e is OperationCanceledException && cancellationToken.IsCancellationRequested);
        }

        counters.Of(side).Record(started, failed);
        if (_telemetry.MigrationCallsEnabled)
        {
            _telemetry.RecordMigrationCall(_stages.Flag, stage, operation, side, Stopwatch.GetElapsedTime(started), failed ? outcome.Error : null);
        }

        return outcome;
    }

    private Func<TReadInput, CancellationToken, Task<TReadResult>> Reader(MigrationSide side) => side == MigrationSide.Old ? _readOld : _readNew;

    private Func<TWriteInput, CancellationToken, Task<TWriteResult>> Writer(MigrationSide side) => side == MigrationSide.Old ? _writeOld : _writeNew;

    private bool Compare(MigrationCounters counters, MigrationStage stage, MigrationSide authoritative, TReadResult answer, TReadResult other)
    {
        bool consistent;
        try
        {
            consistent = authoritative == MigrationSide.Old ? _compare(answer, other) : _compare(other, answer);
        }
        catch (Exception)
        {
            // A comparer that cannot compare two results has not shown them equal.
            consistent = false;
        }

        counters.Compared(consistent);
        _telemetry.RecordMigrationComparison(_stages.Flag, stage, consistent);
        return consistent;
    }

    private void FailedWrite(MigrationCounters counters, MigrationStage stage, MigrationSide side, EvaluationContext context, TWriteInput input, Exception error)
    {
        counters.FailedWrite();
        if (_onFailedWrite is null)
        {
            return;
        }

        try
        {
            _onFailedWrite(new MigrationWriteFailure<TWriteInput>(_stages.Flag, stage, side, context, input, error));
        }
        catch (Exception e)
        {
            Log.FailedWriteHandlerThrew(_logger, e, _stages.Flag);
        }
    }

    private readonly struct Outcome<T>(T value, Exception? error)
    {
        public T Value { get; } = value;

        public Exception? Error { get; } = error;

        public T Rethrow()
        {
            if (Error is not null)
            {
                ExceptionDispatchInfo.Throw(Error);
            }

            return Value;
        }

        public void RethrowIfCancelled(CancellationToken cancellationToken)
        {
            if (Error is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                ExceptionDispatchInfo.Throw(Error);
            }
        }
    }
}

/// <summary>Where a migration's stage for a context comes from.</summary>
internal abstract class MigrationStageSource
{
    /// <summary>The flag measurements and failed writes are named after.</summary>
    public abstract string Flag { get; }

    /// <summary>Whether measurements are sent to the server (only migration flags have them there).</summary>
    public abstract bool Reports { get; }

    public abstract MigrationStage Resolve(FlagSnapshot snapshot, EvaluationContext context, out double compareRate);
}

/// <summary>A migration flag: its value is the stage; disabled, inactive or not a stage is off.</summary>
internal sealed class MigrationFlagStageSource(string flag) : MigrationStageSource
{
    public override string Flag => flag;

    public override bool Reports => true;

    public override MigrationStage Resolve(FlagSnapshot snapshot, EvaluationContext context, out double compareRate)
    {
        compareRate = snapshot.CompareRate(flag) ?? 1;
        return MigrationStages.TryParse(snapshot.GetString(flag, context, "off"), out var stage) ? stage : MigrationStage.Off;
    }
}

/// <summary>
/// The two-ordinary-flags pattern: a kill switch that lets writes reach new, and a routing flag that
/// sends reads to new. Without the first, everything stays on old (<c>off</c>); with it alone, both are
/// written and old is read (<c>dualwrite</c>); with both, new is read and written first, old still
/// written as a way back (<c>rampdown</c>).
/// </summary>
internal sealed class TwoFlagStageSource(string writeToNewFlag, string readFromNewFlag) : MigrationStageSource
{
    public override string Flag => readFromNewFlag;

    public override bool Reports => false;

    public override MigrationStage Resolve(FlagSnapshot snapshot, EvaluationContext context, out double compareRate)
    {
        compareRate = 1;
        if (!snapshot.GetBoolean(writeToNewFlag, context, false))
        {
            return MigrationStage.Off;
        }

        return snapshot.GetBoolean(readFromNewFlag, context, false) ? MigrationStage.Rampdown : MigrationStage.DualWrite;
    }
}
