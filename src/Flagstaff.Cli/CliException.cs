namespace Flagstaff.Cli;

/// <summary>A failure to report on standard error, with the exit code to return.</summary>
internal sealed class CliException(string message, int exitCode = CliApplication.InvalidInput) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
