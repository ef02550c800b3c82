using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Server.Security;

namespace Flagstaff.Server.Streaming;

/// <summary>
/// The opaque URLs of OFREP event streams. Browsers' EventSource cannot send headers and API keys never
/// go in URLs, so each environment gets a channel id derived from the server's secret key: it reveals
/// only that something changed, nothing about the configuration.
/// </summary>
public sealed class OfrepChannels(Secrets secrets, SnapshotCache snapshots)
{
    private readonly ConcurrentDictionary<string, string> _channels = new(StringComparer.Ordinal);

    public string ChannelOf(string environmentId) => _channels.GetOrAdd(environmentId, id =>
        Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(secrets.Hash("ofrep-events:" + id))))[..22].Replace('+', '-').Replace('/', '_'));

    public string? Resolve(string channel)
    {
        foreach (var id in snapshots.EnvironmentIds)
        {
            if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(ChannelOf(id)), Encoding.UTF8.GetBytes(channel)))
            {
                return id;
            }
        }

        return null;
    }
}
