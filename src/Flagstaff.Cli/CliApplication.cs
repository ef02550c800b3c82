using System.CommandLine;
using Flagstaff.Cli.Commands;

namespace Flagstaff.Cli;

/// <summary>The command tree of the <c>flagstaff</c> tool.</summary>
internal static class CliApplication
{
    /// <summary>Exit code for success.</summary>
    public const int Success = 0;

    /// <summary>Exit code for a failure that is not the input's fault (network, server).</summary>
    public const int Failure = 1;

    /// <summary>Exit code for unreadable or invalid input, including bad usage.</summary>
    public const int InvalidInput = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Flagstaff: feature flags and safe releases, from the terminal.")
        {
            EvalCommand.Create(output, error),
        };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var parseError in parsed.Errors)
            {
                await error.WriteLineAsync($"error: {parseError.Message}").ConfigureAwait(false);
            }

            await error.WriteLineAsync("Run 'flagstaff --help' for usage.").ConfigureAwait(false);
            return InvalidInput;
        }

        var configuration = new InvocationConfiguration { Output = output, Error = error };
        return await parsed.InvokeAsync(configuration).ConfigureAwait(false);
    }
}
