using System.Globalization;
using Flagstaff.Management.Services;

namespace Flagstaff.Server.Http;

/// <summary>Optimistic concurrency over HTTP: versions as ETags, expected versions from If-Match.</summary>
public static class Versions
{
    public static string ETag(long version) => "\"" + version.ToString(CultureInfo.InvariantCulture) + "\"";

    /// <summary>Adds the ETag of a version to the response.</summary>
    public static void SetETag(HttpContext context, long version) => context.Response.Headers.ETag = ETag(version);

    /// <summary>The version the client's change is based on; a change without one is refused (428).</summary>
    public static long Expected(HttpContext context)
    {
        var header = context.Request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            throw new PreconditionRequiredException(
                "Send the version your change is based on in an If-Match header (the ETag of the resource as you read it), so that nobody's change is overwritten unseen.");
        }

        var text = header.Trim();
        if (text.StartsWith("W/", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        text = text.Trim('"');
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long version)
            ? version
            : throw new Domain.DomainValidationException("If-Match", $"\"{header}\" is not a version: send the ETag as you received it, such as \"3\"");
    }
}
