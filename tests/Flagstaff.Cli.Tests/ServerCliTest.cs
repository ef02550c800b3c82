using System.Text.Json.Nodes;
using Flagstaff.Cli.Infrastructure;
using Flagstaff.Testing;

namespace Flagstaff.Cli.Tests;

/// <summary>One real server on loopback (SQLite) for a test class.</summary>
public sealed class CliServer : IAsyncLifetime
{
    public ServerHost Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await ServerHost.StartAsync(DatabaseKind.Sqlite);

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The base of tests that run the CLI against the real server: each test has projects of its own and a
/// configuration folder of its own; <see cref="RunAsync"/> runs with FLAGSTAFF_URL and FLAGSTAFF_TOKEN set.
/// </summary>
public abstract class ServerCliTest(CliServer fixture) : IDisposable
{
    private readonly TempFolder _home = new();

    protected ServerHost Server => fixture.Server;

    protected HttpClient Admin { get; } = fixture.Server.Admin();

    protected string ConfigHome => _home.Path;

    protected static string UniqueKey(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The surroundings of a run: the server and token in the environment (unless <paramref name="variables"/> says otherwise).</summary>
    private protected CliEnvironment Environment(bool terminal = false, IDictionary<string, string?>? variables = null, string? input = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["FLAGSTAFF_URL"] = Server.Address.ToString(),
            ["FLAGSTAFF_TOKEN"] = ServerHost.AdminToken,
            ["XDG_CONFIG_HOME"] = _home.Path,
        };
        foreach (var (name, value) in variables ?? new Dictionary<string, string?>())
        {
            all[name] = value;
        }

        return new CliEnvironment { Variable = name => all.GetValueOrDefault(name), OutputIsTerminal = terminal, Input = new StringReader(input ?? "") };
    }

    protected Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => CliRunner.RunAsync(Environment(), args);

    protected Task<(int ExitCode, string Output, string Error)> RunTerminalAsync(params string[] args) => CliRunner.RunAsync(Environment(terminal: true), args);

    /// <summary>Runs and checks success, answering the JSON written.</summary>
    protected async Task<JsonNode> RunJsonAsync(params string[] args)
    {
        var (exitCode, output, error) = await RunAsync(args);
        Assert.True(exitCode == 0, $"exit {exitCode}: {error}");
        return JsonNode.Parse(output)!;
    }

    protected async Task<string> NewProjectAsync()
    {
        var key = UniqueKey("p");
        await Admin.CreateProjectAsync(key);
        return key;
    }

    protected Task<JsonNode> CreateFlagAsync(string project, string key, JsonObject? extra = null) => Admin.CreateFlagAsync(project, key, extra);

    public void Dispose()
    {
        Admin.Dispose();
        _home.Dispose();
        GC.SuppressFinalize(this);
    }
}
