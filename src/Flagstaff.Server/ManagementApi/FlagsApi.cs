using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Flagstaff.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.ManagementApi;

/// <summary>Flags, their targeting per environment, the main switch, and their history.</summary>
public static class FlagsApi
{
    public const int MaxPageSize = 500;

    public static IEndpointRouteBuilder MapFlagsApi(this IEndpointRouteBuilder app)
    {
        var flags = app.MapGroup("/api/projects/{project}/flags").WithTags("Flags")
            .ProducesSignedInProblems().ProducesProblems(StatusCodes.Status404NotFound);
        flags.MapGet("/", List).RequireRole(Role.Viewer).WithName("ListFlags").ProducesProblems(StatusCodes.Status400BadRequest)
            .WithSummary("Lists a project's flags with their targeting: ?q= (key, name, description), tag, kind, archived (true, false, all), offset, limit (at most 500).");
        flags.MapPost("/", Create).RequireRole(Role.Editor).Accepts<CreateFlagRequest>("application/json").WithName("CreateFlag")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("Creates a flag (by default boolean, off everywhere).");
        flags.MapGet("/{flag}", Get).RequireRole(Role.Viewer).WithName("GetFlag").WithSummary("Reads a flag with its targeting in every environment.");
        flags.MapPatch("/{flag}", Update).RequireRole(Role.Editor).Accepts<UpdateFlagRequest>("application/json").WithName("UpdateFlag")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesVersionProblems()
            .WithSummary("Changes a flag's name, description, tags, kind or variations. Needs If-Match.");
        flags.MapPost("/{flag}/archive", Archive).RequireRole(Role.Editor).WithName("ArchiveFlag").ProducesChangeProblems()
            .WithSummary("Archives a flag: it is served to no one.");
        flags.MapPost("/{flag}/restore", Restore).RequireRole(Role.Editor).WithName("RestoreFlag").ProducesChangeProblems()
            .WithSummary("Restores an archived flag.");
        flags.MapDelete("/{flag}", Delete).RequireRole(Role.Editor).WithName("DeleteFlag").ProducesChangeProblems().ProducesVersionProblems()
            .WithSummary("Deletes an archived flag for good. Needs If-Match.");

        flags.MapGet("/{flag}/environments/{environment}", GetTargeting).RequireRole(Role.Viewer).WithName("GetTargeting")
            .WithSummary("Reads a flag's targeting in one environment.");
        flags.MapPut("/{flag}/environments/{environment}", PutTargeting).RequireRole(Role.Editor).Accepts<TargetingRequest>("application/json").WithName("UpdateTargeting")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesVersionProblems()
            .WithSummary("Replaces a flag's targeting in one environment (main switch, rules, default). Needs If-Match.");
        flags.MapPost("/{flag}/environments/{environment}/on", TurnOn).RequireRole(Role.Editor).WithName("TurnFlagOn").ProducesChangeProblems()
            .WithSummary("Turns the main switch on. Needs no version.");
        flags.MapPost("/{flag}/environments/{environment}/off", TurnOff).RequireRole(Role.Editor).WithName("TurnFlagOff").ProducesChangeProblems()
            .WithSummary("Turns the main switch off: the kill switch. Takes effect at once, needs no version.");

        flags.MapGet("/{flag}/history", History).RequireRole(Role.Viewer).WithName("ListFlagHistory").ProducesProblems(StatusCodes.Status400BadRequest)
            .WithSummary("Lists a flag's revisions, newest first (?before=revision&limit=).");
        flags.MapGet("/{flag}/history/{revision:long}", GetRevision).RequireRole(Role.Viewer).WithName("GetFlagRevision")
            .WithSummary("The flag as it was at a revision.");
        flags.MapPost("/{flag}/history/{revision:long}/revert", Revert).RequireRole(Role.Editor).Accepts<RevertRequest>("application/json").WithName("RevertFlag")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("Makes the flag as it was at a revision, as a new recorded change.")
            .WithDescription("The body is optional: {\"comment\": the reason, kept in the history; \"environments\": the environment keys whose targeting is restored (all when absent); \"settings\": false to keep the flag's current settings (name, description, tags, variations)}.");
        return app;
    }

    private static async Task<Ok<FlagList>> List(
        string project, string? q, string? tag, string? kind, string? archived, int? offset, int? limit, FlagService flags, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        if (offset < 0)
        {
            errors.Add("offset", "must not be negative");
        }

        if (limit is < 1 or > MaxPageSize)
        {
            errors.Add("limit", $"must be between 1 and {MaxPageSize}");
        }

        FlagKind? kindFilter = null;
        if (kind is not null)
        {
            try
            {
                kindFilter = System.Text.Json.JsonSerializer.Deserialize("\"" + kind + "\"", DomainJson.Default.FlagKind);
            }
            catch (System.Text.Json.JsonException)
            {
                errors.Add("kind", $"\"{Limits.Truncate(kind)}\" is not a kind: use release, kill-switch, experiment, operational, permission or migration");
            }
        }

        bool? archivedFilter = archived switch
        {
            null or "false" => false,
            "true" => true,
            "all" => null,
            _ => Invalid(errors),
        };
        errors.ThrowIfAny();
        var query = new FlagQuery { Search = q, Tag = tag, Kind = kindFilter, Archived = archivedFilter, Offset = offset ?? 0, Limit = limit ?? 50 };
        return TypedResults.Ok(await flags.ListAsync(project, query, cancellationToken));

        static bool? Invalid(ValidationErrors errors)
        {
            errors.Add("archived", "must be true, false or all");
            return false;
        }
    }

    private static async Task<Created<FlagDetails>> Create(string project, HttpContext context, FlagService flags, CancellationToken cancellationToken)
    {
        var details = await flags.CreateAsync(project, await RequestBody.ReadAsync(context, ApiJson.Default.CreateFlagRequest), context.ToActor(), cancellationToken);
        Versions.SetETag(context, details.Flag.Version);
        return TypedResults.Created($"/api/projects/{project}/flags/{details.Flag.Key}", details);
    }

    private static async Task<Ok<FlagDetails>> Get(string project, string flag, HttpContext context, FlagService flags, CancellationToken cancellationToken) =>
        WithETag(context, await flags.GetAsync(project, flag, cancellationToken));

    private static async Task<Ok<FlagDetails>> Update(string project, string flag, HttpContext context, FlagService flags, CancellationToken cancellationToken)
    {
        long expected = Versions.Expected(context);
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.UpdateFlagRequest);
        return WithETag(context, await flags.UpdateAsync(project, flag, request, expected, context.ToActor(), cancellationToken));
    }

    private static async Task<Ok<FlagDetails>> Archive(string project, string flag, HttpContext context, FlagService flags, CancellationToken cancellationToken) =>
        WithETag(context, await flags.ArchiveAsync(project, flag, context.ToActor(), cancellationToken));

    private static async Task<Ok<FlagDetails>> Restore(string project, string flag, HttpContext context, FlagService flags, CancellationToken cancellationToken) =>
        WithETag(context, await flags.RestoreAsync(project, flag, context.ToActor(), cancellationToken));

    private static async Task<NoContent> Delete(string project, string flag, HttpContext context, FlagService flags, CancellationToken cancellationToken)
    {
        await flags.DeleteAsync(project, flag, Versions.Expected(context), context.ToActor(), cancellationToken);
        return TypedResults.NoContent();
    }

    private static Ok<FlagDetails> WithETag(HttpContext context, FlagDetails details)
    {
        Versions.SetETag(context, details.Flag.Version);
        return TypedResults.Ok(details);
    }

    private static async Task<Ok<TargetingView>> GetTargeting(string project, string flag, string environment, HttpContext context, FlagService flags, CancellationToken cancellationToken) =>
        WithETag(context, await flags.GetTargetingAsync(project, flag, environment, cancellationToken));

    private static async Task<Ok<TargetingView>> PutTargeting(string project, string flag, string environment, HttpContext context, FlagService flags, CancellationToken cancellationToken)
    {
        long expected = Versions.Expected(context);
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.TargetingRequest);
        return WithETag(context, await flags.PutTargetingAsync(project, flag, environment, request, expected, context.ToActor(), cancellationToken));
    }

    private static async Task<Ok<TargetingView>> TurnOn(string project, string flag, string environment, HttpContext context, FlagService flags, CancellationToken cancellationToken) =>
        WithETag(context, await flags.SetEnabledAsync(project, flag, environment, true, context.ToActor(), cancellationToken));

    private static async Task<Ok<TargetingView>> TurnOff(string project, string flag, string environment, HttpContext context, FlagService flags, CancellationToken cancellationToken) =>
        WithETag(context, await flags.SetEnabledAsync(project, flag, environment, false, context.ToActor(), cancellationToken));

    private static Ok<TargetingView> WithETag(HttpContext context, TargetingView view)
    {
        Versions.SetETag(context, view.Version);
        return TypedResults.Ok(view);
    }

    private static async Task<Ok<IReadOnlyList<FlagRevision>>> History(string project, string flag, long? before, int? limit, FlagService flags, CancellationToken cancellationToken) =>
        TypedResults.Ok(await flags.HistoryAsync(project, flag, Math.Clamp(limit ?? 50, 1, MaxPageSize), before, cancellationToken));

    private static async Task<Ok<FlagRevision>> GetRevision(string project, string flag, long revision, FlagService flags, CancellationToken cancellationToken) =>
        TypedResults.Ok(await flags.GetRevisionAsync(project, flag, revision, cancellationToken));

    private static async Task<Ok<FlagDetails>> Revert(string project, string flag, long revision, HttpContext context, FlagService flags, CancellationToken cancellationToken)
    {
        var request = context.Request.ContentLength is null or 0 ? new RevertRequest() : await RequestBody.ReadAsync(context, ApiJson.Default.RevertRequest);
        return WithETag(context, await flags.RevertAsync(project, flag, revision, request, context.ToActor(), cancellationToken));
    }
}
