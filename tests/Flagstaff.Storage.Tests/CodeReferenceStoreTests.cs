using System.Data.Common;
using Flagstaff.Domain;
using Flagstaff.Testing;

namespace Flagstaff.Storage.Tests;

/// <summary>Code reference scans in storage, and their migration (0007, added after 0008), on SQLite and PostgreSQL alike.</summary>
public abstract class CodeReferenceStoreTests(DatabaseKind kind) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 30, 0, TimeSpan.Zero);
    private TestDatabase _database = null!;
    private Store _store = null!;

    public async ValueTask InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(kind);
        _store = await _database.CreateStoreAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        await _database.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = await _store.Dialect.OpenAsync(CancellationToken.None);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<string> SeedProjectAsync()
    {
        var project = new Project { Id = Guid.CreateVersion7().ToString("N"), Key = "shop", Name = "Shop", StickinessProperty = "userId", CreatedAt = Now, UpdatedAt = Now };
        await _store.WriteAsync(s => s.InsertProjectAsync(project));
        return project.Id;
    }

    private static CodeReferenceScan Scan(string projectId, string repository, params (string Key, int Line)[] references) => new()
    {
        ProjectId = projectId,
        Repository = repository,
        Branch = "main",
        Commit = "0123abc",
        ScannedAt = Now,
        UploadedAt = Now.AddSeconds(2),
        UploadedBy = "Ada",
        Files = 12,
        Flags = [.. references.GroupBy(r => r.Key).Select(g => new FlagCodeReferences
        {
            Key = g.Key,
            Total = g.Count(),
            References = [.. g.Select(r => new CodeReference { Path = "src/App.cs", Line = r.Line, Context = "if (on) {}", Alias = r.Line == 2 ? "newCheckout" : null })],
        })],
    };

    [Fact]
    public async Task Migration_0007_is_applied_to_a_database_that_already_has_0008()
    {
        // A database migrated before 0007 existed: 0008 is recorded, 0007 is not.
        await ExecuteAsync("DROP TABLE code_reference_scans");
        await ExecuteAsync("DELETE FROM schema_migrations WHERE version = 7");

        Assert.Equal(["0007_code_references"], await _store.MigrateAsync());
        Assert.Empty(await _store.MigrateAsync());
        var projectId = await SeedProjectAsync();
        await _store.WriteAsync(s => s.ReplaceCodeReferenceScanAsync(Scan(projectId, "acme/shop", ("new-checkout", 1))));
        Assert.Single(await _store.ReadAsync(s => s.ListCodeReferenceScansAsync(projectId)));
    }

    [Fact]
    public async Task A_scan_round_trips_and_a_new_one_replaces_it_for_its_repository_only()
    {
        var projectId = await SeedProjectAsync();
        await _store.WriteAsync(async s =>
        {
            await s.ReplaceCodeReferenceScanAsync(Scan(projectId, "acme/shop", ("new-checkout", 1), ("new-checkout", 2), ("dark-mode", 9)));
            await s.ReplaceCodeReferenceScanAsync(Scan(projectId, "acme/admin", ("dark-mode", 3)));
        });

        var read = Assert.Single(await _store.ReadAsync(s => s.ListCodeReferenceScansAsync(projectId)), x => x.Repository == "acme/shop");
        Assert.Equal(("main", "0123abc", Now, Now.AddSeconds(2), "Ada", 12), (read.Branch, read.Commit, read.ScannedAt, read.UploadedAt, read.UploadedBy, read.Files));
        var checkout = Assert.Single(read.Flags, f => f.Key == "new-checkout");
        Assert.Equal(2, checkout.Total);
        Assert.Equal("newCheckout", checkout.References[1].Alias);

        await _store.WriteAsync(s => s.ReplaceCodeReferenceScanAsync(Scan(projectId, "acme/shop", ("dark-mode", 4))));

        var scans = await _store.ReadAsync(s => s.ListCodeReferenceScansAsync(projectId));
        Assert.Equal(["acme/admin", "acme/shop"], scans.Select(x => x.Repository));
        Assert.Equal(["dark-mode"], scans[1].Flags.Select(f => f.Key));
        Assert.True(await _store.WriteAsync(s => s.DeleteCodeReferenceScanAsync(projectId, "acme/admin")));
        Assert.False(await _store.WriteAsync(s => s.DeleteCodeReferenceScanAsync(projectId, "acme/admin")));
    }
}

public sealed class SqliteCodeReferenceStoreTests() : CodeReferenceStoreTests(DatabaseKind.Sqlite);

public sealed class PostgresCodeReferenceStoreTests() : CodeReferenceStoreTests(DatabaseKind.Postgres);
