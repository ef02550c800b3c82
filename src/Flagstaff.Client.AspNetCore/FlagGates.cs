using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.DependencyInjection;

namespace Flagstaff.Client.AspNetCore;

/// <summary>Gates minimal API endpoints on flags.</summary>
public static class FlagGateExtensions
{
    /// <summary>
    /// Lets requests through only when the flag is on for them (active, with a value other than
    /// <c>false</c>); others get 404 Not Found, as if the endpoint did not exist, or what
    /// <paramref name="whenOff"/> returns.
    /// </summary>
    /// <param name="builder">The endpoint or group.</param>
    /// <param name="slug">The flag's key.</param>
    /// <param name="whenOff">The answer when the flag is off; 404 when null.</param>
    public static TBuilder RequireFlag<TBuilder>(this TBuilder builder, string slug, Func<HttpContext, IResult>? whenOff = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrEmpty(slug);
        builder.AddEndpointFilter(async (context, next) =>
        {
            var flags = context.HttpContext.RequestServices.GetRequiredService<RequestFlags>();
            if (!flags.IsEnabled(slug))
            {
                return whenOff?.Invoke(context.HttpContext) ?? Results.NotFound();
            }

            return await next(context).ConfigureAwait(false);
        });
        return builder;
    }
}

/// <summary>
/// Gates an MVC controller or action on a flag: requests for which the flag is off get
/// <see cref="StatusCode"/> (404 by default). Minimal APIs use <see cref="FlagGateExtensions.RequireFlag"/>.
/// </summary>
/// <param name="slug">The flag's key.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = true)]
public sealed class FlagGateAttribute(string slug) : Attribute, IAsyncActionFilter
{
    /// <summary>The flag's key.</summary>
    public string Slug { get; } = slug;

    /// <summary>The status answered when the flag is off. Default 404.</summary>
    public int StatusCode { get; set; } = StatusCodes.Status404NotFound;

    /// <inheritdoc />
    public Task OnActionExecutionAsync(ActionExecutingContext context, ActionExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (!context.HttpContext.RequestServices.GetRequiredService<RequestFlags>().IsEnabled(Slug))
        {
            context.Result = new StatusCodeResult(StatusCode);
            return Task.CompletedTask;
        }

        return next();
    }
}
