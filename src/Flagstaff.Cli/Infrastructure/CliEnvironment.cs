namespace Flagstaff.Cli.Infrastructure;

/// <summary>
/// What a run of the tool takes from its surroundings: environment variables, whether standard output
/// is a terminal, where the per-user files live. Tests give their own.
/// </summary>
internal sealed class CliEnvironment
{
    public required Func<string, string?> Variable { get; init; }

    /// <summary>Whether standard output is a terminal (human tables) rather than a pipe or a file (JSON).</summary>
    public bool OutputIsTerminal { get; init; }

    /// <summary>Standard input (for <c>login --token-stdin</c>).</summary>
    public TextReader Input { get; init; } = TextReader.Null;

    /// <summary>Where sent requests go; null for the network.</summary>
    public HttpMessageHandler? Handler { get; init; }

    public static CliEnvironment FromProcess() => new()
    {
        Variable = Environment.GetEnvironmentVariable,
        OutputIsTerminal = !Console.IsOutputRedirected,
        Input = Console.In,
    };

    /// <summary>
    /// The per-user configuration folder: <c>$FLAGSTAFF_CONFIG_DIR</c>, else <c>$XDG_CONFIG_HOME/flagstaff</c>,
    /// else <c>~/.config/flagstaff</c> (on Windows, the roaming application data folder).
    /// </summary>
    public string ConfigDirectory
    {
        get
        {
            if (Variable("FLAGSTAFF_CONFIG_DIR") is { Length: > 0 } explicitDirectory)
            {
                return explicitDirectory;
            }

            if (Variable("XDG_CONFIG_HOME") is { Length: > 0 } xdg)
            {
                return Path.Combine(xdg, "flagstaff");
            }

            if (OperatingSystem.IsWindows())
            {
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "flagstaff");
            }

            var home = Variable("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, ".config", "flagstaff");
        }
    }
}
