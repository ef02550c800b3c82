using Flagstaff.Storage;
using Npgsql;

namespace Flagstaff.Testing;

/// <summary>The databases tests run against: a fresh SQLite file, or a fresh PostgreSQL database.</summary>
public enum DatabaseKind
{
    /// <summary>An SQLite file in a temporary folder.</summary>
    Sqlite,

    /// <summary>A new database on the PostgreSQL server named by <c>FLAGSTAFF_TEST_POSTGRES</c>.</summary>
    Postgres,
}

/// <summary>
/// A real, empty database for one test class, deleted afterwards. PostgreSQL comes from the server in
/// the environment variable <c>FLAGSTAFF_TEST_POSTGRES</c>, which <c>./test.sh</c> starts; without it
/// PostgreSQL tests fail (they never skip silently).
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private const string Variable = "FLAGSTAFF_TEST_POSTGRES";
    private readonly string? _folder;
    private readonly string? _adminConnectionString;

    private TestDatabase(DatabaseKind kind, string connectionString, string? folder, string? adminConnectionString, string? databaseName)
    {
        Kind = kind;
        ConnectionString = connectionString;
        _folder = folder;
        _adminConnectionString = adminConnectionString;
        DatabaseName = databaseName;
    }

    /// <summary>Which database.</summary>
    public DatabaseKind Kind { get; }

    /// <summary>For SQLite the file path; for PostgreSQL the connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>The PostgreSQL database's name.</summary>
    public string? DatabaseName { get; }

    /// <summary>Creates an empty database (for PostgreSQL, on <paramref name="postgresServer"/> or else the shared test server).</summary>
    public static async Task<TestDatabase> CreateAsync(DatabaseKind kind, string? postgresServer = null)
    {
        if (kind == DatabaseKind.Sqlite)
        {
            var folder = Directory.CreateTempSubdirectory("flagstaff-test-").FullName;
            return new TestDatabase(kind, Path.Combine(folder, "flagstaff.db"), folder, null, null);
        }

        var admin = postgresServer ?? Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(admin))
        {
            throw new InvalidOperationException(
                $"PostgreSQL tests need a server: set {Variable} to a connection string allowed to create databases, or run ./test.sh, which starts one.");
        }

        var name = "flagstaff_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = true };
        return new TestDatabase(kind, builder.ToString(), null, admin, name);
    }

    /// <summary>A dialect over this database (the caller owns it).</summary>
    public SqlDialect CreateDialect() => Kind == DatabaseKind.Sqlite ? new SqliteDialect(ConnectionString) : new PostgresDialect(ConnectionString);

    /// <summary>A migrated store over this database (the caller owns it).</summary>
    public async Task<Store> CreateStoreAsync()
    {
        var store = new Store(CreateDialect());
        await store.MigrateAsync();
        return store;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_folder is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
                // A server process may still be closing the file; the temporary folder is reclaimed later.
            }
        }

        if (_adminConnectionString is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {DatabaseName} WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
