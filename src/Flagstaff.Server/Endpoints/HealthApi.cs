using Flagstaff.Server.Evaluation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.Endpoints;

/// <summary>Liveness and readiness for load balancers and orchestrators.</summary>
public static class HealthApi
{
    public sealed record Readiness(string Status, string? Storage, DateTimeOffset? LastStorageContact, int Streams);

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Health").AllowAnonymous();
        group.ShortCircuit();
        group.MapGet("/live", () => TypedResults.Ok("live")).WithSummary("The process is up.");
        group.MapGet("/ready", Ready)
            .WithSummary("ready: serving from current configuration; degraded: the database is unreachable, evaluation answers from the last configuration (200); loading: not serving yet (503).");
        return app;
    }

    private static Results<Ok<Readiness>, JsonHttpResult<Readiness>> Ready(Snapshots snapshots, StreamHub streams)
    {
        if (!snapshots.IsLoaded)
        {
            return TypedResults.Json(new Readiness("loading", snapshots.StorageError, snapshots.LastStorageContact, streams.Count), statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var status = snapshots.StorageError is null ? "ready" : "degraded";
        return TypedResults.Ok(new Readiness(status, snapshots.StorageError, snapshots.LastStorageContact, streams.Count));
    }
}
