using System.CommandLine;
using Flagstaff.Cli.Commands;
using Flagstaff.Cli.Infrastructure;

namespace Flagstaff.Cli;

/// <summary>The command tree of the <c>flagstaff</c> tool.</summary>
internal static class CliApplication
{
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) =>
        RunAsync(args, output, error, CliEnvironment.FromProcess());

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CliEnvironment environment)
    {
        var cli = new CliHost(output, error, environment);
        var root = new RootCommand("Flagstaff: feature flags and safe releases, from the terminal. Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 changes pending (dry runs, diff).")
        {
            EvalCommand.Create(output, error),
        };
        root.Options.Add(cli.JsonOption);
        foreach (var command in AuthCommands.Create(cli).Concat(ManageCommands.Create(cli)).Concat(FlagsAsCodeCommands.Create(cli)).Append(PromoteCommand.Create(cli)).Append(RefsCommand.Create(cli)).Append(GenerateCommands.Create(cli)))
        {
            root.Subcommands.Add(command);
        }

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            bool json = args.Contains("--json", StringComparer.Ordinal) || !environment.OutputIsTerminal;
            cli.WriteError(json, string.Join("; ", parsed.Errors.Select(e => e.Message)), ExitCodes.InvalidInput, null, "run flagstaff --help (or flagstaff COMMAND --help) for usage");
            return ExitCodes.InvalidInput;
        }

        var configuration = new InvocationConfiguration { Output = output, Error = error };
        return await parsed.InvokeAsync(configuration).ConfigureAwait(false);
    }
}
