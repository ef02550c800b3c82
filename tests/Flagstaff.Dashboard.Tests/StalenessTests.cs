using Flagstaff.Dashboard.Model;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Tests;

/// <summary>Stale-flag detection from uploaded code scans: a flag no repository's last scan names any more.</summary>
public sealed class StalenessTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    // An operational flag: the targeting rule (temporary flags settle) does not apply, so only references judge it.
    private static FlagDetails Flag(string key, int daysOld) => new()
    {
        Flag = new Flag
        {
            Id = key,
            ProjectId = "p",
            Key = key,
            Name = key,
            Kind = FlagKind.Operational,
            ValueType = FlagValueType.Boolean,
            CreatedAt = Now.AddDays(-daysOld),
            UpdatedAt = Now.AddDays(-daysOld),
        },
    };

    private static CodeReferenceScan Scan(string repository, int daysAgo, params string[] referenced) => new()
    {
        ProjectId = "p",
        Repository = repository,
        ScannedAt = Now.AddDays(-daysAgo),
        UploadedAt = Now.AddDays(-daysAgo),
        UploadedBy = "ci",
        Flags = [.. referenced.Select(k => new FlagCodeReferences { Key = k, Total = 1, References = [new CodeReference { Path = "a.cs", Line = 1, Context = k }] })],
    };

    [Fact]
    public void A_flag_no_repository_names_any_more_is_stale()
    {
        Assert.Equal("no references left in acme/shop (scanned 2026-12-01)", Staleness.Reason(Flag("gone", 60), null, Now, [Scan("acme/shop", 1, "other")]));
        Assert.Equal("no references left in 2 repositories (last scanned 2026-12-01)",
            Staleness.Reason(Flag("gone", 60), null, Now, [Scan("acme/shop", 1, "other"), Scan("acme/admin", 3)]));
    }

    [Fact]
    public void A_flag_named_in_any_repository_is_not_stale()
    {
        Assert.Null(Staleness.Reason(Flag("used", 60), null, Now, [Scan("acme/shop", 1, "other"), Scan("acme/admin", 20, "used")]));
    }

    [Fact]
    public void Without_scans_or_before_a_new_flag_had_time_to_reach_the_code_references_do_not_judge()
    {
        Assert.Null(Staleness.Reason(Flag("gone", 60), null, Now));
        Assert.Null(Staleness.Reason(Flag("gone", 60), null, Now, []));
        Assert.Null(Staleness.Reason(Flag("new", Staleness.UnusedDays), null, Now, [Scan("acme/shop", 1)]));
        Assert.NotNull(Staleness.Reason(Flag("new", Staleness.UnusedDays + 2), null, Now, [Scan("acme/shop", 1)]));
    }

    [Fact]
    public void An_archived_flag_is_never_stale()
    {
        var archived = Flag("gone", 60);
        archived = archived with { Flag = archived.Flag with { ArchivedAt = Now.AddDays(-1) } };
        Assert.Null(Staleness.Reason(archived, null, Now, [Scan("acme/shop", 1)]));
    }
}
