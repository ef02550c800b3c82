namespace Flagstaff.Client;

/// <summary>How the client keeps its configuration up to date.</summary>
public enum SyncMode
{
    /// <summary>
    /// Server-Sent Events from <c>GET /stream</c>: changes arrive within milliseconds. When the server
    /// or a proxy does not support streaming, the client polls <c>GET /config</c> instead.
    /// </summary>
    Streaming,

    /// <summary>Polls <c>GET /config</c> every <see cref="FlagstaffClientOptions.PollInterval"/> (with an ETag, so an unchanged configuration costs almost nothing).</summary>
    Polling,

    /// <summary>Never contacts the server: evaluates the bootstrap configuration only (tests, air-gapped runs).</summary>
    Offline,
}

/// <summary>The settings of a <see cref="FlagstaffClient"/>. Bound from the <c>Flagstaff</c> configuration section by the ASP.NET Core integration.</summary>
public sealed class FlagstaffClientOptions
{
    /// <summary>The server's address, for example <c>https://flags.example.com/</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>A server API key of the environment to evaluate (sent in the <c>X-Tggl-Api-Key</c> header; never logged).</summary>
    public string? ServerKey { get; set; }

    /// <summary>Streaming (default), polling, or offline.</summary>
    public SyncMode Mode { get; set; } = SyncMode.Streaming;

    /// <summary>How often to poll in <see cref="SyncMode.Polling"/> mode, or after falling back from streaming. Default 15 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A stream that brings no byte (not even a heartbeat, which the server sends every 15 s) for this
    /// long is taken for dead and reopened. Default 45 s.
    /// </summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>How long to wait for the server to answer a request (response headers). Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first delay before reconnecting after a failure; it doubles at each failure in a row (with jitter). Default 1 s.</summary>
    public TimeSpan InitialReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between reconnection attempts. Default 30 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After the server refuses the key (401 or 403), how long to wait before asking again (a key
    /// created on another node may not be known everywhere yet; a revoked one never comes back). Default 5 min.
    /// </summary>
    public TimeSpan UnauthorizedRetryInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>After falling back to polling because streaming is unsupported, how often to try streaming again. Default 5 min.</summary>
    public TimeSpan StreamingRetryInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether to keep the last good configuration on disk (or in <see cref="ConfigurationStore"/>) and
    /// start from it when the server cannot be reached. Default true.
    /// </summary>
    public bool PersistConfiguration { get; set; } = true;

    /// <summary>
    /// The file the last good configuration is kept in. Default: a file named after a hash of the
    /// server address and key, in a <c>flagstaff</c> folder of the local application data (or temporary) folder.
    /// </summary>
    public string? CachePath { get; set; }

    /// <summary>Where to keep the last good configuration, instead of a file.</summary>
    public IConfigurationStore? ConfigurationStore { get; set; }

    /// <summary>
    /// A configuration file to start from when nothing better is available: a JSON array of flags (what
    /// <c>GET /config</c> serves and the CLI exports), or a file the client persisted.
    /// </summary>
    public string? BootstrapPath { get; set; }

    /// <summary>The same as <see cref="BootstrapPath"/>, given as JSON text.</summary>
    public string? BootstrapJson { get; set; }

    /// <summary>Whether to report which flags were evaluated, and to what, to <c>POST /report</c>. Default true.</summary>
    public bool ReportUsage { get; set; } = true;

    /// <summary>Whether usage reports include the context properties seen and their string values (they feed the dashboard's rule editor). Default true.</summary>
    public bool ReportContextValues { get; set; } = true;

    /// <summary>How often usage is sent. Default 10 s.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether migrations send their measurements to <c>POST /migrations/report</c> (the server's guards judge them). Default true.</summary>
    public bool ReportMigrations { get; set; } = true;

    /// <summary>How often migration measurements are sent. Default 5 s, the step of the server's guards.</summary>
    public TimeSpan MigrationReportInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The application's name, part of the client id in usage reports.</summary>
    public string? AppName { get; set; }

    /// <summary>
    /// The clock for the <c>timestamp</c> property that schedules read. Null for the system clock (read
    /// through a cheap coarse clock); set a fake one in tests.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Checks the settings; returns every problem found (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Mode != SyncMode.Offline)
        {
            if (BaseUrl is null)
            {
                errors.Add("BaseUrl is required (the Flagstaff server's address), unless Mode is Offline.");
            }
            else if (!BaseUrl.IsAbsoluteUri || (BaseUrl.Scheme != Uri.UriSchemeHttp && BaseUrl.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add("BaseUrl must be an absolute http or https address.");
            }

            if (string.IsNullOrWhiteSpace(ServerKey))
            {
                errors.Add("ServerKey is required (a server API key of the environment), unless Mode is Offline.");
            }
        }
        else if (BootstrapPath is null && BootstrapJson is null)
        {
            errors.Add("Offline mode needs a configuration: set BootstrapPath or BootstrapJson.");
        }

        Positive(errors, PollInterval, nameof(PollInterval));
        Positive(errors, HeartbeatTimeout, nameof(HeartbeatTimeout));
        Positive(errors, RequestTimeout, nameof(RequestTimeout));
        Positive(errors, InitialReconnectDelay, nameof(InitialReconnectDelay));
        Positive(errors, MaxReconnectDelay, nameof(MaxReconnectDelay));
        Positive(errors, StreamingRetryInterval, nameof(StreamingRetryInterval));
        Positive(errors, ReportInterval, nameof(ReportInterval));
        Positive(errors, MigrationReportInterval, nameof(MigrationReportInterval));
        Positive(errors, UnauthorizedRetryInterval, nameof(UnauthorizedRetryInterval));
        if (MaxReconnectDelay < InitialReconnectDelay)
        {
            errors.Add("MaxReconnectDelay must not be shorter than InitialReconnectDelay.");
        }

        return errors;
    }

    private static void Positive(List<string> errors, TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{name} must be positive.");
        }
    }
}
