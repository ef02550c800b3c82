using System.ComponentModel.DataAnnotations;
using Flagstaff.Domain;

namespace Flagstaff.Server;

/// <summary>The server's settings, bound from the <c>Flagstaff</c> configuration section.</summary>
public sealed class FlagstaffOptions
{
    public const string Section = "Flagstaff";

    /// <summary>
    /// Where the embedded database and the server key file live. Default: <see cref="DefaultDataDirectory"/>,
    /// the same folder whichever directory the server is started from; a relative path is taken from
    /// the content root (the folder of the server's project under <c>dotnet run</c>).
    /// </summary>
    [Required]
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>
    /// The user's local data folder plus <c>flagstaff</c>: <c>$XDG_DATA_HOME/flagstaff</c> or
    /// <c>~/.local/share/flagstaff</c> on Linux, <c>~/Library/Application Support/flagstaff</c> on macOS,
    /// <c>%LOCALAPPDATA%\flagstaff</c> on Windows; <c>data</c> under the content root when the system
    /// names no such folder (an account without a home directory).
    /// </summary>
    public static string DefaultDataDirectory { get; } =
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify) is { Length: > 0 } folder
            ? Path.Combine(folder, "flagstaff")
            : "data";

    public StorageOptions Storage { get; set; } = new();

    public SetupOptions Setup { get; set; } = new();

    public ProvisioningOptions Provisioning { get; set; } = new();

    public LimitOptions Limits { get; set; } = new();
}

public sealed class StorageOptions
{
    /// <summary>A PostgreSQL connection string; when set, PostgreSQL is used instead of the embedded SQLite file.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>The SQLite file; default <c>{DataDirectory}/flagstaff.db</c>.</summary>
    public string? SqlitePath { get; set; }

    /// <summary>
    /// How long one database command (and opening a PostgreSQL connection, and waiting for SQLite's
    /// lock) may take before the request fails with 503 (default 5 s): a database that stopped
    /// answering must not hold requests for minutes.
    /// </summary>
    [Range(1, 3600)]
    public int CommandTimeoutSeconds { get; set; } = 5;

    /// <summary>How often the readiness check asks the database to answer <c>SELECT 1</c> (default 2 s).</summary>
    [Range(0.1, 3600)]
    public double ProbeIntervalSeconds { get; set; } = 2;

    /// <summary>How long that query may take before the database counts as unreachable (default 2 s).</summary>
    [Range(0.1, 60)]
    public double ProbeTimeoutSeconds { get; set; } = 2;

    /// <summary>The largest the SQLite file may grow, in MiB (0: no limit but the disk's); past it, changes fail with 507.</summary>
    [Range(0, 1 << 24)]
    public long SqliteMaxSizeMegabytes { get; set; }
}

/// <summary>How the first account is made: an owner from configuration, or a one-time setup token.</summary>
public sealed class SetupOptions
{
    /// <summary>When set with <see cref="OwnerPassword"/>, the owner account is created at first start.</summary>
    [EmailAddress]
    public string? OwnerEmail { get; set; }

    /// <summary>The first owner's password (at least 10 characters).</summary>
    [MinLength(10)]
    public string? OwnerPassword { get; set; }

    /// <summary>The first owner's display name.</summary>
    public string OwnerName { get; set; } = "Owner";
}

/// <summary>What to create at start for CI and containers, from configuration.</summary>
public sealed class ProvisioningOptions
{
    /// <summary>A project document (JSON, as the export produces) imported at start when its project does not exist yet.</summary>
    public string? ProjectFile { get; set; }

    /// <summary>API keys whose secrets are given here, created at start unless they exist.</summary>
    public List<ProvisionedApiKey> ApiKeys { get; set; } = [];

    /// <summary>A personal access token with the admin role, created at start unless it exists.</summary>
    [MinLength(16)]
    public string? AdminToken { get; set; }
}

public sealed class ProvisionedApiKey
{
    [Required]
    public string Project { get; set; } = "";

    [Required]
    public string Environment { get; set; } = "";

    public ApiKeyKind Kind { get; set; } = ApiKeyKind.Server;

    public string Name { get; set; } = "provisioned";

    [Required]
    [MinLength(16)]
    public string Secret { get; set; } = "";
}

/// <summary>Explicit limits on what a request may carry.</summary>
public sealed class LimitOptions
{
    /// <summary>The largest request body, except imports (default 1 MiB).</summary>
    [Range(1024, 1 << 30)]
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>The largest import document (default 32 MiB).</summary>
    [Range(1024, 1 << 30)]
    public long MaxImportBytes { get; set; } = 32 << 20;

    /// <summary>How deeply JSON may nest.</summary>
    [Range(4, 256)]
    public int MaxJsonDepth { get; set; } = 32;
}
