using System.Text.Json;
using Flagstaff.Domain;
using Flagstaff.Testing;

namespace Flagstaff.Storage.Tests;

/// <summary>The one storage test suite, run against SQLite and PostgreSQL alike.</summary>
public abstract class StoreTests(DatabaseKind kind) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private TestDatabase _database = null!;

    protected Store Store { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(kind);
        Store = await _database.CreateStoreAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await _database.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private static string NewId() => Guid.CreateVersion7().ToString("N");

    private static Project NewProject(string key = "shop") => new()
    {
        Id = NewId(),
        Key = key,
        Name = "Shop",
        StickinessProperty = "userId",
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    private static ProjectEnvironment NewEnvironment(Project project, string key, int position = 0) => new()
    {
        Id = NewId(),
        ProjectId = project.Id,
        Key = key,
        Name = key,
        Color = "#22c55e",
        Position = position,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    private static Flag NewFlag(Project project, string key, params string[] tags) => new()
    {
        Id = NewId(),
        ProjectId = project.Id,
        Key = key,
        Name = "Flag " + key,
        Tags = tags,
        Kind = FlagKind.Release,
        ValueType = FlagValueType.Boolean,
        Variations =
        [
            new Variation { Key = "on", Value = JsonDocument.Parse("true").RootElement },
            new Variation { Key = "off", Fallback = true },
        ],
        Seed = 4_000_000_000,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    private async Task<(Project Project, ProjectEnvironment Production)> SeedAsync()
    {
        var project = NewProject();
        var production = NewEnvironment(project, "production");
        await Store.WriteAsync(async s =>
        {
            await s.InsertProjectAsync(project);
            await s.InsertEnvironmentAsync(production);
        });
        return (project, production);
    }

    [Fact]
    public async Task Migrating_again_applies_nothing_and_concurrent_migrations_agree()
    {
        Assert.Empty(await Store.MigrateAsync());

        await using var other = new Store(_database.CreateDialect());
        var results = await Task.WhenAll(Store.MigrateAsync(), other.MigrateAsync());
        Assert.All(results, Assert.Empty);
    }

    [Fact]
    public async Task A_project_round_trips_and_its_key_is_unique()
    {
        var (project, _) = await SeedAsync();

        var read = await Store.ReadAsync(s => s.GetProjectAsync("shop"));
        Assert.NotNull(read);
        Assert.Equal(project.Id, read.Id);
        Assert.Equal(1, read.Version);
        Assert.Equal(Now, read.CreatedAt);

        await Assert.ThrowsAsync<DuplicateKeyException>(() => Store.WriteAsync(s => s.InsertProjectAsync(NewProject())));
    }

    [Fact]
    public async Task An_update_based_on_a_stale_version_is_refused_and_changes_nothing()
    {
        var (project, _) = await SeedAsync();
        await Store.WriteAsync(s => s.UpdateProjectAsync(project with { Name = "First" }, expectedVersion: 1));

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            Store.WriteAsync(s => s.UpdateProjectAsync(project with { Name = "Second" }, expectedVersion: 1)));

        var current = await Store.ReadAsync(s => s.GetProjectAsync("shop"));
        Assert.Equal("First", current!.Name);
        Assert.Equal(2, current.Version);
    }

    [Fact]
    public async Task A_failed_write_leaves_neither_the_change_nor_its_audit_entry()
    {
        var project = NewProject();

        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.WriteAsync(async s =>
        {
            await s.InsertProjectAsync(project);
            await s.AppendAuditAsync(new AuditEntry { At = Now, Actor = Actor.System("test"), ResourceType = "project", ResourceKey = "shop", Action = "created" });
            throw new InvalidOperationException("boom");
        }));

        Assert.Null(await Store.ReadAsync(s => s.GetProjectAsync("shop")));
        Assert.Empty(await Store.ReadAsync(s => s.ListAuditAsync(new AuditQuery())));
    }

    [Fact]
    public async Task Flags_are_listed_searched_filtered_and_paged()
    {
        var (project, _) = await SeedAsync();
        await Store.WriteAsync(async s =>
        {
            for (int i = 0; i < 30; i++)
            {
                var flag = NewFlag(project, $"flag-{i:D2}", i % 3 == 0 ? "checkout" : "search");
                await s.InsertFlagAsync(i == 29 ? flag with { ArchivedAt = Now, Kind = FlagKind.KillSwitch } : flag with { Description = i == 7 ? "Uses 100% of_the cache" : null });
            }
        });

        var firstPage = await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Limit = 10 }));
        Assert.Equal(29, firstPage.Total);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"flag-{i:D2}"), firstPage.Items.Select(f => f.Key));

        var lastPage = await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Offset = 20, Limit = 10 }));
        Assert.Equal(9, lastPage.Items.Count);

        var tagged = await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Tag = "checkout", Limit = 100 }));
        Assert.Equal(10, tagged.Total);
        Assert.All(tagged.Items, f => Assert.Contains("checkout", f.Tags));

        var searched = await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Search = "FLAG-1", Limit = 100 }));
        Assert.Equal(10, searched.Total);

        // LIKE wildcards in the search text are literal.
        var literal = await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Search = "100% of_", Limit = 100 }));
        Assert.Equal("flag-07", Assert.Single(literal.Items).Key);
        Assert.Equal(0, (await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Search = "_", Limit = 100 }))).Total - 1);

        var archived = await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Archived = true }));
        Assert.Equal("flag-29", Assert.Single(archived.Items).Key);
        Assert.Equal(FlagKind.KillSwitch, archived.Items[0].Kind);
        Assert.Equal(30, (await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Archived = null }))).Total);
        Assert.Equal(1, (await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery { Kind = FlagKind.KillSwitch, Archived = null }))).Total);
    }

    [Fact]
    public async Task A_flag_and_its_targeting_round_trip_with_every_field()
    {
        var (project, production) = await SeedAsync();
        var flag = NewFlag(project, "new-search");
        var targeting = new Targeting
        {
            FlagId = flag.Id,
            EnvironmentId = production.Id,
            Enabled = true,
            Rules =
            [
                new TargetingRule
                {
                    Id = "r1", Name = "Beta",
                    Clauses = [new Clause { Property = "accountId", Operator = "STR_EQUAL", Values = ["a1", "a2"] }, new Clause { Segment = "staff", Negate = true }],
                    Serve = new Serve { Split = new Split { Property = "accountId", Buckets = [new SplitBucket { Variation = "on", Weight = 20 }, new SplitBucket { Variation = "off", Weight = 80 }] } },
                    Schedule = new Schedule { From = Now, Steps = [new RolloutStep { At = Now.AddDays(1), Percentage = 10 }] },
                },
                new TargetingRule
                {
                    Clauses = [new Clause { Property = "plan", Operator = "EQ", Value = JsonDocument.Parse("3").RootElement }, new Clause { Property = "v", Operator = "SEMVER_GTE", Version = "2.4.0" }],
                    Serve = Serve.Of("on"),
                },
            ],
            DefaultServe = Serve.Of("off"),
            UpdatedAt = Now,
        };
        await Store.WriteAsync(async s =>
        {
            await s.InsertFlagAsync(flag);
            await s.InsertTargetingAsync(targeting);
        });

        var (readFlag, readTargeting) = await Store.ReadAsync(async s => (await s.GetFlagAsync(project.Id, "new-search"), await s.GetTargetingAsync(flag.Id, production.Id)));

        Assert.Equal(4_000_000_000u, readFlag!.Seed);
        Assert.Equal(1, readFlag.Revision);
        Assert.True(readFlag.Variations[1].Fallback);
        Assert.True(readFlag.Variations[0].Value!.Value.GetBoolean());
        Assert.Equal(
            JsonSerializer.Serialize(targeting with { Version = 1 }, DomainJson.Default.Targeting),
            JsonSerializer.Serialize(readTargeting!, DomainJson.Default.Targeting));

        await Store.WriteAsync(s => s.UpdateTargetingAsync(targeting with { Enabled = false }, expectedVersion: 1));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.WriteAsync(s => s.UpdateTargetingAsync(targeting, expectedVersion: 1)));
        Assert.Equal(2, await Store.WriteAsync(s => s.BumpFlagRevisionAsync(flag.Id, Now)));
    }

    [Fact]
    public async Task Configuration_changes_are_numbered_per_environment_and_listed_after_a_version()
    {
        var (project, production) = await SeedAsync();
        var staging = NewEnvironment(project, "staging", 1);
        await Store.WriteAsync(s => s.InsertEnvironmentAsync(staging));

        var first = await Store.WriteAsync(s => s.RecordConfigChangeAsync(production.Id, ["a"], Now));
        var second = await Store.WriteAsync(s => s.RecordConfigChangeAsync(production.Id, ["b", "c"], Now));
        var other = await Store.WriteAsync(s => s.RecordConfigChangeAsync(staging.Id, ["a"], Now));

        Assert.Equal((1, 2, 1), (first.Version, second.Version, other.Version));
        var since = await Store.ReadAsync(s => s.ListConfigChangesAsync(production.Id, 1));
        Assert.Equal(["b", "c"], Assert.Single(since).Changed);
        Assert.Equal(2, (await Store.ReadAsync(s => s.GetEnvironmentByIdAsync(production.Id)))!.ConfigVersion);
    }

    [Fact]
    public async Task The_audit_log_is_queryable_by_project_flag_environment_actor_and_time()
    {
        var (project, production) = await SeedAsync();
        var ada = new Actor { AccountId = "ada", Name = "Ada", Address = "10.0.0.1" };
        var bob = new Actor { AccountId = "bob", Name = "Bob" };
        await Store.WriteAsync(async s =>
        {
            for (int i = 0; i < 10; i++)
            {
                await s.AppendAuditAsync(new AuditEntry
                {
                    At = Now.AddMinutes(i),
                    Actor = i % 2 == 0 ? ada : bob,
                    ProjectId = project.Id,
                    EnvironmentId = i < 5 ? production.Id : null,
                    FlagId = i < 3 ? "f1" : "f2",
                    ResourceType = "flag",
                    ResourceKey = "k",
                    Action = "updated",
                    Revision = i,
                    After = JsonDocument.Parse($$"""{"i":{{i}}}""").RootElement,
                });
            }
        });

        async Task<int[]> Ids(AuditQuery query) => [.. (await Store.ReadAsync(s => s.ListAuditAsync(query))).Select(e => e.After!.Value.GetProperty("i").GetInt32())];

        Assert.Equal(new[] { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 }, await Ids(new AuditQuery { ProjectId = project.Id }));
        Assert.Equal(new[] { 2, 1, 0 }, await Ids(new AuditQuery { FlagId = "f1" }));
        Assert.Equal(new[] { 4, 3, 2, 1, 0 }, await Ids(new AuditQuery { EnvironmentId = production.Id }));
        Assert.Equal(new[] { 8, 6, 4, 2, 0 }, await Ids(new AuditQuery { ActorId = "ada" }));
        Assert.Equal(new[] { 5, 4, 3 }, await Ids(new AuditQuery { From = Now.AddMinutes(3), To = Now.AddMinutes(6) }));
        Assert.Equal(new[] { 2, 1 }, await Ids(new AuditQuery { ProjectId = project.Id, BeforeId = (await Store.ReadAsync(s => s.ListAuditAsync(new AuditQuery { Limit = 7 })))[^1].Id, Limit = 2 }));

        var entry = await Store.ReadAsync(s => s.GetFlagRevisionAsync("f2", 4));
        Assert.Equal("10.0.0.1", entry!.Actor.Address);
        Assert.Equal(4, entry.After!.Value.GetProperty("i").GetInt32());
    }

    [Fact]
    public async Task Api_keys_are_found_by_hash_and_revoked()
    {
        var (project, production) = await SeedAsync();
        var key = new ApiKey { Id = NewId(), ProjectId = project.Id, EnvironmentId = production.Id, Name = "web", Kind = ApiKeyKind.Client, Prefix = "fs_client_ab", CreatedAt = Now };
        await Store.WriteAsync(s => s.InsertApiKeyAsync(key, "hash-1"));

        Assert.Equal(ApiKeyKind.Client, (await Store.ReadAsync(s => s.FindApiKeyAsync("hash-1")))!.Kind);
        Assert.Single(await Store.ReadAsync(s => s.ListActiveApiKeysAsync()));
        Assert.True(await Store.WriteAsync(s => s.RevokeApiKeyAsync(key.Id, Now)));
        Assert.False(await Store.WriteAsync(s => s.RevokeApiKeyAsync(key.Id, Now)));
        Assert.Empty(await Store.ReadAsync(s => s.ListActiveApiKeysAsync()));
        Assert.NotNull((await Store.ReadAsync(s => s.FindApiKeyAsync("hash-1")))!.RevokedAt);
    }

    [Fact]
    public async Task Accounts_are_unique_by_email_whatever_the_case()
    {
        var ada = new Account { Id = NewId(), Email = "Ada@Example.com", Name = "Ada", Role = Role.Owner, CreatedAt = Now, UpdatedAt = Now };
        await Store.WriteAsync(s => s.InsertAccountAsync(ada, "hash"));

        var credentials = await Store.ReadAsync(s => s.GetCredentialsAsync(" ada@example.COM "));
        Assert.Equal("hash", credentials!.PasswordHash);
        Assert.Equal(Role.Owner, credentials.Account.Role);
        await Assert.ThrowsAsync<DuplicateKeyException>(() => Store.WriteAsync(s => s.InsertAccountAsync(ada with { Id = NewId(), Email = "ADA@example.com" }, null)));
    }

    [Fact]
    public async Task An_identity_at_a_provider_links_to_one_account_and_goes_with_it()
    {
        var ada = new Account { Id = NewId(), Email = "ada@example.com", Name = "Ada", Role = Role.Editor, CreatedAt = Now, UpdatedAt = Now };
        var bob = new Account { Id = NewId(), Email = "bob@example.com", Name = "Bob", Role = Role.Viewer, CreatedAt = Now, UpdatedAt = Now };
        await Store.WriteAsync(async s =>
        {
            await s.InsertAccountAsync(ada, null);
            await s.InsertAccountAsync(bob, null);
            await s.InsertExternalLoginAsync("https://id.example.com", "subject-1", ada.Id, Now);
            await s.InsertExternalLoginAsync("https://other.example.com", "subject-1", bob.Id, Now);
        });

        // The subject is the provider's: the same subject at another issuer is someone else.
        Assert.Equal(ada.Id, await Store.ReadAsync(s => s.GetExternalLoginAccountAsync("https://id.example.com", "subject-1")));
        Assert.Equal(bob.Id, await Store.ReadAsync(s => s.GetExternalLoginAccountAsync("https://other.example.com", "subject-1")));
        Assert.Null(await Store.ReadAsync(s => s.GetExternalLoginAccountAsync("https://id.example.com", "SUBJECT-1")));
        await Assert.ThrowsAsync<DuplicateKeyException>(() => Store.WriteAsync(s => s.InsertExternalLoginAsync("https://id.example.com", "subject-1", bob.Id, Now)));

        await Store.WriteAsync(s => s.DeleteAccountAsync(ada.Id));
        Assert.Null(await Store.ReadAsync(s => s.GetExternalLoginAccountAsync("https://id.example.com", "subject-1")));
        Assert.Equal(bob.Id, await Store.ReadAsync(s => s.GetExternalLoginAccountAsync("https://other.example.com", "subject-1")));
    }

    [Fact]
    public async Task Deleting_a_project_deletes_everything_in_it()
    {
        var (project, production) = await SeedAsync();
        var flag = NewFlag(project, "x");
        await Store.WriteAsync(async s =>
        {
            await s.InsertFlagAsync(flag);
            await s.InsertTargetingAsync(new Targeting { FlagId = flag.Id, EnvironmentId = production.Id, DefaultServe = Serve.Of("off"), UpdatedAt = Now });
            await s.RecordConfigChangeAsync(production.Id, ["x"], Now);
        });

        await Store.WriteAsync(s => s.DeleteProjectAsync(project.Id));

        Assert.Null(await Store.ReadAsync(s => s.GetFlagByIdAsync(flag.Id)));
        Assert.Null(await Store.ReadAsync(s => s.GetEnvironmentByIdAsync(production.Id)));
        Assert.Empty(await Store.ReadAsync(s => s.ListTargetingsOfFlagAsync(flag.Id)));
    }

    [Fact]
    public async Task Concurrent_writers_all_succeed()
    {
        var (project, _) = await SeedAsync();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (int i = 0; i < 25; i++)
            {
                await Store.WriteAsync(async s =>
                {
                    await s.InsertFlagAsync(NewFlag(project, $"w{writer}-{i}"));
                    await s.AppendAuditAsync(new AuditEntry { At = Now, Actor = Actor.System("test"), ProjectId = project.Id, ResourceType = "flag", ResourceKey = $"w{writer}-{i}", Action = "created" });
                });
            }
        })));

        Assert.Equal(200, (await Store.ReadAsync(s => s.ListFlagsAsync(project.Id, new FlagQuery()))).Total);
        Assert.Equal(200, (await Store.ReadAsync(s => s.ListAuditAsync(new AuditQuery { Limit = 1000 }))).Count);
    }

    [Fact]
    public async Task Settings_keep_the_first_value_when_added_concurrently()
    {
        var values = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => Store.WriteAsync(s => s.GetOrAddSettingAsync("secret", "v" + i))));

        Assert.Single(values.Distinct());
        Assert.Equal(values[0], await Store.ReadAsync(s => s.GetSettingAsync("secret")));
    }
}

public sealed class SqliteStoreTests() : StoreTests(DatabaseKind.Sqlite);

public sealed class PostgresStoreTests() : StoreTests(DatabaseKind.Postgres);
