using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Server.Streaming;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.Hosting;

/// <summary>Liveness and readiness for load balancers and orchestrators.</summary>
public static class HealthApi
{
    public sealed record Readiness(string Status, string? Storage, DateTimeOffset? LastStorageContact, int Streams);

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Health").AllowAnonymous();
        group.ShortCircuit();
        group.MapGet("/live", () => TypedResults.Ok("live")).WithName("GetLiveness").WithSummary("The process is up.");
        group.MapGet("/ready", Ready).WithName("GetReadiness").Produces<Readiness>(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("ready: serving from current configuration; degraded: the database is unreachable, evaluation answers from the last configuration (200); loading: not serving yet (503).");
        return app;
    }

    // Anyone may ask, so the answer says what is wrong in plain words; the driver's message, which
    // names hosts and ports, goes to the log only.
    private static Results<Ok<Readiness>, JsonHttpResult<Readiness>> Ready(SnapshotCache snapshots, StorageHealth health, StreamHub streams)
    {
        var problem = health.Problem ?? (snapshots.SourceError is null ? null : "The configuration could not be reloaded from the database.");
        var contact = Latest(health.LastAnswer, snapshots.LastSourceContact);
        if (!snapshots.IsLoaded)
        {
            return TypedResults.Json(new Readiness("loading", problem, contact, streams.Count), statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Ok(new Readiness(problem is null ? "ready" : "degraded", problem, contact, streams.Count));
    }

    private static DateTimeOffset? Latest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;
}
