using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flagstaff.Cli.Infrastructure;
using Flagstaff.Dashboard.Model;
using Flagstaff.Management.Services;

namespace Flagstaff.Cli.Commands;

/// <summary>
/// Projects, environments, flags, targeting, history and API keys: each subcommand is one or two calls
/// of the management API, printed as a table on a terminal or as the server's JSON otherwise.
/// </summary>
internal static class ManageCommands
{
    public static IEnumerable<Command> Create(CliHost cli) =>
        [Projects(cli), Environments(cli), Flags(cli), Targeting(cli), History(cli), Revert(cli), Keys(cli)];

    internal static string S(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var text) => text,
        _ => node.ToJsonString(),
    };

    private static readonly string[] ReadOnlyTargetingFields = ["environment", "version", "updatedAt"];

    private static Argument<string> KeyArgument(string name, string description) => new(name) { Description = description };

    private static Command Projects(CliHost cli)
    {
        var archived = new Option<bool>("--archived") { Description = "Include archived projects." };
        var list = new Command("list", "List projects.") { archived };
        cli.Action(list, async (context, parse, ct) =>
        {
            var response = await context.Api.GetAsync("api/projects" + (parse.GetValue(archived) ? "?archived=true" : ""), ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(response.Body);
            }
            else
            {
                context.WriteTable(["key", "name", "archived"], response.Json!.AsArray().Select(p => (IReadOnlyList<string>)[S(p!["key"]), S(p["name"]), p["archivedAt"] is null ? "" : "yes"]));
            }

            return ExitCodes.Success;
        });

        var key = KeyArgument("key", "The project key.");
        var get = new Command("get", "Show a project and its environments.") { key };
        cli.Action(get, async (context, parse, ct) =>
        {
            var project = parse.GetValue(key)!;
            var response = await context.Api.GetAsync(ManagementClient.Path("api/projects", project), ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(response.Body);
                return ExitCodes.Success;
            }

            var p = response.Json!;
            context.Say($"{S(p["key"])}: {S(p["name"])}{(p["archivedAt"] is null ? "" : " (archived)")}");
            if (p["description"] is { } description)
            {
                context.Say(S(description));
            }

            context.Say($"stickiness property: {S(p["stickinessProperty"])}, version {S(p["version"])}");
            var environments = (await context.Api.GetAsync(ManagementClient.Path("api/projects", project, "environments"), ct).ConfigureAwait(false)).Json!.AsArray();
            context.WriteTable(["environment", "name", "critical"], environments.Select(e => (IReadOnlyList<string>)[S(e!["key"]), S(e["name"]), e["critical"]?.GetValue<bool>() == true ? "yes" : ""]));
            return ExitCodes.Success;
        });

        var name = new Option<string>("--name") { Description = "Display name.", Required = true };
        var description = new Option<string?>("--description") { Description = "Free text." };
        var envs = new Option<string?>("--environments") { Description = "Environment keys, comma-separated (default: development,staging,production)." };
        var create = new Command("create", "Create a project.") { key, name, description, envs };
        cli.Action(create, async (context, parse, ct) =>
        {
            var body = new JsonObject { ["key"] = parse.GetValue(key), ["name"] = parse.GetValue(name), ["description"] = parse.GetValue(description) };
            if (parse.GetValue(envs) is { } list)
            {
                body["environments"] = new JsonArray([.. Split(list).Select(e => (JsonNode)new JsonObject { ["key"] = e, ["name"] = CultureInfo.InvariantCulture.TextInfo.ToTitleCase(e) })]);
            }

            var response = await context.Api.SendJsonAsync(HttpMethod.Post, "api/projects", body, null, ct).ConfigureAwait(false);
            return Done(context, response, $"Created project {parse.GetValue(key)}.");
        });

        return new Command("projects", "List, show, create, archive, restore and delete projects.")
        {
            list, get, create,
            Simple(cli, "archive", "Archive a project: none of its flags are served.", key, (p, _) => (HttpMethod.Post, ManagementClient.Path("api/projects", p) + "/archive", false), "Archived project {0}."),
            Simple(cli, "restore", "Restore an archived project.", key, (p, _) => (HttpMethod.Post, ManagementClient.Path("api/projects", p) + "/restore", false), "Restored project {0}."),
            Simple(cli, "delete", "Delete an archived project and everything in it, for good.", key, (p, _) => (HttpMethod.Delete, ManagementClient.Path("api/projects", p), true), "Deleted project {0}."),
        };
    }

    private static Command Environments(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var list = new Command("list", "List a project's environments in display order.") { projectOption };
        cli.Action(list, async (context, parse, ct) =>
        {
            var response = await context.Api.GetAsync(ManagementClient.Path("api/projects", CliContext.RequireProject(parse, projectOption), "environments"), ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(response.Body);
            }
            else
            {
                context.WriteTable(["key", "name", "critical", "color"], response.Json!.AsArray().Select(e => (IReadOnlyList<string>)[S(e!["key"]), S(e["name"]), e["critical"]?.GetValue<bool>() == true ? "yes" : "", S(e["color"])]));
            }

            return ExitCodes.Success;
        });

        var key = KeyArgument("key", "The environment key.");
        var name = new Option<string>("--name") { Description = "Display name.", Required = true };
        var critical = new Option<bool>("--critical") { Description = "Mark it critical (changes ask for confirmation in the dashboard)." };
        var color = new Option<string?>("--color") { Description = "Colour, as #rrggbb." };
        var create = new Command("create", "Add an environment; every flag starts off in it.") { projectOption, key, name, critical, color };
        cli.Action(create, async (context, parse, ct) =>
        {
            var project = CliContext.RequireProject(parse, projectOption);
            var body = new JsonObject { ["key"] = parse.GetValue(key), ["name"] = parse.GetValue(name), ["critical"] = parse.GetValue(critical) };
            if (parse.GetValue(color) is { } c)
            {
                body["color"] = c;
            }

            var response = await context.Api.SendJsonAsync(HttpMethod.Post, ManagementClient.Path("api/projects", project, "environments"), body, null, ct).ConfigureAwait(false);
            return Done(context, response, $"Created environment {parse.GetValue(key)} in {project}.");
        });

        var delete = new Command("delete", "Delete an environment with its targeting and API keys.") { projectOption, key };
        cli.Action(delete, async (context, parse, ct) =>
        {
            var path = ManagementClient.Path("api/projects", CliContext.RequireProject(parse, projectOption), "environments", parse.GetValue(key)!);
            var current = await context.Api.GetAsync(path, ct).ConfigureAwait(false);
            var response = await context.Api.SendAsync(HttpMethod.Delete, path, null, current.Version, ct).ConfigureAwait(false);
            return Done(context, response, $"Deleted environment {parse.GetValue(key)}.");
        });

        return new Command("environments", "List, create and delete a project's environments.") { list, create, delete };
    }

    private static Command Flags(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var archived = new Option<string>("--archived") { Description = "false (default), true, or all.", DefaultValueFactory = _ => "false" };
        var search = new Option<string?>("--search", "-q") { Description = "Only flags whose key, name or description contain this." };
        var tag = new Option<string?>("--tag") { Description = "Only flags with this tag." };
        var list = new Command("list", "List a project's flags with their state in each environment.") { projectOption, archived, search, tag };
        cli.Action(list, async (context, parse, ct) =>
        {
            var project = CliContext.RequireProject(parse, projectOption);
            var query = $"?archived={Uri.EscapeDataString(parse.GetValue(archived)!)}"
                + (parse.GetValue(search) is { } q ? "&q=" + Uri.EscapeDataString(q) : "")
                + (parse.GetValue(tag) is { } t ? "&tag=" + Uri.EscapeDataString(t) : "");
            var flags = await ListFlagsAsync(context.Api, project, query, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonArray([.. flags.Select(f => JsonSerializer.SerializeToNode(f, ApiJson.Default.FlagDetails))]));
                return ExitCodes.Success;
            }

            var environments = flags.Count == 0 ? [] : flags[0].Environments.Select(e => e.Environment).ToList();
            context.WriteTable(
                ["key", "name", "kind", "type", .. environments],
                flags.Select(f => (IReadOnlyList<string>)[
                    f.Flag.Key + (f.Flag.ArchivedAt is null ? "" : " (archived)"), f.Flag.Name, Labels.Kind(f.Flag.Kind), Labels.ValueType(f.Flag.ValueType),
                    .. environments.Select(e => f.Environments.FirstOrDefault(t => t.Environment == e) is { } view ? (view.Enabled ? "on" : "off") : "")]));
            return ExitCodes.Success;
        });

        var flagArgument = KeyArgument("flag", "The flag key.");
        var get = new Command("get", "Show a flag, its variations, and its targeting in every environment.") { projectOption, flagArgument };
        cli.Action(get, async (context, parse, ct) =>
        {
            var response = await context.Api.GetAsync(FlagPath(parse, projectOption, flagArgument), ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(response.Body);
                return ExitCodes.Success;
            }

            var details = response.As(ApiJson.Default.FlagDetails);
            var flag = details.Flag;
            context.Say($"{flag.Key}: {flag.Name}{(flag.ArchivedAt is null ? "" : " (archived)")}");
            if (flag.Description is { Length: > 0 } description)
            {
                context.Say(description);
            }

            context.Say($"{Labels.Kind(flag.Kind)}, {Labels.ValueType(flag.ValueType)}{(flag.Tags.Count > 0 ? ", tags: " + string.Join(", ", flag.Tags) : "")}, version {flag.Version}");
            context.WriteTable(["variation", "value", "name"], flag.Variations.Select(v => (IReadOnlyList<string>)[v.Key, v.Fallback ? "fallback (inactive)" : JsonValues.Show(v.Value), v.Name ?? ""]));
            context.WriteTable(["environment", "switch", "targeting"], details.Environments.Select(t => (IReadOnlyList<string>)[t.Environment, t.Enabled ? "on" : "off", Describe.Summary(t)]));
            return ExitCodes.Success;
        });

        var name = new Option<string?>("--name") { Description = "Display name (default: the key)." };
        var description = new Option<string?>("--description") { Description = "Free text." };
        var kind = new Option<string?>("--kind") { Description = "release (default), kill-switch, experiment, operational or permission." };
        var type = new Option<string?>("--type") { Description = "boolean (default), string, number or json." };
        var tags = new Option<string?>("--tags") { Description = "Tags, comma-separated." };
        var variations = new Option<string?>("--variations") { Description = "Variations as a JSON array ([{\"key\":\"a\",\"value\":\"A\"},...]); default for a boolean: on and off." };
        var create = new Command("create", "Create a flag (off in every environment).") { projectOption, flagArgument, name, description, kind, type, tags, variations };
        cli.Action(create, async (context, parse, ct) =>
        {
            var project = CliContext.RequireProject(parse, projectOption);
            var key = parse.GetValue(flagArgument)!;
            var body = new JsonObject { ["key"] = key, ["name"] = parse.GetValue(name) ?? key, ["description"] = parse.GetValue(description), ["kind"] = parse.GetValue(kind), ["valueType"] = parse.GetValue(type) };
            if (parse.GetValue(tags) is { } t)
            {
                body["tags"] = new JsonArray([.. Split(t).Select(x => (JsonNode)x)]);
            }

            if (parse.GetValue(variations) is { } v)
            {
                body["variations"] = ParseJson(v, "--variations");
            }

            foreach (var empty in body.Where(p => p.Value is null).Select(p => p.Key).ToList())
            {
                body.Remove(empty);
            }

            var response = await context.Api.SendJsonAsync(HttpMethod.Post, ManagementClient.Path("api/projects", project, "flags"), body, null, ct).ConfigureAwait(false);
            return Done(context, response, $"Created flag {key} in {project} (off everywhere).");
        });

        var env = CliHost.EnvironmentOption();
        Command Switch(string verb, string description, string done)
        {
            var command = new Command(verb, description) { projectOption, flagArgument, env };
            cli.Action(command, async (context, parse, ct) =>
            {
                var path = FlagPath(parse, projectOption, flagArgument) + ManagementClient.Path("/environments", parse.GetValue(env)!) + "/" + verb;
                var response = await context.Api.SendAsync(HttpMethod.Post, path, null, null, ct).ConfigureAwait(false);
                return Done(context, response, string.Format(CultureInfo.InvariantCulture, done, parse.GetValue(flagArgument), parse.GetValue(env)));
            });
            return command;
        }

        Command FlagAction(string verb, string description, HttpMethod method, bool needsVersion, string done)
        {
            var command = new Command(verb, description) { projectOption, flagArgument };
            cli.Action(command, async (context, parse, ct) =>
            {
                var path = FlagPath(parse, projectOption, flagArgument);
                long? version = needsVersion ? (await context.Api.GetAsync(path, ct).ConfigureAwait(false)).Version : null;
                var response = await context.Api.SendAsync(method, path + (method == HttpMethod.Delete ? "" : "/" + verb), null, version, ct).ConfigureAwait(false);
                return Done(context, response, string.Format(CultureInfo.InvariantCulture, done, parse.GetValue(flagArgument)));
            });
            return command;
        }

        return new Command("flags", "List, show, create, switch, archive, restore and delete flags.")
        {
            list, get, create,
            Switch("on", "Turn a flag's main switch on in one environment.", "Turned {0} on in {1}."),
            Switch("off", "Turn a flag's main switch off in one environment: the kill switch.", "Turned {0} off in {1}."),
            FlagAction("archive", "Archive a flag: it is served to no one.", HttpMethod.Post, false, "Archived {0}."),
            FlagAction("restore", "Restore an archived flag.", HttpMethod.Post, false, "Restored {0}."),
            FlagAction("delete", "Delete an archived flag for good.", HttpMethod.Delete, true, "Deleted {0}."),
        };
    }

    private static Command Targeting(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var flagArgument = KeyArgument("flag", "The flag key.");
        var env = CliHost.EnvironmentOption();
        var get = new Command("get", "Show a flag's targeting in one environment (its JSON is what targeting set takes).") { projectOption, flagArgument, env };
        cli.Action(get, async (context, parse, ct) =>
        {
            var response = await context.Api.GetAsync(FlagPath(parse, projectOption, flagArgument) + ManagementClient.Path("/environments", parse.GetValue(env)!), ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(response.Body);
                return ExitCodes.Success;
            }

            var view = response.As(ApiJson.Default.TargetingView);
            context.Say($"{parse.GetValue(flagArgument)} in {view.Environment}: {(view.Enabled ? "on" : "off")}, version {view.Version}");
            for (int i = 0; i < view.Rules.Count; i++)
            {
                context.Say($"  rule {i + 1}: {Describe.Rule(view.Rules[i])}");
            }

            context.Say($"  everyone else: {Describe.Serve(view.DefaultServe)}");
            return ExitCodes.Success;
        });

        var file = new Option<FileInfo>("--file", "-f") { Description = "A JSON file: the targeting (enabled, rules, defaultServe), as targeting get --json writes it.", Required = true };
        var set = new Command("set", "Replace a flag's targeting in one environment from a file. A version in the file must still be current.") { projectOption, flagArgument, env, file };
        cli.Action(set, async (context, parse, ct) =>
        {
            var path = FlagPath(parse, projectOption, flagArgument) + ManagementClient.Path("/environments", parse.GetValue(env)!);
            var document = ParseJson(ReadText(parse.GetValue(file)!), parse.GetValue(file)!.Name) as JsonObject
                ?? throw new CliException($"{parse.GetValue(file)!.Name} must hold a JSON object", ExitCodes.InvalidInput);

            // What targeting get wrote carries its version: a change made since then is refused, not overwritten.
            long? version = document["version"] is JsonValue v && v.TryGetValue<long>(out long read) ? read : null;
            foreach (var readOnly in ReadOnlyTargetingFields)
            {
                document.Remove(readOnly);
            }

            version ??= (await context.Api.GetAsync(path, ct).ConfigureAwait(false)).Version;
            var response = await context.Api.SendJsonAsync(HttpMethod.Put, path, document, version, ct).ConfigureAwait(false);
            return Done(context, response, $"Set the targeting of {parse.GetValue(flagArgument)} in {parse.GetValue(env)} (version {response.Version}).");
        });

        return new Command("targeting", "Read and replace a flag's targeting in one environment.") { get, set };
    }

    private static Command History(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var flagArgument = KeyArgument("flag", "The flag key.");
        var limit = new Option<int>("--limit") { Description = "How many revisions (newest first; at most 500).", DefaultValueFactory = _ => 20 };
        var command = new Command("history", "List a flag's revisions, newest first, with what each changed.") { projectOption, flagArgument, limit };
        cli.Action(command, async (context, parse, ct) =>
        {
            // One more than shown, so the oldest shown revision has something to be compared with.
            int shown = Math.Clamp(parse.GetValue(limit), 1, 499);
            var response = await context.Api.GetAsync(FlagPath(parse, projectOption, flagArgument) + "/history?limit=" + (shown + 1).ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
            var revisions = response.As(ApiJson.Default.IReadOnlyListFlagRevision);
            if (context.Json)
            {
                context.WriteJson(JsonSerializer.SerializeToNode(revisions.Take(shown).ToList(), ApiJson.Default.IReadOnlyListFlagRevision));
                return ExitCodes.Success;
            }

            for (int i = 0; i < Math.Min(shown, revisions.Count); i++)
            {
                var r = revisions[i];
                context.Say($"revision {r.Revision}  {Labels.Time(r.At)}  {r.Actor.Name}  {Labels.Action(r.Action, r.Environment)}{(r.Comment is { Length: > 0 } c ? "  \u201c" + c + "\u201d" : "")}");
                var before = i + 1 < revisions.Count ? revisions[i + 1].Flag : null;
                foreach (var line in FlagDiff.Compare(before, r.Flag))
                {
                    context.Say($"    {line.Scope}: {line.Before ?? "(none)"} \u2192 {line.After ?? "(removed)"}");
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Revert(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var flagArgument = KeyArgument("flag", "The flag key.");
        var revision = new Argument<long>("revision") { Description = "The revision to make the flag as it was (flagstaff history lists them)." };
        var comment = new Option<string?>("--comment") { Description = "Why, for the history." };
        var command = new Command("revert", "Make a flag as it was at a revision, as a new recorded change.") { projectOption, flagArgument, revision, comment };
        cli.Action(command, async (context, parse, ct) =>
        {
            var path = FlagPath(parse, projectOption, flagArgument) + "/history/" + parse.GetValue(revision).ToString(CultureInfo.InvariantCulture) + "/revert";
            var body = parse.GetValue(comment) is { } c ? new JsonObject { ["comment"] = c } : null;
            var response = await context.Api.SendJsonAsync(HttpMethod.Post, path, body, null, ct).ConfigureAwait(false);
            return Done(context, response, $"Reverted {parse.GetValue(flagArgument)} to revision {parse.GetValue(revision)}.");
        });
        return command;
    }

    private static Command Keys(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var env = CliHost.EnvironmentOption();
        string KeysPath(ParseResult parse) => ManagementClient.Path("api/projects", CliContext.RequireProject(parse, projectOption), "environments", parse.GetValue(env)!, "keys");

        var list = new Command("list", "List an environment's API keys (never their secrets).") { projectOption, env };
        cli.Action(list, async (context, parse, ct) =>
        {
            var response = await context.Api.GetAsync(KeysPath(parse), ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(response.Body);
            }
            else
            {
                context.WriteTable(["id", "name", "kind", "prefix", "revoked"], response.Json!.AsArray().Select(k => (IReadOnlyList<string>)[S(k!["id"]), S(k["name"]), S(k["kind"]), S(k["prefix"]), k["revokedAt"] is null ? "" : S(k["revokedAt"])]));
            }

            return ExitCodes.Success;
        });

        var name = new Argument<string>("name") { Description = "What the key is for." };
        var kind = new Option<string>("--kind") { Description = "client (evaluation only) or server (also the configuration).", DefaultValueFactory = _ => "server" };
        var create = new Command("create", "Create an API key; its secret is printed this once.") { projectOption, env, name, kind };
        cli.Action(create, async (context, parse, ct) =>
        {
            var response = await context.Api.SendJsonAsync(HttpMethod.Post, KeysPath(parse), new JsonObject { ["name"] = parse.GetValue(name), ["kind"] = parse.GetValue(kind) }, null, ct).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(response.Body);
            }
            else
            {
                var created = response.Json!;
                context.Say($"Created {S(created["key"]!["kind"])} key {S(created["key"]!["name"])} (id {S(created["key"]!["id"])}).");
                context.Say("Its secret, shown this once (store it now; only a hash is kept):");
                context.Say(S(created["secret"]));
            }

            return ExitCodes.Success;
        });

        var id = new Argument<string>("id") { Description = "The key's id (keys list shows it)." };
        var revoke = new Command("revoke", "Revoke an API key: its requests are refused and its streams closed.") { projectOption, env, id };
        cli.Action(revoke, async (context, parse, ct) =>
        {
            var response = await context.Api.SendAsync(HttpMethod.Delete, KeysPath(parse) + "/" + Uri.EscapeDataString(parse.GetValue(id)!), null, null, ct).ConfigureAwait(false);
            return Done(context, response, $"Revoked key {parse.GetValue(id)}.");
        });

        return new Command("keys", "List, create and revoke an environment's API keys.") { list, create, revoke };
    }

    internal static async Task<IReadOnlyList<FlagDetails>> ListFlagsAsync(ManagementClient api, string project, string query, CancellationToken ct)
    {
        var all = new List<FlagDetails>();
        while (true)
        {
            var page = await api.GetAsync(
                ManagementClient.Path("api/projects", project, "flags") + query + $"&limit=500&offset={all.Count.ToString(CultureInfo.InvariantCulture)}", ApiJson.Default.FlagList, ct).ConfigureAwait(false);
            all.AddRange(page.Items);
            if (page.Items.Count == 0 || all.Count >= page.Total)
            {
                return all;
            }
        }
    }

    private static string FlagPath(ParseResult parse, Option<string> projectOption, Argument<string> flag) =>
        ManagementClient.Path("api/projects", CliContext.RequireProject(parse, projectOption), "flags", parse.GetValue(flag)!);

    private static Command Simple(CliHost cli, string verb, string description, Argument<string> key, Func<string, ParseResult, (HttpMethod Method, string Path, bool NeedsVersion)> route, string done)
    {
        var command = new Command(verb, description) { key };
        cli.Action(command, async (context, parse, ct) =>
        {
            var (method, path, needsVersion) = route(parse.GetValue(key)!, parse);
            long? version = needsVersion ? (await context.Api.GetAsync(path, ct).ConfigureAwait(false)).Version : null;
            var response = await context.Api.SendAsync(method, path, null, version, ct).ConfigureAwait(false);
            return Done(context, response, string.Format(CultureInfo.InvariantCulture, done, parse.GetValue(key)));
        });
        return command;
    }

    private static int Done(CliContext context, ApiResponse response, string message)
    {
        if (context.Json)
        {
            context.WriteJson(response.Body.Length == 0 ? new JsonObject { ["ok"] = true } : JsonNode.Parse(response.Body));
        }
        else
        {
            context.Say(message);
        }

        return ExitCodes.Success;
    }

    internal static IEnumerable<string> Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    internal static JsonNode ParseJson(string text, string where)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) ?? throw new CliException($"{where}: null is not accepted", ExitCodes.InvalidInput);
        }
        catch (JsonException e)
        {
            throw new CliException($"{where} is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", ExitCodes.InvalidInput);
        }
    }

    internal static string ReadText(FileInfo file)
    {
        try
        {
            return File.ReadAllText(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {file.FullName}: {e.Message}", ExitCodes.InvalidInput);
        }
    }
}
