using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>Where a route accepts its key from.</summary>
public enum KeyHeaders
{
    /// <summary>X-Tggl-Api-Key or Authorization: Bearer.</summary>
    Tggl,

    /// <summary>Authorization: Bearer or X-API-Key.</summary>
    Ofrep,
}

/// <summary>
/// The opening every route an application calls with an API key goes through, in this order: the key
/// (from the route's headers, never the query string; of the kind the route needs), the key's request
/// budget, and the snapshot of the key's environment. A refusal is an <see cref="EvaluationException"/>
/// that each route family writes in its own shape (Tggl's <c>{"error"}</c>, OFREP's error codes).
/// </summary>
public sealed class EvaluationGate(ApiKeyDirectory keys, KeyRateLimiter limiter, SnapshotCache snapshots)
{
    private static readonly string[] KeyQueryParameters = ["apiKey", "api_key", "apikey", "key", "token", "x-tggl-api-key"];

    // The key of a request, checked for kind; throws 401 or 403.
    private KeyEntry Authenticate(HttpContext context, KeyHeaders headers, bool serverOnly)
    {
        foreach (var name in KeyQueryParameters)
        {
            if (context.Request.Query.ContainsKey(name))
            {
                throw new EvaluationException(StatusCodes.Status400BadRequest, $"API keys are accepted in headers only, never in the query string (found \"{name}\"); rotate the key if it was logged.");
            }
        }

        string? secret = null;
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            secret = authorization[7..].Trim();
        }
        else if (headers == KeyHeaders.Ofrep && authorization.Length > 0 && !authorization.Contains(' ', StringComparison.Ordinal))
        {
            // "Authorization: <key>" without a scheme, as the npm OFREP providers' documentation shows.
            secret = authorization;
        }

        secret ??= (headers == KeyHeaders.Tggl ? context.Request.Headers["X-Tggl-Api-Key"] : context.Request.Headers["X-API-Key"]).ToString();
        if (string.IsNullOrEmpty(secret))
        {
            throw new EvaluationException(StatusCodes.Status401Unauthorized,
                headers == KeyHeaders.Tggl ? "Missing API key: send it in the X-Tggl-Api-Key header." : "Missing API key: send it as Authorization: Bearer <key> (or Authorization: <key>) or in the X-API-Key header.");
        }

        var key = keys.Find(secret) ?? throw new EvaluationException(StatusCodes.Status401Unauthorized, "Unknown or revoked API key.");
        if (serverOnly && key.Kind != ApiKeyKind.Server)
        {
            throw new EvaluationException(StatusCodes.Status403Forbidden, "This endpoint needs a server API key; client keys can only evaluate.");
        }

        return key;
    }

    /// <summary>The key of a request, within its budget (for routes that need no snapshot); throws <see cref="EvaluationException"/>.</summary>
    public KeyEntry Admit(HttpContext context, KeyHeaders headers, bool serverOnly)
    {
        var key = Authenticate(context, headers, serverOnly);
        limiter.Check(key, context);
        return key;
    }

    /// <summary>The key of a request, within its budget, and its environment's snapshot; throws <see cref="EvaluationException"/>.</summary>
    public (KeyEntry Key, EnvironmentSnapshot Snapshot) Open(HttpContext context, KeyHeaders headers, bool serverOnly)
    {
        var key = Admit(context, headers, serverOnly);
        return (key, Snapshot(key.EnvironmentId));
    }

    /// <summary>An environment's snapshot; 503 while it is not loaded yet.</summary>
    private EnvironmentSnapshot Snapshot(string environmentId) =>
        snapshots.TryGet(environmentId, out var snapshot)
            ? snapshot
            : throw new EvaluationException(StatusCodes.Status503ServiceUnavailable, "The environment's configuration is not loaded yet; retry shortly.");
}
