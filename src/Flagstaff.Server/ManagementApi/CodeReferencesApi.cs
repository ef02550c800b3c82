using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.ManagementApi;

/// <summary>
/// Code references: where a project's flags are named in its repositories, as <c>flagstaff refs
/// --upload</c> found them. Uploading needs the editor role (it feeds stale-flag detection); reading,
/// the viewer role.
/// </summary>
public static class CodeReferencesApi
{
    public static IEndpointRouteBuilder MapCodeReferencesApi(this IEndpointRouteBuilder app)
    {
        var references = app.MapGroup("/api/projects/{project}").WithTags("Code references").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status404NotFound);
        references.MapGet("/code-references", List).RequireRole(Role.Viewer).WithName("ListCodeReferences")
            .WithSummary("The last scan of each repository of the project: repository, branch, commit, when scanned and uploaded, and per flag the references kept and the total found.");
        references.MapPut("/code-references", Upload).RequireRole(Role.Editor).Accepts<UploadCodeReferencesRequest>("application/json").WithName("UploadCodeReferences")
            .ProducesChangeProblems().ProducesBodyProblems()
            .WithSummary("Uploads a scan of one repository (repository, branch, commit, scannedAt, files, flags: [{key, total, references: [{path, line, context, alias}]}]), replacing that repository's previous scan. "
                + "Only the project's flags; at most 50 references per flag, 10,000 in all, 5,000 flags, lines of 240 characters, 8 MiB (413 beyond).");
        references.MapDelete("/code-references/{repository}", Delete).RequireRole(Role.Editor).WithName("DeleteCodeReferences").ProducesChangeProblems().WithSummary("Forgets a repository's scan.");
        references.MapGet("/flags/{flag}/code-references", ForFlag).RequireRole(Role.Viewer).WithName("GetFlagCodeReferences")
            .WithSummary("Where one flag is named, in each scanned repository (a repository that does not name it is listed with total 0).");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<CodeReferenceScanView>>> List(string project, CodeReferenceService references, CancellationToken cancellationToken) =>
        TypedResults.Ok(await references.ListAsync(project, cancellationToken));

    private static async Task<Ok<CodeReferenceScanView>> Upload(string project, HttpContext context, CodeReferenceService references, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadAsync(context, CodeReferenceJson.Default.UploadCodeReferencesRequest, CodeReferenceLimits.MaxUploadBytes);
        return TypedResults.Ok(await references.UploadAsync(project, request, context.ToActor(), cancellationToken));
    }

    private static async Task<NoContent> Delete(string project, string repository, HttpContext context, CodeReferenceService references, CancellationToken cancellationToken)
    {
        await references.DeleteAsync(project, repository, context.ToActor(), cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<FlagCodeReferencesView>> ForFlag(string project, string flag, CodeReferenceService references, CancellationToken cancellationToken) =>
        TypedResults.Ok(await references.ForFlagAsync(project, flag, cancellationToken));
}
