using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Server.Evaluation;
using Flagstaff.Server.Http;
using Flagstaff.Server.Security;
using Flagstaff.Server.Services;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.Endpoints;

/// <summary>
/// Migration flags (docs/adr/0004-migrations.md): measurements from SDKs (<c>POST /migrations/report</c>,
/// server key), a flag's status and metrics in an environment, and the emergency actions.
/// </summary>
public static class MigrationsApi
{
    /// <summary>The largest measurement report.</summary>
    public const long MaxReportBytes = 1 << 20;

    public static IEndpointRouteBuilder MapMigrationsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/migrations/report", Report).AllowAnonymous().WithTags("Migrations")
            .Accepts<MigrationReport>("application/json")
            .WithSummary("Takes migration measurements from an SDK (server key): calls, errors and latency per side, comparisons and failed writes, per flag, stage and operation.")
            .WithDescription("Answers 202 with how many measurements were accepted and which were ignored (flags that are not migration flags in the key's environment, stages not on the flag's path). "
                + "Body limit 1 MiB; bad input is a problem with the path of each field at fault (measurements[3].old.latency[2]).")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status202Accepted, typeof(MigrationReportResult), ["application/json"]))
            .ShortCircuit();

        var flags = app.MapGroup("/api/projects/{project}/flags/{flag}/migration").WithTags("Migrations");
        flags.MapGet("/", Get).RequireRole(Role.Viewer)
            .WithSummary("A migration flag in one environment: its cohorts and their stages, the measurements over the window, the guards' state, the last rollback, and 10-second points over 15 minutes.")
            .WithDescription("?environment= (required), window= (seconds, a multiple of 10 up to 3600; default the flag's guard window). Latency percentiles are in microseconds, "
                + "read from merged histograms as bucket upper bounds (exact to 25 %).");
        flags.MapPost("/actions", Act).RequireRole(Role.Editor).Accepts<MigrationActionRequest>("application/json")
            .WithSummary("An emergency action in one environment, recorded in the history: reads-to-old (cohorts at live and rampdown to the safe stage) or stop-new-writes (every cohort not at complete to off).");
        return app;
    }

    // Not a RequestDelegate (it takes the token too), so that the route carries OpenAPI metadata.
    private static async Task Report(HttpContext context, CancellationToken cancellationToken)
    {
        var services = context.RequestServices;
        KeyEntry key;
        EnvironmentSnapshot snapshot;
        try
        {
            key = EvaluationHttp.Authenticate(context, services.GetRequiredService<ApiKeyDirectory>(), EvaluationHttp.KeyHeaders.Tggl, serverOnly: true);
            services.GetRequiredService<KeyRateLimiter>().Check(key, context);
            snapshot = EvaluationApi.Snapshot(services, key);
        }
        catch (EvaluationException e)
        {
            await EvaluationApi.WriteErrorAsync(context, e.Status, e.Message).ConfigureAwait(false);
            return;
        }

        var report = await RequestBody.ReadAsync(context, MigrationJson.Default.MigrationReport, MaxReportBytes).ConfigureAwait(false);
        MigrationRecorder.Validate(report);
        var result = services.GetRequiredService<MigrationRecorder>().Record(key.EnvironmentId, snapshot, report);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, result, MigrationJson.Default.MigrationReportResult, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Ok<MigrationStatus>> Get(string project, string flag, string? environment, int? window, MigrationService migrations, CancellationToken cancellationToken) =>
        TypedResults.Ok(await migrations.GetStatusAsync(project, flag, environment, window, cancellationToken));

    private static async Task<Ok<TargetingView>> Act(string project, string flag, HttpContext context, MigrationService migrations, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.MigrationActionRequest);
        var view = await migrations.ActAsync(project, flag, request, context.ToActor(), cancellationToken);
        Versions.SetETag(context, view.Version);
        return TypedResults.Ok(view);
    }
}
