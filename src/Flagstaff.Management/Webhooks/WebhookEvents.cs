namespace Flagstaff.Management.Webhooks;

/// <summary>The event types a webhook can be sent, and which recorded change is which.</summary>
public static class WebhookEvents
{
    public const string FlagCreated = "flag.created";
    public const string FlagChanged = "flag.changed";
    public const string FlagTurnedOn = "flag.turned-on";
    public const string FlagTurnedOff = "flag.turned-off";
    public const string FlagArchived = "flag.archived";
    public const string FlagDeleted = "flag.deleted";
    public const string TargetingChanged = "targeting.changed";
    public const string GuardRollback = "guard.rollback";
    public const string KeyCreated = "key.created";
    public const string KeyRevoked = "key.revoked";

    /// <summary>Every event type, in the order the dashboard shows them.</summary>
    public static IReadOnlyList<string> All { get; } =
        [FlagCreated, FlagChanged, FlagTurnedOn, FlagTurnedOff, FlagArchived, FlagDeleted, TargetingChanged, GuardRollback, KeyCreated, KeyRevoked];

    /// <summary>Whether an event concerns one environment (the others concern the whole project).</summary>
    public static bool IsPerEnvironment(string type) => type is FlagTurnedOn or FlagTurnedOff or TargetingChanged or GuardRollback or KeyCreated or KeyRevoked;

    /// <summary>
    /// The event a recorded change is, or null for changes no webhook hears of. Every change is recorded
    /// in the history through one method, which asks this: no way of changing a flag or a key can be
    /// missed.
    /// </summary>
    public static string? Of(string resourceType, string action, bool existedBefore, bool perEnvironment) => resourceType switch
    {
        "flag" => action switch
        {
            "created" => FlagCreated,
            "imported" => existedBefore ? FlagChanged : FlagCreated,
            "archived" => FlagArchived,
            "deleted" => FlagDeleted,
            "enabled" => FlagTurnedOn,
            "disabled" => FlagTurnedOff,
            "guard-rollback" => GuardRollback,

            // Targeting edits, and the migration actions, change one environment's targeting.
            _ when perEnvironment => TargetingChanged,
            _ => FlagChanged,
        },
        "api-key" => action switch
        {
            "created" => KeyCreated,
            "revoked" => KeyRevoked,
            _ => null,
        },
        _ => null,
    };
}
