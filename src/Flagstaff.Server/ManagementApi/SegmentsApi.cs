using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Server.Http;
using Flagstaff.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.ManagementApi;

/// <summary>Segments and the catalogue of context properties.</summary>
public static class SegmentsApi
{
    public static IEndpointRouteBuilder MapSegmentsApi(this IEndpointRouteBuilder app)
    {
        var segments = app.MapGroup("/api/projects/{project}/segments").WithTags("Segments").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status404NotFound);
        segments.MapGet("/", List).RequireRole(Role.Viewer).WithName("ListSegments").WithSummary("Lists a project's segments.");
        segments.MapPost("/", Create).RequireRole(Role.Editor).Accepts<SegmentRequest>("application/json").WithName("CreateSegment")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("Creates a segment: clauses, explicit ids, or both.");
        segments.MapGet("/{segment}", Get).RequireRole(Role.Viewer).WithName("GetSegment").WithSummary("Reads a segment.");
        segments.MapPatch("/{segment}", Update).RequireRole(Role.Editor).Accepts<SegmentRequest>("application/json").WithName("UpdateSegment")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesVersionProblems()
            .WithSummary("Changes a segment; every flag using it is recompiled. Needs If-Match.");
        segments.MapDelete("/{segment}", Delete).RequireRole(Role.Editor).WithName("DeleteSegment").ProducesChangeProblems().ProducesVersionProblems()
            .WithSummary("Deletes a segment no flag uses. Needs If-Match.");

        var properties = app.MapGroup("/api/projects/{project}/context-properties").WithTags("Context properties").ProducesSignedInProblems().ProducesProblems(StatusCodes.Status404NotFound);
        properties.MapGet("/", ListProperties).RequireRole(Role.Viewer).WithName("ListContextProperties").ProducesProblems(StatusCodes.Status400BadRequest)
            .WithSummary("Lists the project's known context properties, a page at a time: ?q= (key, name, description), learned (true, false), offset, limit (at most 1000).")
            .WithDescription("The body is the page's properties by key (limit defaults to 1000). X-Total-Count says how many match; a Link header with rel=\"next\" gives the next page when there is one.");
        properties.MapPost("/", CreateProperty).RequireRole(Role.Editor).Accepts<ContextPropertyRequest>("application/json").WithName("CreateContextProperty")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict)
            .WithSummary("Adds a context property to the catalogue.");
        properties.MapGet("/{key}", GetProperty).RequireRole(Role.Viewer).WithName("GetContextProperty").WithSummary("Reads a context property.");
        properties.MapPatch("/{key}", UpdateProperty).RequireRole(Role.Editor).Accepts<ContextPropertyRequest>("application/json").WithName("UpdateContextProperty")
            .ProducesChangeProblems().ProducesBodyProblems().ProducesVersionProblems()
            .WithSummary("Changes a context property. Needs If-Match.");
        properties.MapDelete("/", RemoveLearnedProperties).RequireRole(Role.Admin).WithName("RemoveLearnedContextProperties").ProducesChangeProblems().ProducesProblems(StatusCodes.Status400BadRequest)
            .WithSummary("Removes, in bulk, the properties learned from usage reports: ?learned=true (required), narrowed by q= or by key= (repeatable, at most 1000).")
            .WithDescription("Properties defined or changed by hand are never removed this way. Their remembered values go with them; each removal is recorded in the history. "
                + "Answers the keys removed.");
        properties.MapDelete("/{key}", DeleteProperty).RequireRole(Role.Editor).WithName("DeleteContextProperty").ProducesChangeProblems().ProducesVersionProblems()
            .WithSummary("Removes a context property from the catalogue. Needs If-Match.");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<Segment>>> List(string project, SegmentService segments, CancellationToken cancellationToken) =>
        TypedResults.Ok(await segments.ListAsync(project, cancellationToken));

    private static async Task<Created<Segment>> Create(string project, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        var segment = await segments.CreateAsync(project, await RequestBody.ReadAsync(context, ApiJson.Default.SegmentRequest), context.ToActor(), cancellationToken);
        Versions.SetETag(context, segment.Version);
        return TypedResults.Created($"/api/projects/{project}/segments/{segment.Key}", segment);
    }

    private static async Task<Ok<Segment>> Get(string project, string segment, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        var result = await segments.GetAsync(project, segment, cancellationToken);
        Versions.SetETag(context, result.Version);
        return TypedResults.Ok(result);
    }

    private static async Task<Ok<Segment>> Update(string project, string segment, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        long expected = Versions.Expected(context);
        var result = await segments.UpdateAsync(project, segment, await RequestBody.ReadAsync(context, ApiJson.Default.SegmentRequest), expected, context.ToActor(), cancellationToken);
        Versions.SetETag(context, result.Version);
        return TypedResults.Ok(result);
    }

    private static async Task<NoContent> Delete(string project, string segment, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        await segments.DeleteAsync(project, segment, Versions.Expected(context), context.ToActor(), cancellationToken);
        return TypedResults.NoContent();
    }

    public const int MaxPropertyPageSize = 1_000;

    private static async Task<Ok<IReadOnlyList<ContextProperty>>> ListProperties(
        string project, string? q, bool? learned, int? offset, int? limit, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        if (offset < 0)
        {
            errors.Add("offset", "must not be negative");
        }

        if (limit is < 1 or > MaxPropertyPageSize)
        {
            errors.Add("limit", $"must be between 1 and {MaxPropertyPageSize}");
        }

        Limits.CheckLength(q, Limits.NameLength, "q", errors);
        errors.ThrowIfAny();
        var query = new PropertyQuery { Search = q, Learned = learned, Offset = offset ?? 0, Limit = limit ?? MaxPropertyPageSize };
        var page = await segments.ListPropertiesAsync(project, query, cancellationToken);
        context.Response.Headers["X-Total-Count"] = page.Total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (query.Offset + page.Items.Count < page.Total)
        {
            var next = new List<KeyValuePair<string, string?>>();
            if (q is not null)
            {
                next.Add(new("q", q));
            }

            if (learned is not null)
            {
                next.Add(new("learned", learned.Value ? "true" : "false"));
            }

            next.Add(new("offset", (query.Offset + page.Items.Count).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            next.Add(new("limit", query.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            context.Response.Headers.Link = $"<{context.Request.PathBase}{context.Request.Path}{QueryString.Create(next)}>; rel=\"next\"";
        }

        return TypedResults.Ok<IReadOnlyList<ContextProperty>>(page.Items);
    }

    private static async Task<Ok<RemovedProperties>> RemoveLearnedProperties(
        string project, bool? learned, string? q, string[]? key, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        if (learned != true)
        {
            errors.Add("learned", "must be true: only properties learned from usage reports are removed in bulk (remove one defined by hand by its key)");
        }

        if (key is { Length: > MaxPropertyPageSize })
        {
            errors.Add("key", $"at most {MaxPropertyPageSize} keys at a time");
        }

        Limits.CheckLength(q, Limits.NameLength, "q", errors);
        errors.ThrowIfAny();
        var removed = await segments.RemoveLearnedPropertiesAsync(project, q, key is { Length: > 0 } ? key : null, context.ToActor(), cancellationToken);
        return TypedResults.Ok(new RemovedProperties(removed.Count, removed));
    }

    private static async Task<Created<ContextProperty>> CreateProperty(string project, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        var property = await segments.CreatePropertyAsync(project, await RequestBody.ReadAsync(context, ApiJson.Default.ContextPropertyRequest), context.ToActor(), cancellationToken);
        Versions.SetETag(context, property.Version);
        return TypedResults.Created($"/api/projects/{project}/context-properties/{property.Key}", property);
    }

    private static async Task<Ok<ContextProperty>> GetProperty(string project, string key, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        var property = await segments.GetPropertyAsync(project, key, cancellationToken);
        Versions.SetETag(context, property.Version);
        return TypedResults.Ok(property);
    }

    private static async Task<Ok<ContextProperty>> UpdateProperty(string project, string key, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        long expected = Versions.Expected(context);
        var property = await segments.UpdatePropertyAsync(project, key, await RequestBody.ReadAsync(context, ApiJson.Default.ContextPropertyRequest), expected, context.ToActor(), cancellationToken);
        Versions.SetETag(context, property.Version);
        return TypedResults.Ok(property);
    }

    private static async Task<NoContent> DeleteProperty(string project, string key, HttpContext context, SegmentService segments, CancellationToken cancellationToken)
    {
        await segments.DeletePropertyAsync(project, key, Versions.Expected(context), context.ToActor(), cancellationToken);
        return TypedResults.NoContent();
    }
}
