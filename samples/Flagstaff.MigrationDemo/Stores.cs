using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Flagstaff.MigrationDemo;

/// <summary>One record of the service: owned by an account, versioned by the service at each write.</summary>
public sealed record StoredRecord(string Id, string Account, string Value, long Version);

/// <summary>
/// Where records live. A write keeps the record with the higher version, so that a write, a backfill
/// and a repair of the same record can land in any order and leave the newest one.
/// </summary>
public interface IRecordStore
{
    /// <summary>"old (SQLite)" or "new (PostgreSQL)".</summary>
    string Name { get; }

    Task CreateAsync(CancellationToken cancellationToken);

    Task<StoredRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Writes the record unless the store holds a newer version of it.</summary>
    Task<bool> PutAsync(StoredRecord record, CancellationToken cancellationToken);

    IAsyncEnumerable<StoredRecord> ListAsync(CancellationToken cancellationToken);
}

/// <summary>The old store: an SQLite file (one writer at a time, readers alongside in WAL mode).</summary>
public sealed class SqliteRecordStore(string path) : IRecordStore, IDisposable
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
    private readonly SemaphoreSlim _writer = new(1, 1);

    public string Name => "old (SQLite)";

    public async Task CreateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, account TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL);
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, account, value, version FROM records WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StoredRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)) : null;
    }

    public async Task<bool> PutAsync(StoredRecord record, CancellationToken cancellationToken)
    {
        // SQLite takes one writer at a time; queueing here rather than on its busy timeout keeps writes fair.
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO records (id, account, value, version) VALUES ($id, $account, $value, $version)
                ON CONFLICT (id) DO UPDATE SET account = excluded.account, value = excluded.value, version = excluded.version
                WHERE excluded.version > records.version
                """;
            command.Parameters.AddWithValue("$id", record.Id);
            command.Parameters.AddWithValue("$account", record.Account);
            command.Parameters.AddWithValue("$value", record.Value);
            command.Parameters.AddWithValue("$version", record.Version);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }
        finally
        {
            _writer.Release();
        }
    }

    public async IAsyncEnumerable<StoredRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, account, value, version FROM records ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new StoredRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3));
        }
    }

    public void Dispose() => _writer.Dispose();

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}

/// <summary>
/// The new store: a PostgreSQL table. <see cref="Failing"/> injects an outage (every call throws, as
/// when the database is unreachable) so that the demo can show a guard rolling the migration back.
/// </summary>
public sealed class PostgresRecordStore(NpgsqlDataSource dataSource) : IRecordStore
{
    private volatile bool _failing;

    public string Name => "new (PostgreSQL)";

    /// <summary>Whether every call fails, as in an outage.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    public async Task CreateAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "CREATE TABLE IF NOT EXISTS records (id text PRIMARY KEY, account text NOT NULL, value text NOT NULL, version bigint NOT NULL)");
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        await using var command = dataSource.CreateCommand("SELECT id, account, value, version FROM records WHERE id = $1");
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StoredRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)) : null;
    }

    public async Task<bool> PutAsync(StoredRecord record, CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        await using var command = dataSource.CreateCommand("""
            INSERT INTO records (id, account, value, version) VALUES ($1, $2, $3, $4)
            ON CONFLICT (id) DO UPDATE SET account = excluded.account, value = excluded.value, version = excluded.version
            WHERE excluded.version > records.version
            """);
        command.Parameters.AddWithValue(record.Id);
        command.Parameters.AddWithValue(record.Account);
        command.Parameters.AddWithValue(record.Value);
        command.Parameters.AddWithValue(record.Version);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async IAsyncEnumerable<StoredRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id, account, value, version FROM records ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new StoredRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3));
        }
    }

    private void ThrowIfFailing()
    {
        if (_failing)
        {
            throw new NpgsqlException("Injected outage: the new store is unreachable.");
        }
    }
}
