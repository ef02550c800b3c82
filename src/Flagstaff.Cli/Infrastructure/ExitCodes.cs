namespace Flagstaff.Cli.Infrastructure;

/// <summary>The exit codes of every command; documented in the README and never renumbered.</summary>
internal static class ExitCodes
{
    /// <summary>Success (for a dry run or a diff: nothing would change).</summary>
    public const int Success = 0;

    /// <summary>A failure that is not the input's fault: the server is unreachable, refused, or answered an error.</summary>
    public const int Failure = 1;

    /// <summary>Bad usage, or input the tool or the server found invalid (a problem naming the fields at fault).</summary>
    public const int InvalidInput = 2;

    /// <summary>A dry run or a diff found changes (like <c>terraform plan -detailed-exitcode</c>).</summary>
    public const int ChangesPending = 3;
}
