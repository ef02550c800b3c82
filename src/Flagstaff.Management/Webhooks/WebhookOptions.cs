using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Flagstaff.Management.Webhooks;

/// <summary>How webhooks are sent (the <c>Flagstaff:Webhooks</c> section).</summary>
public sealed class WebhookOptions : IValidatableObject
{
    public const string Section = "Flagstaff:Webhooks";

    /// <summary>
    /// Whether this node sends deliveries (default true). Events are recorded whatever this says; with
    /// several nodes, any that send share the work and each delivery is sent by one of them.
    /// </summary>
    public bool Deliver { get; set; } = true;

    /// <summary>
    /// Networks (CIDR, such as <c>10.20.0.0/16</c> or <c>127.0.0.1/32</c>) a webhook may reach although
    /// they are private, loopback, link-local or otherwise internal. Empty by default: only public
    /// addresses are reached.
    /// </summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>How long one attempt may take, connecting included (default 10 s).</summary>
    [Range(0.1, 120)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>The wait before the first retry (default 10 s); each further retry waits twice as long.</summary>
    [Range(0.01, 3600)]
    public double FirstRetrySeconds { get; set; } = 10;

    /// <summary>The longest wait between two retries (default 1 h).</summary>
    [Range(0.01, 86400)]
    public double MaxRetryDelaySeconds { get; set; } = 3600;

    /// <summary>How long after the change a delivery is retried before it is given up (default 24 h).</summary>
    [Range(0.1, 2_592_000)]
    public double RetryForSeconds { get; set; } = 86400;

    /// <summary>How often a node looks for deliveries made by other nodes or due for a retry (default 1 s).</summary>
    [Range(0.01, 60)]
    public double PollSeconds { get; set; } = 1;

    /// <summary>How many deliveries (of different webhooks) a node sends at once (default 8).</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 8;

    /// <summary>How long delivered and failed deliveries stay in the log (default 7 days).</summary>
    [Range(1, 365)]
    public int KeepDays { get; set; } = 7;

    /// <summary>How many webhooks a project may have (default 20).</summary>
    [Range(1, 1000)]
    public int MaxPerProject { get; set; } = 20;

    internal TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    /// <summary>The parsed <see cref="AllowedNetworks"/>.</summary>
    internal IReadOnlyList<IPNetwork> Networks => [.. AllowedNetworks.Select(n => IPNetwork.Parse(n.Trim()))];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var network in AllowedNetworks)
        {
            if (!IPNetwork.TryParse(network?.Trim(), out _))
            {
                yield return new ValidationResult(
                    $"Flagstaff:Webhooks:AllowedNetworks: \"{network}\" is not a network in CIDR notation, such as 10.20.0.0/16 or fd00::/8.", [nameof(AllowedNetworks)]);
            }
        }

        if (MaxRetryDelaySeconds < FirstRetrySeconds)
        {
            yield return new ValidationResult("Flagstaff:Webhooks:MaxRetryDelaySeconds must be at least FirstRetrySeconds.", [nameof(MaxRetryDelaySeconds)]);
        }
    }
}
