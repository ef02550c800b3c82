using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Flagstaff.Dashboard;

/// <summary>
/// The dashboard's files (stylesheet, scripts including Blazor's, icon), embedded in the assembly and served from
/// <c>/_dashboard/</c> with a content hash in their address, so they can be cached for good and the
/// dashboard needs nothing on disk and nothing from another site.
/// </summary>
internal static class DashboardAssets
{
    private const string Prefix = "/_dashboard/";

    private static readonly FrozenDictionary<string, Asset> Files = Load();

    public static string Stylesheet => Url("dashboard.css");

    public static string Script => Url("dashboard.js");

    public static string Icon => Url("favicon.svg");

    public static string Blazor => Url("blazor.web.js");

    private static string Url(string name) => Prefix.TrimStart('/') + name + "?v=" + Files[name].Hash;

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet(Prefix + "{name}", Serve).AllowAnonymous().ExcludeFromDescription();

    private static IResult Serve(string name, HttpContext context)
    {
        if (!Files.TryGetValue(name, out var asset))
        {
            return Results.NotFound();
        }

        var headers = context.Response.GetTypedHeaders();
        headers.CacheControl = context.Request.Query["v"] == asset.Hash
            ? new CacheControlHeaderValue { Public = true, MaxAge = TimeSpan.FromDays(365), Extensions = { new NameValueHeaderValue("immutable") } }
            : new CacheControlHeaderValue { NoCache = true };
        var etag = new EntityTagHeaderValue("\"" + asset.Hash + "\"");
        headers.ETag = etag;
        if (context.Request.GetTypedHeaders().IfNoneMatch.Any(t => t.Compare(etag, useStrongComparison: false)))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("assets/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var name = resource["assets/".Length..];
            var hash = Convert.ToHexStringLower(SHA256.HashData(content))[..16];
            files[name] = new Asset(content, ContentType(name), hash);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Content, string ContentType, string Hash);
}
