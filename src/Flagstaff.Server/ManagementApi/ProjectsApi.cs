using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.ManagementApi;

/// <summary>Projects, their environments, and each environment's API keys.</summary>
public static class ProjectsApi
{
    public static IEndpointRouteBuilder MapProjectsApi(this IEndpointRouteBuilder app)
    {
        var projects = app.MapGroup("/api/projects").WithTags("Projects").ProducesSignedInProblems();
        projects.MapGet("/", List).RequireRole(Role.Viewer).WithName("ListProjects").ProducesProblems(StatusCodes.Status400BadRequest).WithSummary("Lists projects (?archived=true to include archived ones).");
        projects.MapPost("/", Create).RequireRole(Role.Admin).Accepts<CreateProjectRequest>("application/json").WithName("CreateProject")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("Creates a project with its environments (default: development, staging, production).");
        projects.MapGet("/{project}", Get).RequireRole(Role.Viewer).WithName("GetProject").ProducesProblems(StatusCodes.Status404NotFound).WithSummary("Reads a project.");
        projects.MapPatch("/{project}", Update).RequireRole(Role.Admin).Accepts<UpdateProjectRequest>("application/json").WithName("UpdateProject")
            .ProducesProblems(StatusCodes.Status404NotFound).ProducesChangeProblems().ProducesBodyProblems().ProducesVersionProblems()
            .WithSummary("Changes a project's name, description or stickiness property. Needs If-Match.");
        projects.MapPost("/{project}/archive", Archive).RequireRole(Role.Admin).WithName("ArchiveProject").ProducesProblems(StatusCodes.Status404NotFound).ProducesChangeProblems()
            .WithSummary("Archives a project: none of its flags are served.");
        projects.MapPost("/{project}/restore", Restore).RequireRole(Role.Admin).WithName("RestoreProject").ProducesProblems(StatusCodes.Status404NotFound).ProducesChangeProblems()
            .WithSummary("Restores an archived project.");
        projects.MapDelete("/{project}", Delete).RequireRole(Role.Owner).WithName("DeleteProject").ProducesProblems(StatusCodes.Status404NotFound).ProducesChangeProblems().ProducesVersionProblems()
            .WithSummary("Deletes an archived project and everything in it. Needs If-Match.");

        var environments = app.MapGroup("/api/projects/{project}/environments").WithTags("Environments").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status404NotFound);
        environments.MapGet("/", ListEnvironments).RequireRole(Role.Viewer).WithName("ListEnvironments").WithSummary("Lists a project's environments in display order.");
        environments.MapPost("/", CreateEnvironment).RequireRole(Role.Admin).Accepts<CreateEnvironmentRequest>("application/json").WithName("CreateEnvironment")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("Adds an environment; every flag starts off in it.");
        environments.MapGet("/{environment}", GetEnvironment).RequireRole(Role.Viewer).WithName("GetEnvironment").WithSummary("Reads an environment.");
        environments.MapPatch("/{environment}", UpdateEnvironment).RequireRole(Role.Admin).Accepts<UpdateEnvironmentRequest>("application/json").WithName("UpdateEnvironment")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesVersionProblems()
            .WithSummary("Renames, recolours, reorders an environment or marks it critical. Needs If-Match.");
        environments.MapDelete("/{environment}", DeleteEnvironment).RequireRole(Role.Admin).WithName("DeleteEnvironment").ProducesChangeProblems().ProducesVersionProblems()
            .WithSummary("Deletes an environment with its targeting and API keys. Needs If-Match.");

        var keys = app.MapGroup("/api/projects/{project}/environments/{environment}/keys").WithTags("API keys").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status404NotFound);
        keys.MapGet("/", ListKeys).RequireRole(Role.Viewer).WithName("ListApiKeys").WithSummary("Lists an environment's API keys (never their secrets).");
        keys.MapPost("/", CreateKey).RequireRole(Role.Admin).Accepts<CreateApiKeyRequest>("application/json").WithName("CreateApiKey")
            .ProducesChangeProblems().ProducesBodyProblems()
            .WithSummary("Creates a client or server API key; its secret is in this response only.");
        keys.MapDelete("/{id}", RevokeKey).RequireRole(Role.Admin).WithName("RevokeApiKey").ProducesChangeProblems()
            .WithSummary("Revokes a key: its requests are refused and its streams closed.");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<Project>>> List(bool? archived, ProjectService projects, CancellationToken cancellationToken) =>
        TypedResults.Ok(await projects.ListAsync(archived ?? false, cancellationToken));

    private static async Task<Created<Project>> Create(HttpContext context, ProjectService projects, CancellationToken cancellationToken)
    {
        var project = await projects.CreateAsync(await RequestBody.ReadAsync(context, ApiJson.Default.CreateProjectRequest), context.ToActor(), cancellationToken);
        Versions.SetETag(context, project.Version);
        return TypedResults.Created($"/api/projects/{project.Key}", project);
    }

    private static async Task<Ok<Project>> Get(string project, HttpContext context, ProjectService projects, CancellationToken cancellationToken) =>
        WithETag(context, await projects.GetAsync(project, cancellationToken));

    private static async Task<Ok<Project>> Update(string project, HttpContext context, ProjectService projects, CancellationToken cancellationToken)
    {
        long expected = Versions.Expected(context);
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.UpdateProjectRequest);
        return WithETag(context, await projects.UpdateAsync(project, request, expected, context.ToActor(), cancellationToken));
    }

    private static async Task<Ok<Project>> Archive(string project, HttpContext context, ProjectService projects, CancellationToken cancellationToken) =>
        WithETag(context, await projects.ArchiveAsync(project, context.ToActor(), cancellationToken));

    private static async Task<Ok<Project>> Restore(string project, HttpContext context, ProjectService projects, CancellationToken cancellationToken) =>
        WithETag(context, await projects.RestoreAsync(project, context.ToActor(), cancellationToken));

    private static async Task<NoContent> Delete(string project, HttpContext context, ProjectService projects, CancellationToken cancellationToken)
    {
        await projects.DeleteAsync(project, Versions.Expected(context), context.ToActor(), cancellationToken);
        return TypedResults.NoContent();
    }

    private static Ok<Project> WithETag(HttpContext context, Project project)
    {
        Versions.SetETag(context, project.Version);
        return TypedResults.Ok(project);
    }

    private static async Task<Ok<IReadOnlyList<ProjectEnvironment>>> ListEnvironments(string project, ProjectService projects, CancellationToken cancellationToken) =>
        TypedResults.Ok(await projects.ListEnvironmentsAsync(project, cancellationToken));

    private static async Task<Created<ProjectEnvironment>> CreateEnvironment(string project, HttpContext context, ProjectService projects, CancellationToken cancellationToken)
    {
        var environment = await projects.CreateEnvironmentAsync(project, await RequestBody.ReadAsync(context, ApiJson.Default.CreateEnvironmentRequest), context.ToActor(), cancellationToken);
        Versions.SetETag(context, environment.Version);
        return TypedResults.Created($"/api/projects/{project}/environments/{environment.Key}", environment);
    }

    private static async Task<Ok<ProjectEnvironment>> GetEnvironment(string project, string environment, HttpContext context, ProjectService projects, CancellationToken cancellationToken)
    {
        var result = await projects.GetEnvironmentAsync(project, environment, cancellationToken);
        Versions.SetETag(context, result.Version);
        return TypedResults.Ok(result);
    }

    private static async Task<Ok<ProjectEnvironment>> UpdateEnvironment(string project, string environment, HttpContext context, ProjectService projects, CancellationToken cancellationToken)
    {
        long expected = Versions.Expected(context);
        var request = await RequestBody.ReadAsync(context, ApiJson.Default.UpdateEnvironmentRequest);
        var result = await projects.UpdateEnvironmentAsync(project, environment, request, expected, context.ToActor(), cancellationToken);
        Versions.SetETag(context, result.Version);
        return TypedResults.Ok(result);
    }

    private static async Task<NoContent> DeleteEnvironment(string project, string environment, HttpContext context, ProjectService projects, CancellationToken cancellationToken)
    {
        await projects.DeleteEnvironmentAsync(project, environment, Versions.Expected(context), context.ToActor(), cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<ApiKey>>> ListKeys(string project, string environment, ApiKeyService keys, CancellationToken cancellationToken) =>
        TypedResults.Ok(await keys.ListAsync(project, environment, cancellationToken));

    private static async Task<Created<CreatedApiKey>> CreateKey(string project, string environment, HttpContext context, ApiKeyService keys, CancellationToken cancellationToken)
    {
        var created = await keys.CreateAsync(project, environment, await RequestBody.ReadAsync(context, ApiJson.Default.CreateApiKeyRequest), context.ToActor(), cancellationToken);
        return TypedResults.Created($"/api/projects/{project}/environments/{environment}/keys/{created.Key.Id}", created);
    }

    private static async Task<Ok<ApiKey>> RevokeKey(string project, string environment, string id, HttpContext context, ApiKeyService keys, CancellationToken cancellationToken) =>
        TypedResults.Ok(await keys.RevokeAsync(project, environment, id, context.ToActor(), cancellationToken));
}
