using System.Globalization;
using Flagstaff.Domain;

namespace Flagstaff.Dashboard.Model;

/// <summary>The words the dashboard shows for the model's values.</summary>
public static class Labels
{
    /// <summary>A role, as a person says it.</summary>
    public static string Role(Role role) => role switch
    {
        Domain.Role.Viewer => "viewer",
        Domain.Role.Editor => "editor",
        Domain.Role.Admin => "admin",
        _ => "owner",
    };

    /// <summary>A flag kind, as a person says it.</summary>
    public static string Kind(FlagKind kind) => kind switch
    {
        FlagKind.Release => "Release",
        FlagKind.KillSwitch => "Kill switch",
        FlagKind.Experiment => "Experiment",
        FlagKind.Operational => "Operational",
        FlagKind.Permission => "Permission",
        _ => "Migration",
    };

    /// <summary>Whether flags of a kind are meant to be removed once rolled out (and so can go stale).</summary>
    public static bool IsTemporary(FlagKind kind) => kind is FlagKind.Release or FlagKind.Experiment or FlagKind.Migration;

    /// <summary>A value type, as a person says it.</summary>
    public static string ValueType(FlagValueType type) => type switch
    {
        FlagValueType.Boolean => "Boolean",
        FlagValueType.String => "String",
        FlagValueType.Number => "Number",
        _ => "JSON",
    };

    /// <summary>A context property type, as a person says it.</summary>
    public static string PropertyType(PropertyType type) => type switch
    {
        Domain.PropertyType.String => "Text",
        Domain.PropertyType.Version => "Version",
        Domain.PropertyType.Phone => "Phone number",
        Domain.PropertyType.UserAgent => "User agent",
        Domain.PropertyType.Ip => "IP address",
        Domain.PropertyType.Language => "Language",
        Domain.PropertyType.Country => "Country",
        Domain.PropertyType.Currency => "Currency",
        Domain.PropertyType.Number => "Number",
        Domain.PropertyType.StringArray => "List of text",
        Domain.PropertyType.Date => "Date",
        Domain.PropertyType.Boolean => "Boolean",
        _ => "One of a list",
    };

    /// <summary>A percentage without needless decimals: 20, 33.333.</summary>
    public static string Percent(double value) => Math.Round(value, 3).ToString("0.###", CultureInfo.InvariantCulture) + "%";

    /// <summary>An instant in UTC, compact.</summary>
    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>How long ago, roughly: "just now", "5 min ago", "3 days ago", or the date.</summary>
    public static string Ago(DateTimeOffset at, DateTimeOffset now)
    {
        var span = now - at;
        return span.TotalSeconds switch
        {
            < 45 => "just now",
            < 3600 => string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, (int)span.TotalMinutes)} min ago"),
            < 86_400 => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours} h ago"),
            < 86_400 * 30 => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalDays} days ago"),
            _ => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>What an audit or history action means, in words.</summary>
    public static string Action(string action, string? environment) => action switch
    {
        "created" => "created",
        "updated" => "changed settings",
        "targeting-updated" => "changed targeting" + In(environment),
        "enabled" => "turned on" + In(environment),
        "disabled" => "turned off" + In(environment),
        "archived" => "archived",
        "restored" => "restored",
        "reverted" => "restored an earlier version" + In(environment),
        "deleted" => "deleted",
        "revoked" => "revoked",
        "password-changed" => "changed the password",
        _ => action.Replace('-', ' '),
    };

    private static string In(string? environment) => environment is null ? "" : " in " + environment;
}
