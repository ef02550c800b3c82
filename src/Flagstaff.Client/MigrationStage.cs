using Flagstaff.Evaluation;

namespace Flagstaff.Client;

/// <summary>
/// Where a migration from an old store to a new one stands for a context: which sides are written and
/// read, and which one is authoritative (docs/adr/0004-migrations.md).
/// </summary>
public enum MigrationStage
{
    /// <summary>Writes and reads go to old only. What a disabled or inactive flag, or a value that is not a stage, gives.</summary>
    Off,

    /// <summary>Writes go to old, then new; old is authoritative. Reads go to old only.</summary>
    DualWrite,

    /// <summary>Writes go to old, then new; reads go to both in parallel, are compared (sampled), and old's result is returned.</summary>
    Shadow,

    /// <summary>Writes go to new, then old; reads go to both in parallel, are compared (sampled), and new's result is returned.</summary>
    Live,

    /// <summary>Writes go to new, then old; reads go to new only.</summary>
    Rampdown,

    /// <summary>Writes and reads go to new only: the old side no longer has the data.</summary>
    Complete,
}

/// <summary>One of the two stores of a migration.</summary>
public enum MigrationSide
{
    /// <summary>The store being migrated from.</summary>
    Old,

    /// <summary>The store being migrated to.</summary>
    New,
}

/// <summary>The two kinds of call a migration makes.</summary>
public enum MigrationOperation
{
    /// <summary>A read (<see cref="Migration{TReadInput, TReadResult, TWriteInput, TWriteResult}.ReadAsync"/>).</summary>
    Read,

    /// <summary>A write (<see cref="Migration{TReadInput, TReadResult, TWriteInput, TWriteResult}.WriteAsync"/>).</summary>
    Write,
}

/// <summary>The stage names of the wire format and their plans.</summary>
public static class MigrationStages
{
    /// <summary>The name a stage has as a migration flag's variation (<c>off</c>, <c>dualwrite</c>, <c>shadow</c>, <c>live</c>, <c>rampdown</c>, <c>complete</c>).</summary>
    /// <param name="stage">The stage.</param>
    public static string ToName(this MigrationStage stage) => stage switch
    {
        MigrationStage.DualWrite => MigrationStageNames.DualWrite,
        MigrationStage.Shadow => MigrationStageNames.Shadow,
        MigrationStage.Live => MigrationStageNames.Live,
        MigrationStage.Rampdown => MigrationStageNames.Rampdown,
        MigrationStage.Complete => MigrationStageNames.Complete,
        _ => MigrationStageNames.Off,
    };

    /// <summary>Reads a stage name; false (and <see cref="MigrationStage.Off"/>) for anything else.</summary>
    /// <param name="name">A variation value.</param>
    /// <param name="stage">The stage named.</param>
    public static bool TryParse(string? name, out MigrationStage stage)
    {
        stage = name switch
        {
            MigrationStageNames.Off => MigrationStage.Off,
            MigrationStageNames.DualWrite => MigrationStage.DualWrite,
            MigrationStageNames.Shadow => MigrationStage.Shadow,
            MigrationStageNames.Live => MigrationStage.Live,
            MigrationStageNames.Rampdown => MigrationStage.Rampdown,
            MigrationStageNames.Complete => MigrationStage.Complete,
            _ => (MigrationStage)(-1),
        };
        if ((int)stage < 0)
        {
            stage = MigrationStage.Off;
            return false;
        }

        return true;
    }

    /// <summary>The side whose result a read returns and whose write must succeed: old up to <see cref="MigrationStage.Shadow"/>, new from <see cref="MigrationStage.Live"/>.</summary>
    /// <param name="stage">The stage.</param>
    public static MigrationSide Authoritative(this MigrationStage stage) => stage >= MigrationStage.Live ? MigrationSide.New : MigrationSide.Old;

    /// <summary>Whether the stage writes both sides (<see cref="MigrationStage.DualWrite"/> to <see cref="MigrationStage.Rampdown"/>).</summary>
    /// <param name="stage">The stage.</param>
    public static bool WritesBoth(this MigrationStage stage) => stage is >= MigrationStage.DualWrite and <= MigrationStage.Rampdown;

    /// <summary>Whether the stage reads both sides and compares them (<see cref="MigrationStage.Shadow"/>, <see cref="MigrationStage.Live"/>).</summary>
    /// <param name="stage">The stage.</param>
    public static bool ReadsBoth(this MigrationStage stage) => stage is MigrationStage.Shadow or MigrationStage.Live;
}
