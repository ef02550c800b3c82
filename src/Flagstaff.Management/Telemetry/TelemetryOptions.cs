namespace Flagstaff.Management.Telemetry;

/// <summary>Metrics and traces: the Prometheus scrape endpoint and OTLP export, bound from <c>Flagstaff:Telemetry</c>.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Flagstaff:Telemetry";

    public PrometheusOptions Prometheus { get; set; } = new();

    /// <summary>
    /// Where to send metrics and traces with OTLP (for example <c>http://collector:4317</c>); none
    /// when empty.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (default, port 4317) or <c>http/protobuf</c> (port 4318).</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>
    /// Whether evaluations are also counted per flag (one series per flag and environment); the
    /// per-environment count is always there.
    /// </summary>
    public bool FlagEvaluations { get; set; } = true;

    /// <summary>Whether anything collects metrics or traces (when not, OpenTelemetry is not set up at all).</summary>
    public bool Enabled => Prometheus.Enabled || HasOtlp;

    public bool HasOtlp => !string.IsNullOrWhiteSpace(OtlpEndpoint);

    /// <summary>What is wrong with the settings, one sentence each naming the setting.</summary>
    public IEnumerable<string> Problems()
    {
        if (Prometheus.Enabled && string.IsNullOrEmpty(Prometheus.Token) && Prometheus.Port is null)
        {
            yield return $"{Section}:Prometheus:Enabled is true, but neither {Section}:Prometheus:Token nor {Section}:Prometheus:Port is set: "
                + "the metrics name projects, environments and flags, so the endpoint needs a token (or a port of its own, kept from the outside).";
        }

        if (Prometheus.Token is { } token && token.Length < PrometheusOptions.MinTokenLength)
        {
            yield return $"{Section}:Prometheus:Token must be at least {PrometheusOptions.MinTokenLength} characters.";
        }

        if (Prometheus.Port is { } port && port is < 1 or > 65535)
        {
            yield return $"{Section}:Prometheus:Port must be a TCP port (1 to 65535), not {port}.";
        }

        if (HasOtlp && !(Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            yield return $"{Section}:OtlpEndpoint must be an absolute http or https URL, not \"{OtlpEndpoint}\".";
        }

        if (OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            yield return $"{Section}:OtlpProtocol must be \"grpc\" or \"http/protobuf\", not \"{OtlpProtocol}\".";
        }
    }
}

/// <summary>The Prometheus scrape endpoint, <c>GET /metrics</c>.</summary>
public sealed class PrometheusOptions
{
    public const int MinTokenLength = 16;

    /// <summary>Whether <c>/metrics</c> answers at all (off by default).</summary>
    public bool Enabled { get; set; }

    /// <summary>The bearer token a scraper must send (<c>Authorization: Bearer ...</c>).</summary>
    public string? Token { get; set; }

    /// <summary>
    /// A port of its own for <c>/metrics</c> (it then answers there only, on every address of the
    /// host, and the server's other URLs do not serve it).
    /// </summary>
    public int? Port { get; set; }
}
