using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.ManagementApi;

/// <summary>
/// Migration flags (docs/adr/0004-migrations.md): a flag's status and metrics in an environment, and
/// the emergency actions (the SDKs' measurements come in through <see cref="Reports.ReportApi"/>).
/// </summary>
public static class MigrationsApi
{
    public static IEndpointRouteBuilder MapMigrationsApi(this IEndpointRouteBuilder app)
    {
        var flags = app.MapGroup("/api/projects/{project}/flags/{flag}/migration").WithTags("Migrations").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        flags.MapGet("/", Get).RequireRole(Role.Viewer).WithName("GetMigration")
            .WithSummary("A migration flag in one environment: its cohorts and their stages, the measurements over the window, the guards' state, the last rollback, and 10-second points over 15 minutes.")
            .WithDescription("?environment= (required), window= (seconds, a multiple of 10 up to 3600; default the flag's guard window). Latency percentiles are in microseconds, "
                + "read from merged histograms as bucket upper bounds (exact to 25 %).");
        flags.MapPost("/actions", Act).RequireRole(Role.Editor).Accepts<MigrationActionRequest>("application/json").WithName("ApplyMigrationAction")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("An emergency action in one environment, recorded in the history: reads-to-old (cohorts at live and rampdown to the safe stage) or stop-new-writes (every cohort not at complete to off).");
        return app;
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
