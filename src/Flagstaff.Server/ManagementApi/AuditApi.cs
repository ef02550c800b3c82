using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.ManagementApi;

/// <summary>The audit log, and a project as one document (export and import).</summary>
public static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/audit", List).RequireRole(Role.Viewer).WithTags("History").WithName("ListAuditEntries").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status400BadRequest)
            .WithSummary("The audit log, newest first: ?project=, flag=, environment= (with project), actor= (member id), from=, to= (ISO 8601), before= (entry id, for the next page), limit= (at most 200).");
        app.MapGet("/api/projects/{project}/export", Export).RequireRole(Role.Viewer).WithTags("Import and export").WithName("ExportProject").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status404NotFound)
            .WithSummary("The whole project as one document: environments, flags with targeting, segments, context properties (never API key secrets).");
        app.MapPost("/api/import", Import).RequireRole(Role.Admin).WithTags("Import and export").Accepts<ProjectDocument>("application/json").WithName("ImportProject")
            .ProducesSignedInProblems().ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("Creates or updates the project of a document and everything it names, in one transaction; importing the same document again changes nothing.");
        return app;
    }

    private static async Task<Ok<AuditPage>> List(
        string? project, string? flag, string? environment, string? actor, DateTimeOffset? from, DateTimeOffset? to, long? before, int? limit,
        AuditService audit, CancellationToken cancellationToken) =>
        TypedResults.Ok(await audit.ListAsync(project, flag, environment, actor, from, to, before, limit ?? 50, cancellationToken));

    private static async Task<Ok<ProjectDocument>> Export(string project, HttpContext context, ImportExportService service, CancellationToken cancellationToken)
    {
        var document = await service.ExportAsync(project, cancellationToken);
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{project}.flagstaff.json\"";
        return TypedResults.Ok(document);
    }

    private static async Task<Ok<ImportResult>> Import(HttpContext context, ImportExportService service, IOptions<FlagstaffOptions> options, CancellationToken cancellationToken)
    {
        var document = await RequestBody.ReadAsync(context, DomainJson.Default.ProjectDocument, options.Value.Limits.MaxImportBytes);
        return TypedResults.Ok(await service.ImportAsync(document, context.ToActor(), cancellationToken));
    }
}
