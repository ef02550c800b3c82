using System.Text.Json;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Server.EvaluationApi;
using Flagstaff.Server.Http;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Reports;

/// <summary>
/// What SDKs report back with their API key: <c>POST /report</c> (usage: evaluations per flag and
/// value, context properties and values seen; client or server key) and <c>POST /migrations/report</c>
/// (migration measurements; server key). Both are aggregated in memory and written in batches.
/// </summary>
public static class ReportApi
{
    /// <summary>The largest measurement report.</summary>
    public const long MaxMigrationReportBytes = 1 << 20;

    public static IEndpointRouteBuilder MapReportApi(this IEndpointRouteBuilder app)
    {
        var usage = app.MapGroup("").WithTags("Evaluation (Tggl-compatible)").AllowAnonymous();
        usage.ShortCircuit();
        usage.DisableHttpMetrics();
        usage.MapPost("/report", Usage).Described(Usage).WithName("ReportUsage").ProducesTgglErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status429TooManyRequests)
            .WithSummary("Takes a usage report from an SDK: evaluations per flag and value, context properties and values seen.");
        usage.MapMethods("/report", ["OPTIONS"], EvaluationHttp.Preflight).ExcludeFromDescription();

        app.MapPost("/migrations/report", Migrations).AllowAnonymous().WithTags("Migrations").WithName("ReportMigrations")
            // The key is checked first, refused in Tggl's shape; the body is read as the management API reads bodies, refused with problems.
            .ProducesTgglErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable).ProducesBodyProblems()
            .Accepts<MigrationReport>("application/json")
            .WithSummary("Takes migration measurements from an SDK (server key): calls, errors and latency per side, comparisons and failed writes, per flag, stage and operation.")
            .WithDescription("Answers 202 with how many measurements were accepted and which were ignored (flags that are not migration flags in the key's environment, stages not on the flag's path). "
                + "Body limit 1 MiB; bad input is a problem with the path of each field at fault (measurements[3].old.latency[2]).")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status202Accepted, typeof(MigrationReportResult), ["application/json"]))
            .ShortCircuit();
        return app;
    }

    private static async Task Usage(HttpContext context)
    {
        EvaluationHttp.AllowCors(context);
        try
        {
            var services = context.RequestServices;
            var key = services.GetRequiredService<EvaluationGate>().Admit(context, KeyHeaders.Tggl, serverOnly: false);
            var limits = services.GetRequiredService<IOptions<EvaluationOptions>>().Value;
            var reader = context.Request.BodyReader;
            var body = await EvaluationHttp.ReadBodyAsync(context, reader, limits).ConfigureAwait(false);
            UsageReport? report;
            try
            {
                var json = new Utf8JsonReader(body, EvaluationHttp.ReaderOptions(limits));
                report = JsonSerializer.Deserialize(ref json, UsageJson.Default.UsageReport);
            }
            catch (JsonException e)
            {
                throw new EvaluationException(StatusCodes.Status400BadRequest, $"The report is not valid ({e.Path}): {EvaluationHttp.FirstSentence(e.Message)}");
            }
            finally
            {
                reader.AdvanceTo(body.End);
            }

            if (report is null)
            {
                throw new EvaluationException(StatusCodes.Status400BadRequest, "The report must be a JSON object.");
            }

            services.GetRequiredService<UsageAggregator>().Record(key.ProjectId, key.EnvironmentId, report);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"success\":true}", context.RequestAborted).ConfigureAwait(false);
        }
        catch (EvaluationException e)
        {
            await TgglApi.WriteErrorAsync(context, e.Status, e.Message).ConfigureAwait(false);
        }
    }

    // Not a RequestDelegate (it takes the token too), so that the route carries OpenAPI metadata.
    private static async Task Migrations(HttpContext context, CancellationToken cancellationToken)
    {
        var services = context.RequestServices;
        KeyEntry key;
        EnvironmentSnapshot snapshot;
        try
        {
            (key, snapshot) = services.GetRequiredService<EvaluationGate>().Open(context, KeyHeaders.Tggl, serverOnly: true);
        }
        catch (EvaluationException e)
        {
            await TgglApi.WriteErrorAsync(context, e.Status, e.Message).ConfigureAwait(false);
            return;
        }

        var report = await RequestBody.ReadAsync(context, MigrationJson.Default.MigrationReport, MaxMigrationReportBytes).ConfigureAwait(false);
        MigrationAggregator.Validate(report);
        var result = services.GetRequiredService<MigrationAggregator>().Record(key.EnvironmentId, snapshot, report);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, result, MigrationJson.Default.MigrationReportResult, cancellationToken).ConfigureAwait(false);
    }
}
