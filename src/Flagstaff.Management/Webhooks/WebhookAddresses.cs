using System.Net;
using System.Net.Sockets;

namespace Flagstaff.Management.Webhooks;

/// <summary>
/// Which addresses a webhook may reach. Anything a project admin types as a URL is hostile to the
/// network the server sits in (its metadata service, its database, the admin ports of its neighbours):
/// only public unicast addresses are reached, unless a network is allowed by configuration. The check
/// is made on the address actually connected to, after name resolution, so a name that resolves to a
/// public address when the webhook is saved and to an internal one later (DNS rebinding) gets nowhere.
/// </summary>
public sealed class WebhookAddresses(IReadOnlyList<IPNetwork> allowed)
{
    private static readonly (IPNetwork Network, string Kind)[] RefusedV4 =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "an unspecified (\"this network\") address"),
        (IPNetwork.Parse("10.0.0.0/8"), "a private address"),
        (IPNetwork.Parse("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
        (IPNetwork.Parse("127.0.0.0/8"), "a loopback address"),
        (IPNetwork.Parse("169.254.0.0/16"), "a link-local address (where cloud metadata services live)"),
        (IPNetwork.Parse("172.16.0.0/12"), "a private address"),
        (IPNetwork.Parse("192.0.0.0/24"), "an IETF protocol address"),
        (IPNetwork.Parse("192.0.2.0/24"), "a documentation address"),
        (IPNetwork.Parse("192.88.99.0/24"), "a 6to4 relay address"),
        (IPNetwork.Parse("192.168.0.0/16"), "a private address"),
        (IPNetwork.Parse("198.18.0.0/15"), "a benchmarking address"),
        (IPNetwork.Parse("198.51.100.0/24"), "a documentation address"),
        (IPNetwork.Parse("203.0.113.0/24"), "a documentation address"),
        (IPNetwork.Parse("224.0.0.0/4"), "a multicast address"),
        (IPNetwork.Parse("240.0.0.0/4"), "a reserved address"),
    ];

    private static readonly (IPNetwork Network, string Kind)[] RefusedV6 =
    [
        (IPNetwork.Parse("::/128"), "the unspecified address"),
        (IPNetwork.Parse("::1/128"), "a loopback address"),
        (IPNetwork.Parse("100::/64"), "a discard address"),
        (IPNetwork.Parse("2001:db8::/32"), "a documentation address"),
        (IPNetwork.Parse("fc00::/7"), "a unique-local (private) address"),
        (IPNetwork.Parse("fe80::/10"), "a link-local address"),
        (IPNetwork.Parse("fec0::/10"), "a site-local address"),
        (IPNetwork.Parse("ff00::/8"), "a multicast address"),
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork Teredo = IPNetwork.Parse("2001::/32");
    private static readonly IPNetwork Compatible = IPNetwork.Parse("::/96");

    /// <summary>Why an address may not be reached, or null when it may.</summary>
    public string? Refusal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        foreach (var network in allowed)
        {
            if (network.Contains(address) || (address.IsIPv4MappedToIPv6 && network.Contains(address.MapToIPv4())))
            {
                return null;
            }
        }

        return Classify(address);
    }

    private static string? Classify(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            foreach (var (network, kind) in RefusedV4)
            {
                if (network.Contains(address))
                {
                    return kind;
                }
            }

            return address.Equals(IPAddress.Broadcast) ? "the broadcast address" : null;
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return "not an internet address";
        }

        // IPv6 forms that carry an IPv4 address reach that address: they are judged by it.
        if (address.IsIPv4MappedToIPv6)
        {
            return Embedded(address.MapToIPv4(), "an IPv4-mapped IPv6 address");
        }

        var bytes = address.GetAddressBytes();
        if (Nat64.Contains(address) || (Compatible.Contains(address) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.IPv6Loopback)))
        {
            return Embedded(new IPAddress(bytes.AsSpan(12, 4)), Nat64.Contains(address) ? "a NAT64 address" : "an IPv4-compatible IPv6 address");
        }

        if (SixToFour.Contains(address))
        {
            return Embedded(new IPAddress(bytes.AsSpan(2, 4)), "a 6to4 address");
        }

        if (Teredo.Contains(address))
        {
            // Tunnelled through relays to an obfuscated IPv4 address: nothing a webhook needs.
            return "a Teredo address";
        }

        foreach (var (network, kind) in RefusedV6)
        {
            if (network.Contains(address))
            {
                return kind;
            }
        }

        return null;
    }

    private static string? Embedded(IPAddress v4, string form) => Classify(v4) is { } kind ? $"{form} of {v4}, {kind}" : null;
}

/// <summary>A webhook's target is an address it may not reach.</summary>
public sealed class WebhookAddressRefusedException(string message) : Exception(message);
