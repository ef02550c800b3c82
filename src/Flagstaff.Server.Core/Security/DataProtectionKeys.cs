using System.Xml.Linq;
using Flagstaff.Storage;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Flagstaff.Server.Security;

/// <summary>
/// Keeps ASP.NET Core's data-protection keys (which sign session cookies and anti-forgery tokens) in
/// the database, so every server node accepts the sessions of the others and restarts keep members
/// signed in.
/// </summary>
public sealed class DataProtectionKeys(Store store) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() =>
        [.. store.ReadAsync(s => s.ListDataProtectionKeysAsync()).GetAwaiter().GetResult().Select(x => XElement.Parse(x))];

    public void StoreElement(XElement element, string friendlyName) =>
        store.WriteAsync(s => s.InsertDataProtectionKeyAsync(friendlyName, element.ToString(SaveOptions.DisableFormatting), DateTimeOffset.UtcNow)).GetAwaiter().GetResult();
}
