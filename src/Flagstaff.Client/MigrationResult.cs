using Flagstaff.Evaluation;

namespace Flagstaff.Client;

/// <summary>What a migration call did, for the caller to use and log.</summary>
/// <typeparam name="T">The result type of the side that answered.</typeparam>
public sealed class MigrationResult<T>
{
    internal MigrationResult(MigrationStage stage, MigrationOperation operation, MigrationSide side, T value, bool? consistent, bool failedOver, Exception? otherSideError)
    {
        Stage = stage;
        Operation = operation;
        Side = side;
        Value = value;
        Consistent = consistent;
        FailedOver = failedOver;
        OtherSideError = otherSideError;
    }

    /// <summary>The stage the flag gave the context.</summary>
    public MigrationStage Stage { get; }

    /// <summary>Whether this was a read or a write.</summary>
    public MigrationOperation Operation { get; }

    /// <summary>The side whose result <see cref="Value"/> is: the authoritative one, or old after a failover.</summary>
    public MigrationSide Side { get; }

    /// <summary>The result returned by <see cref="Side"/>.</summary>
    public T Value { get; }

    /// <summary>For a read in <see cref="MigrationStage.Shadow"/> or <see cref="MigrationStage.Live"/> that was compared: whether both sides agreed; otherwise null.</summary>
    public bool? Consistent { get; }

    /// <summary>
    /// Whether the authoritative side (new, in <see cref="MigrationStage.Live"/> or <see cref="MigrationStage.Rampdown"/>)
    /// failed and old answered instead.
    /// </summary>
    public bool FailedOver { get; }

    /// <summary>What the side that did not answer threw, when it threw (swallowed, counted, and for a write handed to the failed-write handler).</summary>
    public Exception? OtherSideError { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Operation} at {Stage.ToName()} answered by {Side}{(FailedOver ? " (failed over)" : "")}{(Consistent is { } c ? c ? ", consistent" : ", inconsistent" : "")}";
}

/// <summary>A non-authoritative write that failed (or the write to new that a failover skipped): the sides now differ for this input until it is repaired.</summary>
/// <typeparam name="TWriteInput">The migration's write input type.</typeparam>
public sealed class MigrationWriteFailure<TWriteInput>
{
    internal MigrationWriteFailure(string flag, MigrationStage stage, MigrationSide side, EvaluationContext context, TWriteInput input, Exception exception)
    {
        Flag = flag;
        Stage = stage;
        Side = side;
        Context = context;
        Input = input;
        Exception = exception;
    }

    /// <summary>The migration flag (for the two-flag pattern, the read routing flag).</summary>
    public string Flag { get; }

    /// <summary>The stage of the write.</summary>
    public MigrationStage Stage { get; }

    /// <summary>The side that was not written.</summary>
    public MigrationSide Side { get; }

    /// <summary>The context the write was made for.</summary>
    public EvaluationContext Context { get; }

    /// <summary>What was to be written.</summary>
    public TWriteInput Input { get; }

    /// <summary>What the side threw.</summary>
    public Exception Exception { get; }
}
