using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Flagstaff.Cli.CodeReferences;
using Flagstaff.Cli.Infrastructure;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Cli.Commands;

/// <summary>
/// <c>refs [PATH]</c>: where the project's flags are named in a source tree, which flags are named
/// nowhere (removal candidates), and which references name archived or unknown flags. With
/// <c>--upload</c> the result replaces the repository's previous scan on the server, where the flag
/// page shows it and stale-flag detection uses it.
/// </summary>
internal static class RefsCommand
{
    private static readonly string[] FailOnValues = ["archived", "unknown"];

    public static Command Create(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var path = new Argument<DirectoryInfo>("path") { Description = "The folder to scan (default: the current one).", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var config = new Option<FileInfo?>("--config") { Description = $"The configuration file (default: {string.Join(" or ", RefsConfig.FileNames)} in PATH, if there is one)." };
        var failOn = new Option<string?>("--fail-on") { Description = "Exit with 1 when references name flags of these kinds, comma-separated: archived, unknown." };
        var upload = new Option<bool>("--upload") { Description = "Send the result to the server, replacing the repository's previous scan (needs the editor role)." };
        var repository = new Option<string?>("--repository") { Description = $"The repository's name on the server (default: {CodeReferenceService.DefaultRepository}); each repository keeps its own last scan." };
        var branch = new Option<string?>("--branch") { Description = "The branch scanned, shown with the references." };
        var commit = new Option<string?>("--commit") { Description = "The commit scanned, shown with the references." };
        var command = new Command("refs", "Find the project's flags (keys and aliases) in a source tree; report unreferenced flags and references to archived or unknown ones.")
        {
            projectOption, path, config, failOn, upload, repository, branch, commit,
        };
        cli.Action(command, async (context, parse, ct) =>
        {
            var project = CliContext.RequireProject(parse, projectOption);
            var root = parse.GetValue(path)!;
            if (!root.Exists)
            {
                throw new CliException($"{root.FullName} is not a folder", ExitCodes.InvalidInput);
            }

            var failOnKinds = parse.GetValue(failOn) is { } list ? ManageCommands.Split(list).ToHashSet(StringComparer.Ordinal) : [];
            if (failOnKinds.FirstOrDefault(k => !FailOnValues.Contains(k)) is { } bad)
            {
                throw new CliException($"--fail-on takes archived and unknown, not \"{bad}\"", ExitCodes.InvalidInput);
            }

            var (settings, configFile) = RefsConfig.Load(root.FullName, parse.GetValue(config)?.FullName);
            var flags = await ManageCommands.ListFlagsAsync(context.Api, project, "?archived=all", ct).ConfigureAwait(false);
            var archived = flags.Where(f => f.Flag.ArchivedAt is not null).Select(f => f.Flag.Key).ToHashSet(StringComparer.Ordinal);
            var scanner = new CodeScanner(flags.Select(f => f.Flag.Key), settings);
            var result = scanner.Scan(root.FullName, configFile, ct);

            var byFlag = result.References.Where(r => r.Known).GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var unreferenced = flags.Where(f => f.Flag.ArchivedAt is null && !byFlag.ContainsKey(f.Flag.Key)).Select(f => f.Flag.Key).ToList();
            var toArchived = result.References.Where(r => r.Known && archived.Contains(r.Key)).ToList();
            var unknown = result.References.Where(r => !r.Known).ToList();
            var unknownAliases = (settings.Aliases?.Keys ?? []).Where(k => flags.All(f => f.Flag.Key != k)).Order(StringComparer.Ordinal).ToList();

            CodeReferenceScanView? uploaded = null;
            if (parse.GetValue(upload))
            {
                var body = UploadBody(byFlag, result, parse.GetValue(repository), parse.GetValue(branch), parse.GetValue(commit));
                var response = await context.Api.SendAsync(
                    HttpMethod.Put, ManagementClient.Path("api/projects", project, "code-references"), body, CodeReferenceJson.Default.UploadCodeReferencesRequest, null, ct).ConfigureAwait(false);
                uploaded = response.As(CodeReferenceJson.Default.CodeReferenceScanView);
            }

            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["project"] = project,
                    ["root"] = root.FullName,
                    ["config"] = configFile,
                    ["files"] = result.Files,
                    ["skipped"] = new JsonObject { ["binary"] = result.SkippedBinary, ["tooLarge"] = result.SkippedLarge },
                    ["elapsedMs"] = (long)result.Elapsed.TotalMilliseconds,
                    ["flags"] = new JsonArray([.. flags.Where(f => byFlag.ContainsKey(f.Flag.Key)).Select(f => (JsonNode)new JsonObject
                    {
                        ["key"] = f.Flag.Key,
                        ["archived"] = f.Flag.ArchivedAt is not null,
                        ["references"] = new JsonArray([.. byFlag[f.Flag.Key].Select(Node)]),
                    })]),
                    ["unreferenced"] = new JsonArray([.. unreferenced.Select(k => (JsonNode)k)]),
                    ["archivedReferences"] = new JsonArray([.. toArchived.Select(Node)]),
                    ["unknownReferences"] = new JsonArray([.. unknown.Select(Node)]),
                    ["unknownAliases"] = new JsonArray([.. unknownAliases.Select(k => (JsonNode)k)]),
                    ["uploaded"] = uploaded is null ? null : new JsonObject
                    {
                        ["repository"] = uploaded.Repository,
                        ["scannedAt"] = uploaded.ScannedAt.ToString("O", CultureInfo.InvariantCulture),
                        ["flags"] = uploaded.Flags.Count,
                    },
                });
            }
            else
            {
                foreach (var flag in flags.Where(f => byFlag.ContainsKey(f.Flag.Key)))
                {
                    var references = byFlag[flag.Flag.Key];
                    context.Say($"{flag.Flag.Key}{(flag.Flag.ArchivedAt is null ? "" : " (archived)")}: {Plural(references.Count, "reference")}");
                    foreach (var reference in references)
                    {
                        context.Say($"  {reference.Path}:{reference.Line.ToString(CultureInfo.InvariantCulture)}{(reference.Alias is null ? "" : $" (as {reference.Alias})")}  {reference.Context}");
                    }
                }

                context.Say(unreferenced.Count == 0 ? "Every active flag is referenced." : $"No reference (removal candidates): {string.Join(", ", unreferenced)}");
                if (toArchived.Count > 0)
                {
                    context.Say($"References to archived flags: {string.Join(", ", toArchived.Select(r => $"{r.Key} at {r.Path}:{r.Line.ToString(CultureInfo.InvariantCulture)}"))}");
                }

                if (unknown.Count > 0)
                {
                    context.Say($"References to unknown flags: {string.Join(", ", unknown.Select(r => $"{r.Key} at {r.Path}:{r.Line.ToString(CultureInfo.InvariantCulture)}"))}");
                }

                if (unknownAliases.Count > 0)
                {
                    context.Say($"The configuration gives aliases for flags {project} does not have: {string.Join(", ", unknownAliases)}");
                }

                context.Say(string.Create(CultureInfo.InvariantCulture,
                    $"Scanned {Plural(result.Files, "file")} in {result.Elapsed.TotalSeconds:0.00} s (skipped {result.SkippedBinary} binary, {result.SkippedLarge} over {CodeScanner.MaxFileBytes / 1024 / 1024} MiB)."));
                if (uploaded is not null)
                {
                    context.Say($"Uploaded to {project} as repository {uploaded.Repository}: {Plural(uploaded.Flags.Count, "flag")} referenced.");
                }
            }

            var failures = new List<string>();
            if (failOnKinds.Contains("archived") && toArchived.Count > 0)
            {
                failures.Add($"{Plural(toArchived.Count, "reference")} to archived flags ({string.Join(", ", toArchived.Select(r => r.Key).Distinct())})");
            }

            if (failOnKinds.Contains("unknown") && (unknown.Count > 0 || unknownAliases.Count > 0))
            {
                failures.Add($"{Plural(unknown.Count, "reference")} to unknown flags ({string.Join(", ", unknown.Select(r => r.Key).Concat(unknownAliases).Distinct())})");
            }

            if (failures.Count > 0)
            {
                context.WriteError(string.Join("; ", failures), ExitCodes.Failure, null, "remove the references, or restore or create the flags");
                return ExitCodes.Failure;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The upload: per flag the first references within the server's limits, and the total found.</summary>
    internal static UploadCodeReferencesRequest UploadBody(
        IReadOnlyDictionary<string, List<FoundReference>> byFlag, ScanResult result, string? repository, string? branch, string? commit)
    {
        int room = CodeReferenceLimits.MaxReferences;
        var flags = new List<FlagCodeReferences>();
        foreach (var (key, references) in byFlag.OrderBy(p => p.Key, StringComparer.Ordinal).Take(CodeReferenceLimits.MaxFlags))
        {
            var kept = references.Where(r => r.Path.Length <= CodeReferenceLimits.MaxPathLength)
                .Take(Math.Min(CodeReferenceLimits.MaxReferencesPerFlag, room))
                .Select(r => new CodeReference { Path = r.Path, Line = r.Line, Context = r.Context, Alias = r.Alias })
                .ToList();
            room -= kept.Count;
            flags.Add(new FlagCodeReferences { Key = key, Total = references.Count, References = kept });
        }

        return new UploadCodeReferencesRequest
        {
            Repository = repository,
            Branch = branch,
            Commit = commit,
            ScannedAt = DateTimeOffset.UtcNow,
            Files = result.Files,
            Flags = flags,
        };
    }

    private static JsonNode Node(FoundReference reference)
    {
        var node = new JsonObject { ["key"] = reference.Key, ["path"] = reference.Path, ["line"] = reference.Line, ["context"] = reference.Context };
        if (reference.Alias is not null)
        {
            node["alias"] = reference.Alias;
        }

        return node;
    }

    private static string Plural(int count, string noun) => count.ToString(CultureInfo.InvariantCulture) + " " + noun + (count == 1 ? "" : "s");
}
