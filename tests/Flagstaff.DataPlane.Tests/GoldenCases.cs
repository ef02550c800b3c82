using Flagstaff.Domain;
using static Flagstaff.DataPlane.Tests.Domain;
using Op = Flagstaff.Evaluation.Operators;

namespace Flagstaff.DataPlane.Tests;

/// <summary>A context evaluated against a case's golden output, and the variation it must get.</summary>
/// <param name="Context">The context, as JSON.</param>
/// <param name="Variation">The variation key served.</param>
/// <param name="Now">The evaluation time (ms since the epoch) for rules on <c>timestamp</c>, if any.</param>
internal sealed record Probe(string Context, string Variation, long? Now = null);

/// <summary>A representative domain input of the compiler, and what its output must do.</summary>
internal sealed record GoldenCase(string Name, Project Project, Flag Flag, Targeting Targeting, Segment[] Segments, Probe[] Probes)
{
    /// <summary>Whether the compiled flag is served (main switch on, not archived).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The targeting rule of each wire condition (-1: a split default's bucket).</summary>
    public int[] ConditionRules { get; init; } = [];

    public override string ToString() => Name;
}

/// <summary>
/// The golden cases: every clause operator, negation, segments, splits, schedules, fallback,
/// disabled and archived flags, migrations and JSON values. Each has a file Golden/&lt;name&gt;.json.
/// </summary>
internal static class GoldenCases
{
    private static readonly Project Shop = Project();

    private static readonly DateTimeOffset Launch = new(2026, 4, 1, 8, 0, 0, TimeSpan.Zero);

    private static readonly DateTimeOffset Sunset = new(2026, 4, 30, 18, 0, 0, TimeSpan.Zero);

    public static readonly GoldenCase[] All =
    [
        OperatorsText(),
        OperatorsNumberArrayDate(),
        OperatorsVersionPercentage(),
        StrEqualSoft(),
        Negation(),
        SegmentIds(),
        SegmentRules(),
        SegmentNegated(),
        SplitDefault(),
        SplitRule(),
        SplitGrowBefore(),
        SplitGrowAfter(),
        ScheduleWindow(),
        ProgressiveRollout(),
        FallbackVariation(),
        Disabled(),
        ArchivedFlag(),
        ArchivedProject(),
        Migration(),
        JsonValues(),
    ];

    public static GoldenCase Get(string name) => All.Single(c => c.Name == name);

    // One variation per rule, named after it, so a probe's variation says which rule matched.
    private static Flag Labels(string key, uint seed, params string[] labels) =>
        Flag(key, seed, [.. labels.Select(l => Value(l, l)), Value("none", "none")]);

    private static GoldenCase OperatorsText()
    {
        var flag = Labels("operators-text", 101, "str-equal", "str-contains", "str-starts-with", "str-ends-with", "str-after", "str-before", "regexp", "empty", "true");
        var targeting = Targeting(
            flag,
            Serve("none"),
            Rule(Serve("str-equal"), Values("plan", Op.StrEqual, "pro", "team")),
            Rule(Serve("str-contains"), Values("email", Op.StrContains, "@corp.", "@staff.")),
            Rule(Serve("str-starts-with"), Values("path", Op.StrStartsWith, "/admin/")),
            Rule(Serve("str-ends-with"), Values("host", Op.StrEndsWith, ".internal")),
            Rule(Serve("str-after"), Text("name", Op.StrAfter, "m")),
            Rule(Serve("str-before"), Text("name", Op.StrBefore, "c")),
            Rule(Serve("regexp"), Text("email", Op.Regexp, "^[a-z]+\\+test@")),
            Rule(Serve("empty"), Is("nickname", Op.Empty)),
            Rule(Serve("true"), Is("beta", Op.True)));
        return new("operators-text", Shop, flag, targeting, [],
        [
            new("""{"plan":"team","nickname":"x"}""", "str-equal"),
            new("""{"plan":"free","email":"ann@corp.example","nickname":"x"}""", "str-contains"),
            new("""{"path":"/admin/users","nickname":"x"}""", "str-starts-with"),
            new("""{"host":"db.internal","nickname":"x"}""", "str-ends-with"),
            new("""{"name":"m","nickname":"x"}""", "str-after"),
            new("""{"name":"c","nickname":"x"}""", "str-before"),
            new("""{"name":"d","email":"bob+test@mail.example","nickname":"x"}""", "regexp"),
            new("""{"name":"d","nickname":""}""", "empty"),
            new("""{"nickname":"x","beta":true}""", "true"),
            new("""{"nickname":"x","beta":"true"}""", "none"),
        ])
        { ConditionRules = [0, 1, 2, 3, 4, 5, 6, 7, 8] };
    }

    private static GoldenCase OperatorsNumberArrayDate()
    {
        var flag = Labels("operators-number-array-date", 102, "eq", "lt", "gt", "arr-overlap", "date-after", "date-before");
        var targeting = Targeting(
            flag,
            Serve("none"),
            Rule(Serve("eq"), Number("seats", Op.Eq, 42)),
            Rule(Serve("lt"), Number("age", Op.Lt, 18)),
            Rule(Serve("gt"), Number("spend", Op.Gt, 999.5)),
            Rule(Serve("arr-overlap"), Values("roles", Op.ArrOverlap, "admin", "owner")),
            Rule(Serve("date-after"), Date("signedUpAt", Op.DateAfter, Launch)),
            Rule(Serve("date-before"), Date("signedUpAt", Op.DateBefore, T0)));
        return new("operators-number-array-date", Shop, flag, targeting, [],
        [
            new("""{"seats":42}""", "eq"),
            new("""{"age":17.9}""", "lt"),
            new("""{"spend":1000}""", "gt"),
            new("""{"spend":999.5,"roles":["viewer","owner"]}""", "arr-overlap"),
            new("""{"signedUpAt":"2026-04-01T08:00:00"}""", "date-after"),
            new("""{"signedUpAt":1775030400000}""", "date-after"), // Launch, in ms
            new("""{"signedUpAt":1775030399}""", "none"), // a second before Launch, in seconds
            new("""{"signedUpAt":"2026-02-28"}""", "date-before"),
            new("""{"signedUpAt":"2026-03-15"}""", "none"),
        ])
        { ConditionRules = [0, 1, 2, 3, 4, 5] };
    }

    private static GoldenCase OperatorsVersionPercentage()
    {
        var flag = Labels("operators-version-percentage", 103, "semver-eq", "semver-gte", "semver-lte", "percentage");
        var targeting = Targeting(
            flag,
            Serve("none"),
            Rule(Serve("semver-eq"), Version("appVersion", Op.SemverEq, "2.4.0")),
            Rule(Serve("semver-gte"), Version("appVersion", Op.SemverGte, "3.0")),
            Rule(Serve("semver-lte"), Version("appVersion", Op.SemverLte, "1.9.9")),
            Rule(Serve("percentage"), Percent("userId", 0, 33.3)));
        return new("operators-version-percentage", Shop, flag, targeting, [],
        [
            new("""{"appVersion":"2.4.0.7"}""", "semver-eq"),
            new("""{"appVersion":"3.0.1"}""", "semver-gte"),
            new("""{"appVersion":"1.9.9"}""", "semver-lte"),
            new("""{"appVersion":"2.5.0","userId":"user-2"}""", "percentage"), // position 0.1989
            new("""{"appVersion":"2.5.0","userId":"user-5"}""", "none"), // position 0.3370, just past 33.3%
        ])
        { ConditionRules = [0, 1, 2, 3] };
    }

    private static GoldenCase StrEqualSoft()
    {
        var flag = Toggle("str-equal-soft", 104);
        var targeting = Targeting(flag, Serve("off"), Rule(Serve("on"), Values("email", Op.StrEqualSoft, "Ann@Example.COM", "ÉCOLE", "42")));
        return new("str-equal-soft", Shop, flag, targeting, [],
        [
            new("""{"email":"ANN@example.com"}""", "on"),
            new("""{"email":"École"}""", "on"),
            new("""{"email":42}""", "on"),
            new("""{"email":"ann@example.co"}""", "off"),
        ])
        { ConditionRules = [0] };
    }

    private static GoldenCase Negation()
    {
        var flag = Labels("negation", 105, "not-equal", "not-after", "not-gte", "not-in-range");
        var targeting = Targeting(
            flag,
            Serve("none"),
            Rule(Serve("not-equal"), Values("country", Op.StrEqual, "FR", "DE").Not()),
            Rule(Serve("not-after"), Date("signedUpAt", Op.DateAfter, Launch).Not()),
            Rule(Serve("not-gte"), Version("appVersion", Op.SemverGte, "2.0.0").Not()),
            Rule(Serve("not-in-range"), Percent("userId", 0, 50).Not()));
        return new("negation", Shop, flag, targeting, [],
        [
            new("""{"country":"IT"}""", "not-equal"),
            new("""{"country":"FR","signedUpAt":"2026-03-31T23:59:59"}""", "not-after"),
            new("""{"country":"FR","appVersion":"1.9"}""", "not-gte"),
            new("""{"country":"FR","appVersion":"2.0.0","userId":"user-1"}""", "not-in-range"), // position 0.5597
            new("""{"country":"FR","appVersion":"2.0.0","userId":"user-2"}""", "none"), // position 0.4861
            new("""{"country":"FR","appVersion":"2.0"}""", "not-gte"), // a missing part is "not greater or equal" (spec)
            new("""{"country":"FR","appVersion":"2.0.0"}""", "none"), // a missing property matches no rule, negated or not
        ])
        { ConditionRules = [0, 1, 2, 3] };
    }

    private static GoldenCase SegmentIds()
    {
        var flag = Labels("segment-ids", 106, "beta-account", "not-staff");
        var beta = Segment("beta-accounts", "accountId", ["acct-1", "acct-2"]);
        var staff = Segment("staff", null, ["u-admin", "u-ops"]); // ids on the project's stickiness property
        var targeting = Targeting(
            flag,
            Serve("none"),
            Rule(Serve("beta-account"), InSegment("beta-accounts")),
            Rule(Serve("not-staff"), InSegment("staff").Not(), Values("plan", Op.StrEqual, "pro")));
        return new("segment-ids", Shop, flag, targeting, [beta, staff],
        [
            new("""{"accountId":"acct-2","userId":"u-admin"}""", "beta-account"),
            new("""{"accountId":"acct-9","userId":"u-1","plan":"pro"}""", "not-staff"),
            new("""{"accountId":"acct-9","userId":"u-ops","plan":"pro"}""", "none"),
        ])
        { ConditionRules = [0, 1] };
    }

    private static GoldenCase SegmentRules()
    {
        var flag = Labels("segment-rules", 107, "europe", "europe-pro");
        var europe = Segment("europe", "accountId", ["acct-vip"], Values("country", Op.StrEqual, "FR", "BE"), Number("age", Op.Gt, 17));
        var pro = Segment("pro", null, [], Values("plan", Op.StrEqual, "pro", "team"));
        var targeting = Targeting(
            flag,
            Serve("none"),
            Rule(Serve("europe-pro"), InSegment("europe"), InSegment("pro")), // (ids or clauses) and clauses: two alternatives
            Rule(Serve("europe"), InSegment("europe")));
        return new("segment-rules", Shop, flag, targeting, [europe, pro],
        [
            new("""{"accountId":"acct-vip","plan":"team"}""", "europe-pro"),
            new("""{"country":"BE","age":30,"plan":"pro"}""", "europe-pro"),
            new("""{"country":"FR","age":30,"plan":"free"}""", "europe"),
            new("""{"accountId":"acct-vip"}""", "europe"),
            new("""{"country":"FR","age":16,"plan":"pro"}""", "none"),
        ])
        { ConditionRules = [0, 0, 1, 1] };
    }

    private static GoldenCase SegmentNegated()
    {
        var flag = Labels("segment-negated", 108, "outside");
        var frPro = Segment("fr-pro", "accountId", ["acct-vip"], Values("country", Op.StrEqual, "FR"), Values("plan", Op.StrEqual, "pro"));
        var targeting = Targeting(
            flag,
            Serve("none"),
            Rule(Serve("outside"), InSegment("fr-pro").Not())); // not in ids and (not FR or not pro): two alternatives
        return new("segment-negated", Shop, flag, targeting, [frPro],
        [
            new("""{"accountId":"acct-1","country":"FR","plan":"free"}""", "outside"), // FR but not pro: outside the segment
            new("""{"accountId":"acct-1","country":"DE","plan":"pro"}""", "outside"),
            new("""{"accountId":"acct-1","country":"FR","plan":"pro"}""", "none"), // all clauses hold
            new("""{"accountId":"acct-vip","country":"DE","plan":"free"}""", "none"), // in the id list
        ])
        { ConditionRules = [0, 0] };
    }

    private static GoldenCase SplitDefault()
    {
        var flag = Labels("split-default", 911, "a", "b", "c");
        var targeting = Targeting(flag, Split(null, ("a", 50), ("b", 30), ("c", 20)));
        return new("split-default", Shop, flag, targeting, [],
        [
            new("""{"userId":"user-1"}""", "a"), // position 0.4714
            new("""{"userId":"user-2"}""", "b"), // position 0.7760
            new("""{"userId":"user-11"}""", "c"), // position 0.9948
            new("""{}""", "c"), // no stickiness property: the last bucket, which is the wire default
        ])
        { ConditionRules = [-1, -1] };
    }

    private static GoldenCase SplitRule()
    {
        var flag = Labels("split-rule", 4_000_000_001, "control", "treatment", "holdout");
        var targeting = Targeting(
            flag,
            Serve("holdout"),
            Rule(Split("accountId", ("control", 12.345), ("holdout", 0), ("treatment", 87.655)), Values("country", Op.StrEqual, "FR")));
        return new("split-rule", Shop, flag, targeting, [],
        [
            new("""{"country":"FR","accountId":"acct-1"}""", "control"), // position 0.1014
            new("""{"country":"FR","accountId":"acct-2"}""", "treatment"), // position 0.6992
            new("""{"country":"FR"}""", "holdout"), // no split property: the rule does not match
            new("""{"country":"DE","accountId":"acct-1"}""", "holdout"),
        ])
        { ConditionRules = [0, 0] };
    }

    private static GoldenCase SplitGrow(string name, double share)
    {
        var flag = Toggle("split-grow", 7);
        var targeting = Targeting(flag, Serve("off"), Rule(Split(null, ("on", share), ("off", 100 - share))));
        return new(name, Shop, flag, targeting, [],
        [
            new("""{"userId":"user-29"}""", "on"), // position 0.0543: in at 10% and at 25%
            new("""{"userId":"user-8"}""", share >= 25 ? "on" : "off"), // position 0.24995: joins at 25%, just
            new("""{"userId":"user-1"}""", "off"), // position 0.8433
        ])
        { ConditionRules = [0, 0] };
    }

    private static GoldenCase SplitGrowBefore() => SplitGrow("split-grow-before", 10);

    private static GoldenCase SplitGrowAfter() => SplitGrow("split-grow-after", 25);

    private static GoldenCase ScheduleWindow()
    {
        var flag = Labels("schedule-window", 108, "sale", "launched");
        var targeting = Targeting(
            flag,
            Serve("none"),
            new TargetingRule { Serve = Serve("sale"), Clauses = [Values("plan", Op.StrEqual, "pro")], Schedule = new Schedule { From = Launch, Until = Sunset } },
            new TargetingRule { Serve = Serve("launched"), Schedule = new Schedule { From = Launch } });
        long launch = Launch.ToUnixTimeMilliseconds();
        long sunset = Sunset.ToUnixTimeMilliseconds();
        return new("schedule-window", Shop, flag, targeting, [],
        [
            new("""{"plan":"pro"}""", "none", launch - 1),
            new("""{"plan":"pro"}""", "sale", launch),
            new("""{"plan":"pro"}""", "sale", sunset), // DATE_BEFORE is inclusive
            new("""{"plan":"pro"}""", "launched", sunset + 1),
            new("""{"plan":"free"}""", "launched", launch),
            new("""{"plan":"pro","timestamp":"2026-04-15T12:00:00"}""", "sale"), // a context's own timestamp wins
            new("""{"plan":"pro"}""", "none"), // no time at all: no schedule matches
        ])
        { ConditionRules = [0, 1] };
    }

    private static GoldenCase ProgressiveRollout()
    {
        var flag = Toggle("progressive-rollout", 109);
        var steps = new Schedule
        {
            Steps =
            [
                new RolloutStep { At = Launch, Percentage = 10 },
                new RolloutStep { At = Launch.AddDays(1), Percentage = 50 },
                new RolloutStep { At = Launch.AddDays(2), Percentage = 100 },
            ],
        };
        var targeting = Targeting(flag, Serve("off"), new TargetingRule { Serve = Serve("on"), Schedule = steps });
        long day = TimeSpan.FromDays(1).Ticks / TimeSpan.TicksPerMillisecond;
        long launch = Launch.ToUnixTimeMilliseconds();
        return new("progressive-rollout", Shop, flag, targeting, [],
        [
            new("""{"userId":"user-15"}""", "off", launch - 1), // position 0.0047
            new("""{"userId":"user-15"}""", "on", launch),
            new("""{"userId":"user-5"}""", "off", launch), // position 0.1725
            new("""{"userId":"user-5"}""", "on", launch + day),
            new("""{"userId":"user-3"}""", "off", launch + day), // position 0.6841
            new("""{"userId":"user-3"}""", "on", launch + (2 * day)),
        ])
        { ConditionRules = [0, 0, 0] };
    }

    private static GoldenCase FallbackVariation()
    {
        var flag = Flag("fallback", 110, Value("new", "new-checkout"), Value("old", "old-checkout"), Fallback("code-default"));
        var targeting = Targeting(flag, Serve("code-default"), Rule(Serve("new"), Values("plan", Op.StrEqual, "pro")), Rule(Serve("code-default"), Values("plan", Op.StrEqual, "legacy")));
        return new("fallback", Shop, flag, targeting, [],
        [
            new("""{"plan":"pro"}""", "new"),
            new("""{"plan":"legacy"}""", "code-default"),
            new("""{"plan":"free"}""", "code-default"),
        ])
        { ConditionRules = [0, 1] };
    }

    private static GoldenCase Plain(string name) => new(name, Shop, Toggle(name, 111), Targeting(Toggle(name, 111), Serve("off"), Rule(Serve("on"), Values("plan", Op.StrEqual, "pro"))), [],
        [new("""{"plan":"pro"}""", "on"), new("""{"plan":"free"}""", "off")])
    { ConditionRules = [0] };

    // The main switch is not in the wire flag: a disabled flag is left out of GET /config.
    private static GoldenCase Disabled()
    {
        var plain = Plain("disabled");
        return plain with { Targeting = plain.Targeting with { Enabled = false }, Enabled = false };
    }

    private static GoldenCase ArchivedFlag()
    {
        var plain = Plain("archived-flag");
        return plain with { Flag = plain.Flag with { ArchivedAt = T0 }, Enabled = false };
    }

    private static GoldenCase ArchivedProject()
    {
        var plain = Plain("archived-project");
        return plain with { Project = plain.Project with { ArchivedAt = T0 }, Enabled = false };
    }

    private static GoldenCase Migration()
    {
        var flag = Flag("migration", 112, Value("off", "off"), Value("dualwrite", "dualwrite"), Value("shadow", "shadow"), Value("live", "live"), Value("rampdown", "rampdown"), Value("complete", "complete")) with
        {
            Kind = FlagKind.Migration,
            Migration = new MigrationSettings { Path = MigrationPath.Full, CompareRate = 0.25 },
        };
        var targeting = Targeting(flag, Serve("dualwrite"), Rule(Serve("shadow"), Values("tenant", Op.StrEqual, "acme")));
        return new("migration", Shop, flag, targeting, [],
        [
            new("""{"tenant":"acme"}""", "shadow"),
            new("""{"tenant":"globex"}""", "dualwrite"),
        ])
        { ConditionRules = [0] };
    }

    private static GoldenCase JsonValues()
    {
        var flag = Flag(
            "json-values",
            113,
            Json("dark", """{"theme":"dark","limits":[10,20.5],"beta":{"banner":null}}"""),
            Json("list", """["a","b"]"""),
            Json("nothing", "null"),
            Json("number", "3.25"),
            Json("text", "\"plain \\\"quoted\\\" text\""));
        var targeting = Targeting(
            flag,
            Serve("dark"),
            Rule(Serve("nothing"), Values("plan", Op.StrEqual, "free")),
            Rule(Serve("list"), Values("plan", Op.StrEqual, "team")),
            Rule(Serve("number"), Values("plan", Op.StrEqual, "pro")),
            Rule(Serve("text"), Values("plan", Op.StrEqual, "trial")));
        return new("json-values", Shop, flag, targeting, [],
        [
            new("""{"plan":"free"}""", "nothing"), // a JSON null is a value: the flag is active
            new("""{"plan":"team"}""", "list"),
            new("""{"plan":"pro"}""", "number"),
            new("""{"plan":"trial"}""", "text"),
            new("""{}""", "dark"),
        ])
        { ConditionRules = [0, 1, 2, 3] };
    }
}
