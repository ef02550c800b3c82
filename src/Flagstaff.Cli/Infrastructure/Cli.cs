using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flagstaff.Cli.Infrastructure;

/// <summary>
/// One run of the tool: where it writes, its surroundings, and the options every command shares
/// (<c>--json</c>, <c>--project</c>). Commands get a <see cref="CliContext"/> per invocation.
/// </summary>
internal sealed class CliHost(TextWriter output, TextWriter error, CliEnvironment environment)
{
    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public CliEnvironment Environment { get; } = environment;

    public Option<bool> JsonOption { get; } = new("--json")
    {
        Description = "Write JSON (the default when the output is not a terminal); errors become one JSON line on stderr.",
        Recursive = true,
    };

    /// <summary>A <c>--project</c> option, defaulting to <c>FLAGSTAFF_PROJECT</c>.</summary>
    public Option<string> ProjectOption() => new("--project", "-p")
    {
        Description = "The project key (default: FLAGSTAFF_PROJECT).",
        DefaultValueFactory = _ => Environment.Variable("FLAGSTAFF_PROJECT") ?? "",
    };

    public static Option<string> EnvironmentOption(string description = "The environment key.") => new("--env", "-e")
    {
        Description = description,
        Required = true,
    };

    /// <summary>Sets a command's action: errors of every kind become one line on stderr and an exit code.</summary>
    public void Action(Command command, Func<CliContext, ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = new CliContext(this, parseResult.GetValue(JsonOption) || !Environment.OutputIsTerminal);
            try
            {
                return await action(context, parseResult, cancellationToken).ConfigureAwait(false);
            }
            catch (CliException e)
            {
                context.WriteError(e.Message, e.ExitCode, e.Status, e.Suggestion);
                return e.ExitCode;
            }
            catch (JsonException e)
            {
                context.WriteError($"unexpected JSON from the server: {e.Message}", ExitCodes.Failure, null, "check that FLAGSTAFF_URL points at a Flagstaff server");
                return ExitCodes.Failure;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                context.WriteError(e.Message, ExitCodes.Failure, null, null);
                return ExitCodes.Failure;
            }
            finally
            {
                context.Dispose();
            }
        });

    /// <summary>Writes an error line for a failure outside any command (bad usage).</summary>
    public void WriteError(bool json, string message, int exitCode, int? status, string? suggestion)
    {
        var line = OneLine(message);
        if (json)
        {
            var node = new JsonObject { ["error"] = line, ["exitCode"] = exitCode };
            if (status is not null)
            {
                node["status"] = status;
            }

            if (suggestion is not null)
            {
                node["suggestion"] = suggestion;
            }

            Error.WriteLine(node.ToJsonString(CompactJson));
        }
        else
        {
            Error.WriteLine(suggestion is null ? $"error: {line}" : $"error: {line} (hint: {suggestion})");
        }
    }

    private static string OneLine(string text) => string.Join("; ", text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public static readonly JsonSerializerOptions CompactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

/// <summary>One command's invocation: the output mode, the management API, and writers for both modes.</summary>
internal sealed class CliContext(CliHost cli, bool json) : IDisposable
{
    private ManagementClient? _api;

    /// <summary>Whether output is JSON (not a terminal, or <c>--json</c>) rather than human text.</summary>
    public bool Json { get; } = json;

    public TextWriter Output => cli.Output;

    public CliEnvironment Environment => cli.Environment;

    public Credentials Credentials => new(cli.Environment);

    public ManagementClient Api
    {
        get
        {
            if (_api is null)
            {
                var (url, token, _) = Credentials.Resolve();
                _api = new ManagementClient(url, token, cli.Environment.Handler);
            }

            return _api;
        }
    }

    public static string RequireProject(ParseResult parseResult, Option<string> option)
    {
        var project = parseResult.GetValue(option);
        if (string.IsNullOrEmpty(project))
        {
            throw new CliException("which project? give --project KEY or set FLAGSTAFF_PROJECT", ExitCodes.InvalidInput, suggestion: "flagstaff projects list shows the keys");
        }

        return project;
    }

    public void WriteError(string message, int exitCode, int? status, string? suggestion) => cli.WriteError(Json, message, exitCode, status, suggestion);

    public void WriteJson(JsonNode? node) => Output.WriteLine(node?.ToJsonString(CliHost.IndentedJson) ?? "null");

    public void WriteJson(byte[] body) => WriteJson(body.Length == 0 ? null : JsonNode.Parse(body));

    /// <summary>A line of human text (nothing in JSON mode).</summary>
    public void Say(string line)
    {
        if (!Json)
        {
            Output.WriteLine(line);
        }
    }

    /// <summary>Writes rows as an aligned table with a header line.</summary>
    public void WriteTable(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => i < r.Count ? r[i].Length : 0))).ToArray();
        var line = new StringBuilder();
        void Row(IReadOnlyList<string> cells)
        {
            line.Clear();
            for (int i = 0; i < headers.Count; i++)
            {
                var cell = i < cells.Count ? cells[i] : "";
                line.Append(i == headers.Count - 1 ? cell : cell.PadRight(widths[i] + 2));
            }

            Output.WriteLine(line.ToString().TrimEnd());
        }

        Row([.. headers.Select(h => h.ToUpperInvariant())]);
        foreach (var row in all)
        {
            Row(row);
        }

        if (all.Count == 0)
        {
            Output.WriteLine("(none)");
        }
    }

    public void Dispose() => _api?.Dispose();
}
