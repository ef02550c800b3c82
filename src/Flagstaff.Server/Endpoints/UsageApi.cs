using Flagstaff.Domain;
using Flagstaff.Server.Security;
using Flagstaff.Server.Services;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.Endpoints;

/// <summary>Usage: what SDKs reported evaluating (<c>POST /report</c>), per flag, value and time.</summary>
public static class UsageApi
{
    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        var usage = app.MapGroup("/api/projects/{project}").WithTags("Usage");
        usage.MapGet("/flags/{flag}/usage", Get).RequireRole(Role.Viewer)
            .WithSummary("A flag's evaluations in one environment per value over time, as SDKs reported them.")
            .WithDescription(
                "?environment= (required), from= and to= (ISO 8601; default the day up to now), bucket= (minutes, 1 to 1440; default chosen from the period: "
                + "1 for an hour, 15 for a day, 60 for a week). The period is widened to whole buckets aligned in UTC and every bucket is listed, empty ones included; "
                + "each bucket's counts follow the order of values (largest total first). Usage is kept for 30 days.");
        usage.MapGet("/last-evaluated", LastEvaluated).RequireRole(Role.Viewer)
            .WithSummary("When each flag was last evaluated, by environment key then flag key (the start of that minute); flags not evaluated in the 30 days usage is kept are absent.");
        return app;
    }

    private static async Task<Ok<FlagUsage>> Get(
        string project, string flag, string? environment, DateTimeOffset? from, DateTimeOffset? to, int? bucket, UsageService usage, CancellationToken cancellationToken) =>
        TypedResults.Ok(await usage.GetAsync(project, flag, environment, from, to, bucket, cancellationToken));

    private static async Task<Ok<LastEvaluated>> LastEvaluated(string project, UsageService usage, CancellationToken cancellationToken) =>
        TypedResults.Ok(await usage.LastEvaluatedAsync(project, cancellationToken));
}
