using System.Security.Claims;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Evaluation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Flagstaff.Client.AspNetCore;

/// <summary>
/// How the evaluation context of a request is built: who the user is (a claim), where the request
/// comes from (IP address, user agent), and anything an application adds.
/// </summary>
public sealed class FlagstaffRequestContextOptions
{
    /// <summary>The claims read for the user's id, first found wins. Default: <c>nameidentifier</c>, then <c>sub</c>.</summary>
    public IList<string> UserIdClaimTypes { get; } = [ClaimTypes.NameIdentifier, "sub"];

    /// <summary>The context property the user id goes in (the project's stickiness property). Default <c>userId</c>.</summary>
    public string UserIdProperty { get; set; } = "userId";

    /// <summary>The context property for the caller's IP address; null to leave it out. Default <c>ip</c>.</summary>
    public string? IpProperty { get; set; } = "ip";

    /// <summary>The context property for the <c>User-Agent</c> header; null to leave it out. Default <c>userAgent</c>.</summary>
    public string? UserAgentProperty { get; set; } = "userAgent";

    /// <summary>Code that adds properties from the request (a tenant, a plan, a header); run in order, after the built-in ones.</summary>
    public IList<Action<HttpContext, EvaluationContext.Builder>> Enrichers { get; } = [];
}

/// <summary>
/// The flags of the current request (a scoped service): evaluated for the request's context, against
/// one configuration frozen at the request's first flag read, so a flag cannot change halfway through a
/// request. Like the client, it never throws and never waits for the network.
/// </summary>
public sealed class RequestFlags
{
    private readonly IHttpContextAccessor _accessor;
    private readonly FlagstaffRequestContextOptions _options;
    private EvaluationContext? _context;

    /// <summary>Created by dependency injection, once per request.</summary>
    /// <param name="client">The application's client.</param>
    /// <param name="accessor">The current request.</param>
    /// <param name="options">How the context is built.</param>
    public RequestFlags(IFlagstaffClient client, IHttpContextAccessor accessor, IOptions<FlagstaffRequestContextOptions> options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        Snapshot = client.GetSnapshot();
        _accessor = accessor;
        _options = options.Value;
    }

    /// <summary>The configuration this request evaluates against.</summary>
    public FlagSnapshot Snapshot { get; }

    /// <summary>The request's evaluation context, built on first use (empty outside a request).</summary>
    public EvaluationContext Context => _context ??= Build(_accessor.HttpContext, _options);

    /// <summary>Whether the flag is active for this request.</summary>
    /// <param name="slug">The flag's key.</param>
    public bool IsActive(string slug) => Snapshot.IsActive(slug, Context);

    /// <summary>
    /// Whether the flag is on for this request: active, with a value other than <c>false</c> (what
    /// endpoint gates and the Microsoft.FeatureManagement adapter test).
    /// </summary>
    /// <param name="slug">The flag's key.</param>
    public bool IsEnabled(string slug) => IsOn(Snapshot.Evaluate(slug, Context));

    /// <summary>The flag's boolean value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">The caller's default.</param>
    public bool GetBoolean(string slug, bool defaultValue) => Snapshot.GetBoolean(slug, Context, defaultValue);

    /// <summary>The flag's string value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">The caller's default.</param>
    public string GetString(string slug, string defaultValue) => Snapshot.GetString(slug, Context, defaultValue);

    /// <summary>The flag's number value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">The caller's default.</param>
    public double GetDouble(string slug, double defaultValue) => Snapshot.GetDouble(slug, Context, defaultValue);

    /// <summary>The flag's whole-number value, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">The caller's default.</param>
    public long GetInt64(string slug, long defaultValue) => Snapshot.GetInt64(slug, Context, defaultValue);

    /// <summary>The flag's JSON value as <typeparamref name="T"/>, or <paramref name="defaultValue"/>.</summary>
    /// <param name="slug">The flag's key.</param>
    /// <param name="defaultValue">The caller's default.</param>
    /// <param name="jsonTypeInfo">How to deserialise.</param>
    public T GetValue<T>(string slug, T defaultValue, JsonTypeInfo<T> jsonTypeInfo) => Snapshot.GetValue(slug, Context, defaultValue, jsonTypeInfo);

    /// <summary>The flag's value with the reason and any error.</summary>
    /// <param name="slug">The flag's key.</param>
    public EvaluationDetail<FlagValue?> Evaluate(string slug) => Snapshot.Evaluate(slug, Context);

    /// <summary>Every flag active for this request, slug to value.</summary>
    public IReadOnlyDictionary<string, FlagValue> EvaluateAll() => Snapshot.EvaluateAll(Context);

    internal static bool IsOn(EvaluationDetail<FlagValue?> detail) =>
        detail.Value is { } value && value.Kind != System.Text.Json.JsonValueKind.False;

    /// <summary>Builds the context of a request as the options say.</summary>
    internal static EvaluationContext Build(HttpContext? http, FlagstaffRequestContextOptions options)
    {
        if (http is null)
        {
            return EvaluationContext.Empty;
        }

        var builder = EvaluationContext.CreateBuilder();
        if (http.User.Identity?.IsAuthenticated == true)
        {
            foreach (var type in options.UserIdClaimTypes)
            {
                if (http.User.FindFirst(type)?.Value is { Length: > 0 } id)
                {
                    builder.Set(options.UserIdProperty, id);
                    break;
                }
            }
        }

        if (options.IpProperty is not null && http.Connection.RemoteIpAddress is { } ip)
        {
            builder.Set(options.IpProperty, (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString());
        }

        if (options.UserAgentProperty is not null && http.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent)
        {
            builder.Set(options.UserAgentProperty, agent);
        }

        foreach (var enrich in options.Enrichers)
        {
            enrich(http, builder);
        }

        return builder.Build();
    }
}
