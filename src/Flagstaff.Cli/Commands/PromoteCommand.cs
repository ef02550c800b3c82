using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flagstaff.Cli.Infrastructure;
using Flagstaff.Dashboard.Model;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Cli.Commands;

/// <summary>
/// <c>promote</c>: makes flags' targeting (main switch, rules, default) in one environment what it is
/// in another. Each change is written with the version of the target read at the start, so a change
/// someone made in between is refused by the server (409) rather than overwritten.
/// </summary>
internal static class PromoteCommand
{
    public static Command Create(CliHost cli)
    {
        var projectOption = cli.ProjectOption();
        var from = new Option<string>("--from") { Description = "The environment whose targeting is copied.", Required = true };
        var to = new Option<string>("--to") { Description = "The environment that gets it.", Required = true };
        var flags = new Option<string?>("--flags") { Description = "Only these flags, comma-separated (default: every flag that differs)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the differences flag by flag and change nothing. Exit code 3 when something differs." };
        var command = new Command("promote", "Copy flags' targeting from one environment to another, with the versions read (refused if changed meanwhile).") { projectOption, from, to, flags, dryRun };
        cli.Action(command, async (context, parse, ct) =>
        {
            var project = CliContext.RequireProject(parse, projectOption);
            string source = parse.GetValue(from)!, target = parse.GetValue(to)!;
            if (source == target)
            {
                throw new CliException("--from and --to name the same environment", ExitCodes.InvalidInput);
            }

            var all = await ManageCommands.ListFlagsAsync(context.Api, project, "?archived=false", ct).ConfigureAwait(false);
            var chosen = parse.GetValue(flags) is { } list ? ManageCommands.Split(list).ToHashSet(StringComparer.Ordinal) : null;
            if (chosen?.FirstOrDefault(k => all.All(f => f.Flag.Key != k)) is { } unknown)
            {
                throw new CliException($"--flags names \"{unknown}\", which is not a flag of {project} (or is archived)", ExitCodes.InvalidInput);
            }

            var differences = new List<(FlagDetails Flag, TargetingView From, TargetingView To, IReadOnlyList<DiffLine> Lines)>();
            foreach (var flag in all.Where(f => chosen is null || chosen.Contains(f.Flag.Key)))
            {
                var a = flag.Environments.FirstOrDefault(e => e.Environment == source)
                    ?? throw new CliException($"{project} has no environment \"{source}\"", ExitCodes.InvalidInput);
                var b = flag.Environments.FirstOrDefault(e => e.Environment == target)
                    ?? throw new CliException($"{project} has no environment \"{target}\"", ExitCodes.InvalidInput);
                if (Same(a, b))
                {
                    continue;
                }

                var lines = FlagDiff.Compare(target, (b.Enabled, b.Rules, b.DefaultServe), (a.Enabled, a.Rules, a.DefaultServe));
                differences.Add((flag, a, b, lines.Count > 0 ? lines : [new DiffLine(target + " · targeting", "as now", "as in " + source)]));
            }

            var results = new List<(string Flag, string Outcome, string? Error)>();
            if (!parse.GetValue(dryRun))
            {
                foreach (var (flag, a, b, _) in differences)
                {
                    var body = new TargetingRequest { Enabled = a.Enabled, Rules = a.Rules, DefaultServe = a.DefaultServe };
                    try
                    {
                        await context.Api.SendAsync(
                            HttpMethod.Put, ManagementClient.Path("api/projects", project, "flags", flag.Flag.Key, "environments", target), body, ApiJson.Default.TargetingRequest, b.Version, ct).ConfigureAwait(false);
                        results.Add((flag.Flag.Key, "promoted", null));
                    }
                    catch (CliException e) when (e.Status is 409 or 400)
                    {
                        results.Add((flag.Flag.Key, e.Status == 409 ? "refused: changed meanwhile" : "refused: invalid", e.Message));
                    }
                }
            }

            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["project"] = project,
                    ["from"] = source,
                    ["to"] = target,
                    ["dryRun"] = parse.GetValue(dryRun),
                    ["flags"] = new JsonArray([.. differences.Select(d => (JsonNode)new JsonObject
                    {
                        ["key"] = d.Flag.Flag.Key,
                        ["version"] = d.To.Version,
                        ["outcome"] = results.FirstOrDefault(r => r.Flag == d.Flag.Flag.Key).Outcome ?? "pending",
                        ["error"] = results.FirstOrDefault(r => r.Flag == d.Flag.Flag.Key).Error,
                        ["lines"] = new JsonArray([.. d.Lines.Select(l => (JsonNode)new JsonObject { ["scope"] = l.Scope, ["before"] = l.Before, ["after"] = l.After })]),
                    })]),
                });
            }
            else
            {
                foreach (var (flag, _, b, lines) in differences)
                {
                    var outcome = results.FirstOrDefault(r => r.Flag == flag.Flag.Key).Outcome;
                    context.Say($"~ {flag.Flag.Key} ({target} at version {b.Version}){(outcome is null ? "" : ": " + outcome)}");
                    foreach (var line in lines)
                    {
                        context.Say($"    {line.Scope}: {line.Before ?? "(none)"} \u2192 {line.After ?? "(removed)"}");
                    }
                }

                context.Say(differences.Count == 0
                    ? $"No differences: {target} has {source}'s targeting."
                    : parse.GetValue(dryRun) ? $"{differences.Count} flag(s) would change in {target}." : $"{results.Count(r => r.Error is null)} of {differences.Count} flag(s) promoted to {target}.");
            }

            if (results.Any(r => r.Error is not null))
            {
                var refused = results.Where(r => r.Error is not null).Select(r => r.Flag);
                context.WriteError($"not promoted: {string.Join(", ", refused)} (changed in {target} since it was read)", ExitCodes.Failure, 409, "run promote again to see the current differences");
                return ExitCodes.Failure;
            }

            return parse.GetValue(dryRun) && differences.Count > 0 ? ExitCodes.ChangesPending : ExitCodes.Success;
        });
        return command;
    }

    // Rule ids are the environment's own; what is served is the same when everything else is.
    private static bool Same(TargetingView a, TargetingView b) =>
        Json(a) == Json(b);

    private static string Json(TargetingView view) => JsonSerializer.Serialize(
        new EnvironmentTargeting { Enabled = view.Enabled, Rules = [.. view.Rules.Select(r => r with { Id = null })], DefaultServe = view.DefaultServe },
        DomainJson.Default.EnvironmentTargeting);
}
