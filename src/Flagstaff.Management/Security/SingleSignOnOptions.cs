using Flagstaff.Domain;
using Microsoft.Extensions.Options;

namespace Flagstaff.Management.Security;

/// <summary>Who may sign in with an e-mail and password (<c>Flagstaff:Sso:PasswordSignIn</c>).</summary>
public enum PasswordSignInMode
{
    /// <summary>Every member (the default).</summary>
    Enabled,

    /// <summary>Owners only: the way back in when the identity provider cannot be used.</summary>
    OwnersOnly,

    /// <summary>No one: members sign in with single sign-on (personal access tokens still work).</summary>
    Disabled,
}

/// <summary>Single sign-on with an OpenID Connect provider (the <c>Flagstaff:Sso</c> section); off while <see cref="Authority"/> is unset.</summary>
public sealed class SingleSignOnOptions
{
    public const string Section = "Flagstaff:Sso";

    /// <summary>The most a claim may carry that Flagstaff reads (names, e-mails, subjects, group names).</summary>
    public const int MaxClaimLength = 1024;

    /// <summary>The most groups or roles a sign-in may carry; more are refused rather than read.</summary>
    public const int MaxGroups = 500;

    /// <summary>The provider's issuer (e.g. <c>https://login.example.com/realms/staff</c>): its discovery document is at <c>{Authority}/.well-known/openid-configuration</c>, and its tokens must name exactly this issuer.</summary>
    public string? Authority { get; set; }

    /// <summary>The client id Flagstaff is registered with at the provider.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client secret (a confidential client); the code flow uses PKCE as well.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The provider's name on the sign-in page ("Sign in with ...").</summary>
    public string DisplayName { get; set; } = "single sign-on";

    /// <summary>Scopes asked for besides <c>openid profile email</c> (e.g. <c>groups</c>, <c>roles</c>).</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Where the provider sends the browser back to; register <c>{server}{CallbackPath}</c> at the provider.</summary>
    public string CallbackPath { get; set; } = "/signin-oidc";

    /// <summary>Refuse a provider whose metadata is not served over HTTPS (default true; false only for a provider on loopback in development).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Also read claims from the provider's userinfo endpoint (for providers that leave e-mail or groups out of the ID token).</summary>
    public bool GetClaimsFromUserInfoEndpoint { get; set; }

    /// <summary>Create a member at the first sign-in of someone the provider knows and Flagstaff does not (default false: an admin adds members first).</summary>
    public bool CreateMembers { get; set; }

    /// <summary>The role of a member created at sign-in when no <see cref="RoleMappings"/> entry applies (Viewer, Editor or Admin; default Viewer).</summary>
    public Role DefaultRole { get; set; } = Role.Viewer;

    /// <summary>The claim holding the person's groups or roles (default <c>groups</c>).</summary>
    public string RoleClaim { get; set; } = "groups";

    /// <summary>
    /// Values of <see cref="RoleClaim"/> and the role each gives (Viewer, Editor or Admin); the highest
    /// applies. When set, the provider decides the role at every sign-in (owners excepted).
    /// </summary>
    public Dictionary<string, Role> RoleMappings { get; set; } = [];

    /// <summary>Link a first sign-in to the existing member with the same e-mail, when the provider says the e-mail is verified (default true).</summary>
    public bool LinkByEmail { get; set; } = true;

    /// <summary>Take every e-mail the provider gives as verified, even without <c>email_verified</c> (a company directory that does not send the claim).</summary>
    public bool TrustEmail { get; set; }

    /// <summary>Who may still sign in with a password (default Enabled); Disabled or OwnersOnly need single sign-on configured.</summary>
    public PasswordSignInMode PasswordSignIn { get; set; } = PasswordSignInMode.Enabled;

    /// <summary>Whether single sign-on is configured.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(Authority);
}

/// <summary>Checks the <c>Flagstaff:Sso</c> section at start, so that a mistake stops the server with a sentence saying what to fix.</summary>
internal sealed class SingleSignOnOptionsValidator : IValidateOptions<SingleSignOnOptions>
{
    public ValidateOptionsResult Validate(string? name, SingleSignOnOptions options)
    {
        var errors = new List<string>();
        const string S = SingleSignOnOptions.Section;
        if (!options.IsEnabled)
        {
            if (options.PasswordSignIn != PasswordSignInMode.Enabled)
            {
                errors.Add($"{S}:PasswordSignIn is {options.PasswordSignIn}, but single sign-on is not configured ({S}:Authority): no one could sign in.");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }

        if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http") || authority.Query.Length > 0 || authority.Fragment.Length > 0)
        {
            errors.Add($"{S}:Authority must be the provider's issuer, an absolute http(s) URL without query (is \"{options.Authority}\").");
        }
        else if (authority.Scheme == "http" && options.RequireHttpsMetadata)
        {
            errors.Add($"{S}:Authority must use https (set {S}:RequireHttpsMetadata to false only for a provider on loopback in development).");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            errors.Add($"{S}:ClientId is required with {S}:Authority.");
        }

        if (string.IsNullOrWhiteSpace(options.DisplayName) || options.DisplayName.Length > 60)
        {
            errors.Add($"{S}:DisplayName must be 1 to 60 characters.");
        }

        if (!options.CallbackPath.StartsWith('/') || options.CallbackPath.StartsWith("/api", StringComparison.OrdinalIgnoreCase) || options.CallbackPath.Contains('?', StringComparison.Ordinal))
        {
            errors.Add($"{S}:CallbackPath must be a path starting with / and outside /api (is \"{options.CallbackPath}\").");
        }

        if (options.Scopes.Any(s => string.IsNullOrWhiteSpace(s) || s.Any(char.IsWhiteSpace)))
        {
            errors.Add($"{S}:Scopes must be single words.");
        }

        if (options.DefaultRole is not (Role.Viewer or Role.Editor or Role.Admin))
        {
            errors.Add($"{S}:DefaultRole must be Viewer, Editor or Admin: owners are made in Flagstaff, not by the provider.");
        }

        foreach (var (value, role) in options.RoleMappings)
        {
            if (role is not (Role.Viewer or Role.Editor or Role.Admin))
            {
                errors.Add($"{S}:RoleMappings:{value} must be Viewer, Editor or Admin: owners are made in Flagstaff, not by the provider.");
            }
        }

        if (options.RoleMappings.Count > 0 && string.IsNullOrWhiteSpace(options.RoleClaim))
        {
            errors.Add($"{S}:RoleClaim must name the claim that {S}:RoleMappings reads.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
