namespace Flagstaff.Server.Http;

/// <summary>
/// OpenAPI declarations of the problems (RFC 7807, application/problem+json) the management routes
/// answer, named by what causes them, so that each route lists what it really answers in one line.
/// The statuses are those <see cref="Problems"/> and the framework produce.
/// </summary>
public static class ProblemMetadata
{
    /// <summary>Declares problem responses for the given statuses.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (int status in statuses)
        {
            builder.ProducesProblem(status);
        }

        return builder;
    }

    /// <summary>What every signed-in route can answer: not signed in (401), the database unreachable (503).</summary>
    public static TBuilder ProducesSignedInProblems<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblems(StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);

    /// <summary>
    /// What every change can answer: a role too low, or a session-cookie request without the anti-forgery
    /// header (403), and the database full (507).
    /// </summary>
    public static TBuilder ProducesChangeProblems<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status507InsufficientStorage);

    /// <summary>What reading a JSON body can answer: invalid (400), too large (413), not JSON (415).</summary>
    public static TBuilder ProducesBodyProblems<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType);

    /// <summary>
    /// What a change that needs If-Match can answer (see <see cref="Versions"/>): a header that is not a
    /// version (400), a stale version (409 with the current state), no header (428).
    /// </summary>
    public static TBuilder ProducesVersionProblems<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict, StatusCodes.Status428PreconditionRequired);
}
