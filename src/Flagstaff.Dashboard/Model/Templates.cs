using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Model;

/// <summary>The kinds of flag the "new flag" page starts from.</summary>
public enum FlagTemplate
{
    /// <summary>On everywhere; turned off in an emergency.</summary>
    KillSwitch,

    /// <summary>A percentage rollout.</summary>
    Release,

    /// <summary>On for e-mail addresses of a domain.</summary>
    PrivateBeta,

    /// <summary>On from a date.</summary>
    ScheduledRelease,

    /// <summary>An A/B/n test: a split across variants.</summary>
    Experiment,

    /// <summary>A remote configuration value.</summary>
    RemoteConfig,

    /// <summary>A migration from an old system to a new one, in stages (docs/adr/0004-migrations.md).</summary>
    Migration,
}

/// <summary>What the "new flag" form collects: the flag's identity, and what its template asks.</summary>
public sealed class NewFlagInput
{
    /// <summary>The template.</summary>
    public FlagTemplate Template { get; set; } = FlagTemplate.Release;

    /// <summary>Display name.</summary>
    public string Name { get; set; } = "";

    /// <summary>The key applications use.</summary>
    public string Key { get; set; } = "";

    /// <summary>Free text.</summary>
    public string? Description { get; set; }

    /// <summary>Tags, separated by commas.</summary>
    public string Tags { get; set; } = "";

    /// <summary>Release: the share that gets the feature once turned on.</summary>
    public double Percentage { get; set; } = 10;

    /// <summary>Private beta: the e-mail domain.</summary>
    public string Domain { get; set; } = "example.com";

    /// <summary>Scheduled release: when (UTC, as typed).</summary>
    public string ReleaseAt { get; set; } = "";

    /// <summary>A/B/n test: the variants, separated by commas.</summary>
    public string Variants { get; set; } = "control, variant-a, variant-b";

    /// <summary>Remote configuration: the value's JSON.</summary>
    public string ConfigValue { get; set; } = "{\n  \"timeoutMs\": 1500,\n  \"retries\": 3\n}";

    /// <summary>Migration: the stages it goes through (fixed once created).</summary>
    public MigrationPath Path { get; set; } = MigrationPath.Full;

    /// <summary>Migration: the share of reads compared in shadow and live, in percent.</summary>
    public double ComparePercent { get; set; } = 100;

    /// <summary>Whether the flag starts on, per environment key, as chosen; an environment not chosen for takes the template's default.</summary>
    public Dictionary<string, bool> StartsOn { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether the flag starts on in an environment: as chosen, else the template's default.</summary>
    public bool StartsOnIn(ProjectEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return StartsOn.TryGetValue(environment.Key, out var on) ? on : Templates.StartsOn(Template, environment);
    }
}

/// <summary>Turns a template and its answers into the request that creates the flag.</summary>
public static class Templates
{
    /// <summary>The templates, in the order offered, with a title and a sentence each.</summary>
    public static IReadOnlyList<(FlagTemplate Template, string Title, string Text, string Icon)> All { get; } =
    [
        (FlagTemplate.Release, "Release", "Roll a feature out to a sticky percentage of users, then grow it.", "sliders"),
        (FlagTemplate.KillSwitch, "Kill switch", "On from the start where you choose; one click turns the code path off.", "alert"),
        (FlagTemplate.PrivateBeta, "Private beta", "On for users whose e-mail ends with your domain.", "users"),
        (FlagTemplate.ScheduledRelease, "Scheduled release", "Turns itself on at a date and time you choose.", "calendar"),
        (FlagTemplate.Experiment, "A/B/n test", "Split users evenly across variants.", "grid"),
        (FlagTemplate.RemoteConfig, "Remote configuration", "Serve a JSON value your code reads at run time.", "code"),
        (FlagTemplate.Migration, "Migration", "Move from an old store to a new one in stages, with guards that send reads back.", "layers"),
    ];

    /// <summary>
    /// Whether a template's flag starts on in an environment unless the person creating it says
    /// otherwise. A kill switch runs its code path where it is on, but a critical environment changes
    /// only when someone decides; a scheduled release must be on for its launch to happen by itself
    /// (until the date everyone gets off); anything else starts off, to be turned on when ready.
    /// </summary>
    public static bool StartsOn(FlagTemplate template, ProjectEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return template switch
        {
            FlagTemplate.KillSwitch => !environment.Critical,
            FlagTemplate.ScheduledRelease => true,
            _ => false,
        };
    }

    /// <summary>Whether the starting state is asked for: a migration always starts at its first stage.</summary>
    public static bool AsksStartingState(FlagTemplate template) => template != FlagTemplate.Migration;

    /// <summary>What starting on or off means for a template's flag, under the question.</summary>
    public static string StartingStateHint(FlagTemplate template) => template switch
    {
        FlagTemplate.KillSwitch => "Where it is on, the code path runs; where it is off, applications get the default in their code. Critical environments start off unless you tick them.",
        FlagTemplate.ScheduledRelease => "Where it is on, the launch happens by itself at the date (until then everyone gets off). Where it is off, it never launches until someone turns it on.",
        _ => "Where it is off, applications get the default in their code; turn it on where you want it once you are ready.",
    };

    /// <summary>The request for a template's flag in a project with these environments.</summary>
    public static CreateFlagRequest Build(NewFlagInput input, IReadOnlyList<ProjectEnvironment> environments)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(environments);
        var tags = ClauseDraft.SplitValues(input.Tags);
        var request = new CreateFlagRequest
        {
            Key = input.Key.Trim(),
            Name = input.Name.Trim(),
            Description = string.IsNullOrWhiteSpace(input.Description) ? null : input.Description.Trim(),
            Tags = tags,
        };
        Dictionary<string, EnvironmentTargeting> All(Func<ProjectEnvironment, EnvironmentTargeting> make) =>
            environments.ToDictionary(e => e.Key, e => make(e) with { Enabled = input.StartsOnIn(e) }, StringComparer.Ordinal);

        return input.Template switch
        {
            FlagTemplate.KillSwitch => request with
            {
                Kind = FlagKind.KillSwitch,
                Environments = All(_ => new EnvironmentTargeting { DefaultServe = Serve.Of("on") }),
            },
            FlagTemplate.Release => request with
            {
                Kind = FlagKind.Release,
                Environments = All(_ => new EnvironmentTargeting
                {
                    DefaultServe = new Serve
                    {
                        Split = new Split
                        {
                            Buckets =
                            [
                                new SplitBucket { Variation = "on", Weight = Math.Round(input.Percentage, 3) },
                                new SplitBucket { Variation = "off", Weight = Math.Round(100 - input.Percentage, 3) },
                            ],
                        },
                    },
                }),
            },
            FlagTemplate.PrivateBeta => request with
            {
                Kind = FlagKind.Release,
                Environments = All(_ => new EnvironmentTargeting
                {
                    Rules =
                    [
                        new TargetingRule
                        {
                            Id = Keys.NewRuleId(),
                            Name = "Beta testers",
                            Clauses = [new Clause { Property = "email", Operator = "STR_ENDS_WITH", Values = ["@" + input.Domain.Trim().TrimStart('@')] }],
                            Serve = Serve.Of("on"),
                        },
                    ],
                    DefaultServe = Serve.Of("off"),
                }),
            },
            FlagTemplate.ScheduledRelease => request with
            {
                Kind = FlagKind.Release,
                Environments = All(_ => new EnvironmentTargeting
                {
                    Rules =
                    [
                        new TargetingRule
                        {
                            Id = Keys.NewRuleId(),
                            Name = "Launch",
                            Serve = Serve.Of("on"),
                            Schedule = new Schedule { From = ClauseDraft.ParseUtc(input.ReleaseAt) ?? DateTimeOffset.UtcNow.AddDays(7) },
                        },
                    ],
                    DefaultServe = Serve.Of("off"),
                }),
            },
            FlagTemplate.Experiment => Experiment(request, input, All),
            FlagTemplate.Migration => request with
            {
                Kind = FlagKind.Migration,
                ValueType = FlagValueType.String,
                Migration = new MigrationSettings { Path = input.Path, CompareRate = input.ComparePercent / 100 },
            },
            _ => request with
            {
                Kind = FlagKind.Operational,
                ValueType = FlagValueType.Json,
                Variations =
                [
                    new Variation { Key = "value", Name = "Value", Value = JsonValues.Parse(input.ConfigValue) ?? JsonValues.String(input.ConfigValue) },
                    new Variation { Key = "off", Name = "Off", Fallback = true },
                ],
                Environments = All(_ => new EnvironmentTargeting { DefaultServe = Serve.Of("value") }),
            },
        };
    }

    private static CreateFlagRequest Experiment(CreateFlagRequest request, NewFlagInput input, Func<Func<ProjectEnvironment, EnvironmentTargeting>, Dictionary<string, EnvironmentTargeting>> all)
    {
        var variants = ClauseDraft.SplitValues(input.Variants).Select(Keys.Slug).Where(k => k.Length > 0).Distinct().ToList();
        if (variants.Count == 0)
        {
            variants = ["control"];
        }

        // Thousandths of a percent, so that the shares add up to exactly 100.
        int total = 100_000, each = total / variants.Count;
        var buckets = variants.Select((v, i) => new SplitBucket { Variation = v, Weight = (i == 0 ? total - (each * (variants.Count - 1)) : each) / 1000.0 }).ToList();
        return request with
        {
            Kind = FlagKind.Experiment,
            ValueType = FlagValueType.String,
            Variations = [.. variants.Select(v => new Variation { Key = v, Name = v, Value = JsonValues.String(v) })],
            Environments = all(_ => new EnvironmentTargeting { DefaultServe = new Serve { Split = new Split { Buckets = buckets } } }),
        };
    }
}
