using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.ManagementApi;

/// <summary>Usage: what SDKs reported evaluating (<c>POST /report</c>), per flag, value and time.</summary>
public static class UsageApi
{
    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        var usage = app.MapGroup("/api/projects/{project}").WithTags("Usage").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status404NotFound);
        usage.MapGet("/flags/{flag}/usage", Get).RequireRole(Role.Viewer).WithName("GetFlagUsage").ProducesProblems(StatusCodes.Status400BadRequest)
            .WithSummary("A flag's evaluations in one environment per value over time, as SDKs reported them.")
            .WithDescription(
                "?environment= (required), from= and to= (ISO 8601; default the day up to now), bucket= (minutes, 1 to 1440; default chosen from the period: "
                + "1 for an hour, 15 for a day, 60 for a week). The period is widened to whole buckets aligned in UTC and every bucket is listed, empty ones included; "
                + "each bucket's counts follow the order of values (largest total first). Usage is kept for 30 days.");
        usage.MapGet("/last-evaluated", LastEvaluated).RequireRole(Role.Viewer).WithName("GetLastEvaluated")
            .WithSummary("When each flag was last evaluated, by environment key then flag key (the start of that minute); flags not evaluated in the 30 days usage is kept are absent.");
        usage.MapGet("/usage/dropped", Dropped).RequireRole(Role.Viewer).WithName("ListDroppedUsage")
            .WithSummary("What usage reports carried past a limit and was dropped, per reason, with when it last happened.")
            .WithDescription(
                "Reports are never refused for what they carry: a property name that breaks the rule (invalidProperty), names or values past the per-report limits "
                + "(reportPropertyLimit, reportValueLimit), new properties once the project has learned as many as allowed (catalogueFull), values that are not text, "
                + "too long, or of a property not in the catalogue (invalidValue), new values of a property that has as many as are remembered (propertyValuesFull), "
                + "usage of flags the project does not have (unknownFlag), under a client id that is too long (invalidUsage), past the series allowed per flag and "
                + "minute (flagSeriesFull), or while the backlog waiting for the database is full (backlogFull). Counts are of items (names, values, usage entries).");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<ReportDropCount>>> Dropped(string project, UsageService usage, CancellationToken cancellationToken) =>
        TypedResults.Ok(await usage.DroppedAsync(project, cancellationToken));

    private static async Task<Ok<FlagUsage>> Get(
        string project, string flag, string? environment, DateTimeOffset? from, DateTimeOffset? to, int? bucket, UsageService usage, CancellationToken cancellationToken) =>
        TypedResults.Ok(await usage.GetAsync(project, flag, environment, from, to, bucket, cancellationToken));

    private static async Task<Ok<LastEvaluated>> LastEvaluated(string project, UsageService usage, CancellationToken cancellationToken) =>
        TypedResults.Ok(await usage.LastEvaluatedAsync(project, cancellationToken));
}
