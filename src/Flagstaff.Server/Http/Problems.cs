using Flagstaff.Domain;
using Flagstaff.Server.Services;
using Flagstaff.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Flagstaff.Server.Http;

/// <summary>
/// Turns every failure into an RFC 7807 problem: what was wrong, where (for validation, a path per
/// field), and for conflicts the current state, so a client can show what changed.
/// </summary>
public sealed partial class Problems(IProblemDetailsService problems, ILogger<Problems> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var context = httpContext;
        var (status, title, detail, extensions) = exception switch
        {
            DomainValidationException e => (StatusCodes.Status400BadRequest, "The request is invalid", e.Message, Errors(e)),
            NotFoundException e => (StatusCodes.Status404NotFound, "Not found", e.Message, null),
            ConflictException e => (StatusCodes.Status409Conflict, "Conflict", e.Message, e.Current is null ? null : new Dictionary<string, object?> { ["current"] = e.Current }),
            DuplicateKeyException => (StatusCodes.Status409Conflict, "Conflict", "Something with the same key already exists.", null),
            ConcurrencyConflictException e => (StatusCodes.Status409Conflict, "Conflict", e.Message, null),
            PreconditionRequiredException e => (StatusCodes.Status428PreconditionRequired, "Version required", e.Message, null),
            ForbiddenException e => (StatusCodes.Status403Forbidden, "Forbidden", e.Message, null),
            PayloadTooLargeException e => (StatusCodes.Status413PayloadTooLarge, "Request body too large", e.Message, null),
            UnsupportedContentTypeException e => (StatusCodes.Status415UnsupportedMediaType, "Unsupported content type", e.Message, null),
            BadHttpRequestException e => (e.StatusCode, "Bad request", e.Message, null),
            StoreFullException => (StatusCodes.Status507InsufficientStorage, "Storage full", StoreFullException.Explanation, null),
            StoreUnavailableException => (StatusCodes.Status503ServiceUnavailable, "Storage unavailable", StoreUnavailableException.Explanation, null),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "Client closed request", null, null),
            _ => (StatusCodes.Status500InternalServerError, "Unexpected error", "Something went wrong on the server; it has been logged.", null),
        };

        // Storage outages are expected events with a known cause: one line, no stack trace.
        if (exception is StoreUnavailableException)
        {
            LogUnavailable(logger, exception.Message);
        }
        else if (status >= 500)
        {
            LogUnexpected(logger, exception, context.Request.Method, context.Request.Path);
        }

        if (context.Response.HasStarted)
        {
            return true;
        }

        context.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail, Instance = context.Request.Path };
        foreach (var (key, value) in extensions ?? [])
        {
            problem.Extensions[key] = value;
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception }).ConfigureAwait(false);
    }

    private static Dictionary<string, object?> Errors(DomainValidationException e) => new()
    {
        ["errors"] = e.Errors.GroupBy(x => x.Path).ToDictionary(g => g.Key, g => g.Select(x => x.Message).ToArray()),
    };

    [LoggerMessage(EventId = LogEvents.UnexpectedError, Level = LogLevel.Error, Message = "Unexpected error handling {Method} {Path}")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = LogEvents.StorageUnavailable, Level = LogLevel.Warning, Message = "Storage unavailable: {Message}")]
    private static partial void LogUnavailable(ILogger logger, string message);
}
