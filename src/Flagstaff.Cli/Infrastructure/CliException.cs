namespace Flagstaff.Cli.Infrastructure;

/// <summary>
/// A failure to report on standard error as one line, with the exit code to return, the HTTP status
/// when the server refused, and a suggestion of what to do about it.
/// </summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.InvalidInput, int? status = null, string? suggestion = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public int? Status { get; } = status;

    public string? Suggestion { get; } = suggestion;
}
