using Flagstaff.Domain;

namespace Flagstaff.Storage;

/// <summary>A page of results and the total number that matched.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Items">This page's items.</param>
/// <param name="Total">How many items matched in all.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, long Total);

/// <summary>What to list of a project's flags.</summary>
public sealed record FlagQuery
{
    /// <summary>Text found in the key, name or description (case-insensitive).</summary>
    public string? Search { get; init; }

    /// <summary>Only flags with this tag.</summary>
    public string? Tag { get; init; }

    /// <summary>Only flags of this kind.</summary>
    public FlagKind? Kind { get; init; }

    /// <summary>True: archived flags only; false: active flags only; null: both.</summary>
    public bool? Archived { get; init; } = false;

    /// <summary>How many to skip.</summary>
    public int Offset { get; init; }

    /// <summary>How many to return at most.</summary>
    public int Limit { get; init; } = 50;
}

/// <summary>Which of a project's context properties to list.</summary>
public sealed record PropertyQuery
{
    /// <summary>Text found in the key, name or description (case-insensitive).</summary>
    public string? Search { get; init; }

    /// <summary>True: only those learned from reports; false: only those defined by hand; null: both.</summary>
    public bool? Learned { get; init; }

    /// <summary>Only these keys (null: any).</summary>
    public IReadOnlyList<string>? Keys { get; init; }

    /// <summary>How many to skip.</summary>
    public int Offset { get; init; }

    /// <summary>How many to return at most.</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>Which audit entries to list, newest first.</summary>
public sealed record AuditQuery
{
    /// <summary>Only this project's.</summary>
    public string? ProjectId { get; init; }

    /// <summary>Only this flag's.</summary>
    public string? FlagId { get; init; }

    /// <summary>Only this environment's.</summary>
    public string? EnvironmentId { get; init; }

    /// <summary>Only this account's.</summary>
    public string? ActorId { get; init; }

    /// <summary>Only entries at or after this instant.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only entries before this instant.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Only entries older than this id (the next page after an entry).</summary>
    public long? BeforeId { get; init; }

    /// <summary>How many to return at most.</summary>
    public int Limit { get; init; } = 50;
}

/// <summary>Evaluations of one flag that returned one value, for one client, in one minute.</summary>
public sealed record UsageCount
{
    /// <summary>The environment.</summary>
    public required string EnvironmentId { get; init; }

    /// <summary>The flag.</summary>
    public required string FlagKey { get; init; }

    /// <summary>Minutes since the Unix epoch.</summary>
    public long Minute { get; init; }

    /// <summary>The value returned, as JSON text.</summary>
    public required string Value { get; init; }

    /// <summary>The SDK client that reported it ("" when unnamed).</summary>
    public string Client { get; init; } = "";

    /// <summary>How many evaluations.</summary>
    public long Count { get; init; }
}

/// <summary>The measurements of one migration flag, stage and operation in one 10-second window of an environment.</summary>
public sealed record MigrationWindow
{
    /// <summary>The environment.</summary>
    public required string EnvironmentId { get; init; }

    /// <summary>The flag's key.</summary>
    public required string FlagKey { get; init; }

    /// <summary>The window's start in Unix seconds (a multiple of 10).</summary>
    public long WindowStart { get; init; }

    /// <summary>The stage the calls ran at.</summary>
    public required string Stage { get; init; }

    /// <summary><c>read</c> or <c>write</c>.</summary>
    public required string Operation { get; init; }

    /// <summary>Calls to the old side.</summary>
    public long OldInvoked { get; init; }

    /// <summary>Calls to the old side that threw.</summary>
    public long OldErrors { get; init; }

    /// <summary>Calls to the new side.</summary>
    public long NewInvoked { get; init; }

    /// <summary>Calls to the new side that threw.</summary>
    public long NewErrors { get; init; }

    /// <summary>Reads whose two results were compared.</summary>
    public long Compared { get; init; }

    /// <summary>Compared reads whose results differed.</summary>
    public long Inconsistent { get; init; }

    /// <summary>Non-authoritative writes that failed.</summary>
    public long FailedWrites { get; init; }
}

/// <summary>One bucket of a latency histogram of a migration window (bucket i: up to 10 µs × 1.25^i).</summary>
public sealed record MigrationLatency
{
    /// <summary>The environment.</summary>
    public required string EnvironmentId { get; init; }

    /// <summary>The flag's key.</summary>
    public required string FlagKey { get; init; }

    /// <summary>The window's start in Unix seconds.</summary>
    public long WindowStart { get; init; }

    /// <summary>The stage.</summary>
    public required string Stage { get; init; }

    /// <summary><c>read</c> or <c>write</c>.</summary>
    public required string Operation { get; init; }

    /// <summary><c>old</c> or <c>new</c>.</summary>
    public required string Side { get; init; }

    /// <summary>The bucket (0 to 79).</summary>
    public int Bucket { get; init; }

    /// <summary>Calls in the bucket.</summary>
    public long Count { get; init; }
}

/// <summary>An account with its password hash, for signing in.</summary>
/// <param name="Account">The account.</param>
/// <param name="PasswordHash">The hash, or null when no password was ever set.</param>
public sealed record AccountCredentials(Account Account, string? PasswordHash);

/// <summary>A change to an environment's compiled configuration.</summary>
/// <param name="EnvironmentId">The environment.</param>
/// <param name="Version">Its configuration version after the change.</param>
/// <param name="Changed">The keys of the flags that changed (added, updated or removed).</param>
/// <param name="At">When.</param>
public sealed record ConfigChange(string EnvironmentId, long Version, IReadOnlyList<string> Changed, DateTimeOffset At);

/// <summary>A delivery due to be sent, with what sending it needs from its webhook.</summary>
/// <param name="Delivery">The delivery.</param>
/// <param name="ProjectId">The webhook's project.</param>
/// <param name="Url">Where to send it.</param>
/// <param name="SealedSecret">The webhook's signing secret, sealed with the server key.</param>
public sealed record DueWebhookDelivery(WebhookDelivery Delivery, string ProjectId, string Url, string SealedSecret);

/// <summary>How one attempt at a delivery ended.</summary>
public sealed record WebhookAttempt
{
    /// <summary>Where the delivery stands after it.</summary>
    public WebhookDeliveryState State { get; init; }

    /// <summary>When it was made.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>When to try again (while still pending).</summary>
    public DateTimeOffset NextAttemptAt { get; init; }

    /// <summary>The receiver's HTTP status, if it answered.</summary>
    public int? Status { get; init; }

    /// <summary>Why it failed, if it did.</summary>
    public string? Error { get; init; }
}
