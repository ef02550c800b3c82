using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flagstaff.Cli.Infrastructure;
using Flagstaff.Dashboard.Model;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Cli.Commands;

/// <summary>One thing a document would change on the server, or that differs from it.</summary>
/// <param name="Type">project, environment, segment, contextProperty or flag.</param>
/// <param name="Key">Its key.</param>
/// <param name="Action">create, update, or serverOnly (on the server, not in the file: import leaves it alone).</param>
/// <param name="Lines">What changes, in words (as the history shows it).</param>
internal sealed record PlannedChange(string Type, string Key, string Action, IReadOnlyList<DiffLine> Lines);

/// <summary>
/// <c>export</c>, <c>apply</c> and <c>diff</c>: a project as a file in the import/export format, with a
/// readable plan of what applying it changes. The plan mirrors what <c>POST /api/import</c> compares
/// (each flag's settings, and its targeting in each environment the file names), so a dry run that
/// reports nothing is an import that changes nothing.
/// </summary>
internal static class FlagsAsCodeCommands
{
    public static IEnumerable<Command> Create(CliHost cli) => [Export(cli), Apply(cli), Diff(cli)];

    private static Command Export(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write the document to this file (default: standard output)." };
        var command = new Command("export", "Write a project (environments, segments, context properties, flags with targeting) as one document.") { projectOption, output };
        cli.Action(command, async (context, parse, ct) =>
        {
            var project = CliContext.RequireProject(parse, projectOption);
            var response = await context.Api.GetAsync(ManagementClient.Path("api/projects", project) + "/export", ct).ConfigureAwait(false);
            var text = JsonNode.Parse(response.Body)!.ToJsonString(CliHost.IndentedJson) + "\n";
            if (parse.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, text, ct).ConfigureAwait(false);
                if (context.Json)
                {
                    context.WriteJson(new JsonObject { ["project"] = project, ["file"] = file.FullName });
                }
                else
                {
                    context.Say($"Exported {project} to {file.FullName}.");
                }
            }
            else
            {
                await context.Output.WriteAsync(text).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Apply(CliHost cli)
    {
        var file = new Argument<FileInfo>("file") { Description = "A document in the import/export format (as export writes it)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would change, per flag and environment, and change nothing. Exit code 3 when something would change." };
        var command = new Command("apply", "Create or update a project from a document, in one transaction (POST /api/import); it deletes nothing.") { file, dryRun };
        cli.Action(command, async (context, parse, ct) =>
        {
            var (bytes, document) = Read(parse.GetValue(file)!);
            var changes = await PlanAsync(context.Api, document, includeServerOnly: false, ct).ConfigureAwait(false);
            if (parse.GetValue(dryRun))
            {
                Write(context, document.Key, changes, applied: null, verb: "would change");
                return changes.Count > 0 ? ExitCodes.ChangesPending : ExitCodes.Success;
            }

            var response = await context.Api.SendAsync(HttpMethod.Post, "api/import", bytes, null, ct).ConfigureAwait(false);
            Write(context, document.Key, changes, response.As(ApiJson.Default.ImportResult), verb: "changed");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Diff(CliHost cli)
    {
        var file = new Argument<FileInfo>("file") { Description = "A document in the import/export format." };
        var command = new Command("diff", "Report drift between a document and the server, including what is on the server only. Exit code 3 when they differ.") { file };
        cli.Action(command, async (context, parse, ct) =>
        {
            var (_, document) = Read(parse.GetValue(file)!);
            var changes = await PlanAsync(context.Api, document, includeServerOnly: true, ct).ConfigureAwait(false);
            Write(context, document.Key, changes, applied: null, verb: "differs");
            return changes.Count > 0 ? ExitCodes.ChangesPending : ExitCodes.Success;
        });
        return command;
    }

    internal static (byte[] Bytes, ProjectDocument Document) Read(FileInfo file)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {file.FullName}: {e.Message}", ExitCodes.InvalidInput);
        }

        try
        {
            var document = JsonSerializer.Deserialize(bytes, DomainJson.Default.ProjectDocument)
                ?? throw new CliException($"{file.Name} holds null, not a project document", ExitCodes.InvalidInput);
            return (bytes, document);
        }
        catch (JsonException e)
        {
            throw new CliException($"{file.Name} is not a project document{(e.Path is { Length: > 1 } path ? " at " + path : "")}{(e.LineNumber is { } line ? $" (line {line + 1})" : "")}: {e.Message}", ExitCodes.InvalidInput);
        }
    }

    /// <summary>What importing <paramref name="document"/> would change, compared with the server's export of the project.</summary>
    internal static async Task<IReadOnlyList<PlannedChange>> PlanAsync(ManagementClient api, ProjectDocument document, bool includeServerOnly, CancellationToken ct)
    {
        ProjectDocument? current = null;
        try
        {
            current = await api.GetAsync(ManagementClient.Path("api/projects", document.Key) + "/export", DomainJson.Default.ProjectDocument, ct).ConfigureAwait(false);
        }
        catch (CliException e) when (e.Status == 404)
        {
            // A new project: everything in the document is created.
        }

        return Plan(current, document, includeServerOnly);
    }

    internal static IReadOnlyList<PlannedChange> Plan(ProjectDocument? current, ProjectDocument wanted, bool includeServerOnly)
    {
        var changes = new List<PlannedChange>();
        var lines = new List<DiffLine>();
        Field(lines, "Name", current?.Name, wanted.Name);
        Field(lines, "Description", current?.Description, wanted.Description);
        Field(lines, "Stickiness property", current?.StickinessProperty, wanted.StickinessProperty);
        if (current is null || lines.Count > 0)
        {
            changes.Add(new PlannedChange("project", wanted.Key, current is null ? "create" : "update", lines));
        }

        Compare(changes, "environment", current?.Environments ?? [], wanted.Environments, e => e.Key, DomainJson.Default.EnvironmentDocument, includeServerOnly);
        Compare(changes, "segment", current?.Segments ?? [], wanted.Segments, s => s.Key, DomainJson.Default.SegmentDocument, includeServerOnly);
        Compare(changes, "contextProperty", current?.ContextProperties ?? [], wanted.ContextProperties, p => p.Key, DomainJson.Default.ContextPropertyDocument, includeServerOnly);

        var names = (current?.Environments ?? []).Concat(wanted.Environments).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Key);
        foreach (var flag in wanted.Flags)
        {
            var before = current?.Flags.FirstOrDefault(f => f.Key == flag.Key);
            if (before is null)
            {
                changes.Add(new PlannedChange("flag", flag.Key, "create", FlagDiff.Compare(null, flag, names)));
                continue;
            }

            // Targeting is compared in the environments the file names only: import leaves the others alone.
            var named = before with { Environments = before.Environments.Where(e => flag.Environments.ContainsKey(e.Key)).ToDictionary(e => e.Key, e => e.Value) };
            bool settingsDiffer = Json(named with { Environments = new Dictionary<string, EnvironmentTargeting>() }) != Json(flag with { Environments = new Dictionary<string, EnvironmentTargeting>() });
            var targetingDiffers = flag.Environments.Where(e => !named.Environments.TryGetValue(e.Key, out var old)
                || JsonSerializer.Serialize(old, DomainJson.Default.EnvironmentTargeting) != JsonSerializer.Serialize(e.Value, DomainJson.Default.EnvironmentTargeting)).Select(e => e.Key).ToList();
            if (!settingsDiffer && targetingDiffers.Count == 0)
            {
                continue;
            }

            var described = FlagDiff.Compare(named, flag, names).ToList();
            if (described.Count == 0)
            {
                // Something the words of the history do not show (a variation's description, migration settings): say where.
                described.Add(new DiffLine(settingsDiffer ? "Settings" : string.Join(", ", targetingDiffers) + " · targeting", "as on the server", "as in the file"));
            }

            changes.Add(new PlannedChange("flag", flag.Key, "update", described));
        }

        if (includeServerOnly && current is not null)
        {
            foreach (var flag in current.Flags.Where(f => wanted.Flags.All(w => w.Key != f.Key)))
            {
                changes.Add(new PlannedChange("flag", flag.Key, "serverOnly", []));
            }
        }

        return changes;
    }

    private static string Json(FlagDocument flag) => JsonSerializer.Serialize(flag, DomainJson.Default.FlagDocument);

    private static void Field(List<DiffLine> lines, string scope, string? before, string? after)
    {
        if (before != after)
        {
            lines.Add(new DiffLine(scope, before, after));
        }
    }

    private static void Compare<T>(
        List<PlannedChange> changes, string type, IReadOnlyList<T> current, IReadOnlyList<T> wanted, Func<T, string> key,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> json, bool includeServerOnly)
    {
        foreach (var item in wanted)
        {
            var before = current.FirstOrDefault(c => key(c) == key(item));
            if (before is null)
            {
                changes.Add(new PlannedChange(type, key(item), "create", []));
                continue;
            }

            var oldFields = JsonSerializer.SerializeToNode(before, json)!.AsObject();
            var newFields = JsonSerializer.SerializeToNode(item, json)!.AsObject();
            var lines = newFields.Select(p => p.Key).Union(oldFields.Select(p => p.Key))
                .Where(name => !JsonNode.DeepEquals(oldFields[name], newFields[name]))
                .Select(name => new DiffLine(name, oldFields[name]?.ToJsonString(), newFields[name]?.ToJsonString()))
                .ToList();
            if (lines.Count > 0)
            {
                changes.Add(new PlannedChange(type, key(item), "update", lines));
            }
        }

        if (includeServerOnly)
        {
            foreach (var item in current.Where(c => wanted.All(w => key(w) != key(c))))
            {
                changes.Add(new PlannedChange(type, key(item), "serverOnly", []));
            }
        }
    }

    private static void Write(CliContext context, string project, IReadOnlyList<PlannedChange> changes, ImportResult? applied, string verb)
    {
        if (context.Json)
        {
            var node = new JsonObject
            {
                ["project"] = project,
                ["pending"] = applied is null && changes.Count > 0,
                ["changes"] = new JsonArray([.. changes.Select(c => (JsonNode)new JsonObject
                {
                    ["type"] = c.Type,
                    ["key"] = c.Key,
                    ["action"] = c.Action,
                    ["lines"] = new JsonArray([.. c.Lines.Select(l => (JsonNode)new JsonObject { ["scope"] = l.Scope, ["before"] = l.Before, ["after"] = l.After })]),
                })]),
            };
            if (applied is not null)
            {
                node["result"] = JsonSerializer.SerializeToNode(applied, ApiJson.Default.ImportResult);
            }

            context.WriteJson(node);
            return;
        }

        foreach (var change in changes)
        {
            var mark = change.Action switch { "create" => "+", "serverOnly" => "-", _ => "~" };
            var note = change.Action switch { "create" => " (new)", "serverOnly" => " (on the server only; apply leaves it)", _ => "" };
            context.Say($"{mark} {change.Type} {change.Key}{note}");
            foreach (var line in change.Lines)
            {
                context.Say($"    {line.Scope}: {line.Before ?? "(none)"} \u2192 {line.After ?? "(removed)"}");
            }
        }

        if (applied is not null)
        {
            context.Say($"Applied {project}: {applied.Created} created, {applied.Updated} updated, {applied.Unchanged} unchanged.");
        }
        else
        {
            context.Say(changes.Count == 0 ? $"No changes: the server matches the file for {project}." : $"{changes.Count} {(changes.Count == 1 ? "thing" : "things")} {verb} in {project}.");
        }
    }
}
