using System.Text;
using System.Xml.Linq;
using Flagstaff.Storage;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Flagstaff.Management.Security;

/// <summary>
/// Keeps ASP.NET Core's data-protection keys (which sign session cookies and anti-forgery tokens) in
/// the database, so every server node accepts the sessions of the others and restarts keep members
/// signed in. Each key document is sealed with the server key, which is not in the database: a copy of
/// the database alone cannot forge a session.
/// </summary>
public sealed class DataProtectionKeys(Store store, ServerKey serverKey) : IXmlRepository
{
    internal const string Purpose = "data-protection key";

    // Only sealed documents count: start-up seals the older plaintext ones, and a plaintext key written
    // into the database later by someone else must not be able to sign cookies.
    public IReadOnlyCollection<XElement> GetAllElements() =>
        [.. store.ReadAsync(s => s.ListDataProtectionKeysAsync()).GetAwaiter().GetResult().Where(ServerKey.IsSealed).Select(x => XElement.Parse(Open(x, out _)))];

    public void StoreElement(XElement element, string friendlyName)
    {
        var xml = Seal(element.ToString(SaveOptions.DisableFormatting));
        store.WriteAsync(s => s.InsertDataProtectionKeyAsync(friendlyName, xml, DateTimeOffset.UtcNow)).GetAwaiter().GetResult();
    }

    /// <summary>
    /// Seals the documents stored in plaintext before the server key existed, and those sealed with the
    /// previous key during a rotation; returns how many were sealed again.
    /// </summary>
    public async Task<int> SealStoredAsync(StoreSession session)
    {
        int sealedAgain = 0;
        foreach (var (id, stored) in await session.ListDataProtectionKeyRowsAsync().ConfigureAwait(false))
        {
            var xml = Open(stored, out bool stale);
            if (stale || !ServerKey.IsSealed(stored))
            {
                await session.UpdateDataProtectionKeyAsync(id, Seal(xml)).ConfigureAwait(false);
                sealedAgain++;
            }
        }

        return sealedAgain;
    }

    private string Seal(string xml) => serverKey.Seal(Purpose, Encoding.UTF8.GetBytes(xml));

    private string Open(string stored, out bool stale)
    {
        stale = false;
        return ServerKey.IsSealed(stored) ? Encoding.UTF8.GetString(serverKey.Open(Purpose, stored, out stale)) : stored;
    }
}
