namespace Flagstaff;

/// <summary>
/// Every log event id of the server, in one place, by area (as npgsql's <c>NpgsqlEventId</c>): ids are
/// stable, because alerts and log queries select on them. A new event takes the next id of its area's
/// range; an id is never reused. (The SDK numbers its own events, from 6000, in its <c>Log</c> class.)
/// </summary>
public static class LogEvents
{
    // 99-199: starting up (storage, the first owner, provisioning, the server key).

    /// <summary>The server could not start.</summary>
    public const int StartFailed = 99;

    /// <summary>The storage in use and its schema.</summary>
    public const int StorageOpened = 100;

    /// <summary>The first owner was created from configuration.</summary>
    public const int OwnerCreated = 101;

    /// <summary>No account exists: the setup link.</summary>
    public const int SetupLink = 102;

    /// <summary>A project was imported by provisioning.</summary>
    public const int ProjectProvisioned = 103;

    /// <summary>An API key was created by provisioning.</summary>
    public const int ApiKeyProvisioned = 104;

    /// <summary>The admin access token was created by provisioning.</summary>
    public const int AdminTokenProvisioned = 105;

    /// <summary>The server key file was created.</summary>
    public const int ServerKeyCreated = 106;

    /// <summary>Stored secrets were sealed with the server key.</summary>
    public const int SecretsSealed = 107;

    // 1000-1099: HTTP.

    /// <summary>An unexpected error answered 500.</summary>
    public const int UnexpectedError = 1000;

    /// <summary>The storage was unavailable for a request (503).</summary>
    public const int StorageUnavailable = 1001;

    // 2000-2099: the data plane's snapshots.

    /// <summary>The snapshots could not be updated from their source; the last ones are served.</summary>
    public const int SnapshotUpdateFailed = 2000;

    // 2100-2199: API keys.

    /// <summary>API keys could not be reloaded or recorded.</summary>
    public const int ApiKeysRefreshFailed = 2100;

    // 2200-2299: changes from other nodes (PostgreSQL LISTEN).

    /// <summary>Listening for other nodes' changes.</summary>
    public const int ListeningForChanges = 2200;

    /// <summary>The change notifications were lost; reconnecting.</summary>
    public const int ListenFailed = 2201;

    // 2300-2399: what SDKs report, and evaluation's warm-up.

    /// <summary>Usage could not be written; it waits in memory.</summary>
    public const int UsageFlushFailed = 2300;

    /// <summary>Usage could not be written and was dropped.</summary>
    public const int UsageDropped = 2301;

    /// <summary>Usage reports went past their limits.</summary>
    public const int UsageReportLimited = 2302;

    /// <summary>Migration measurements could not be written; they wait in memory.</summary>
    public const int MigrationMeasurementsFlushFailed = 2310;

    /// <summary>Migration measurements could not be written and were dropped.</summary>
    public const int MigrationMeasurementsDropped = 2311;

    /// <summary>The configuration was not loaded in time at start; listening anyway.</summary>
    public const int WarmupTimedOut = 2320;

    // 2400-2499: migration guards.

    /// <summary>A guard rolled a migration back.</summary>
    public const int GuardRolledBack = 2400;

    /// <summary>The guards could not run.</summary>
    public const int GuardFailed = 2401;

    // 2500-2599: storage health.

    /// <summary>The database failed its health check.</summary>
    public const int StorageUnhealthy = 2500;

    /// <summary>The database answers its health check again.</summary>
    public const int StorageRecovered = 2501;

    // 2800-2899: single sign-on.

    /// <summary>Signed in with single sign-on.</summary>
    public const int SingleSignOnSignedIn = 2800;

    /// <summary>Single sign-on refused someone.</summary>
    public const int SingleSignOnRefused = 2801;

    /// <summary>Single sign-on failed.</summary>
    public const int SingleSignOnFailed = 2802;

    // 2900-2999: webhooks.

    /// <summary>A webhook delivery attempt failed (it is retried).</summary>
    public const int WebhookAttemptFailed = 2900;

    /// <summary>A webhook delivery was given up.</summary>
    public const int WebhookGivenUp = 2901;

    /// <summary>Webhook deliveries could not be sent.</summary>
    public const int WebhookDispatchFailed = 2902;

    /// <summary>A webhook delivery's lease ran out before its attempt was recorded.</summary>
    public const int WebhookLeaseLost = 2903;
}
