using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Flagstaff.Storage;

/// <summary>
/// What differs between the databases: how to connect, the migration scripts, how a write
/// transaction begins, and how errors are recognised. Every query is the same SQL on both.
/// </summary>
public abstract class SqlDialect : IAsyncDisposable
{
    /// <summary>The folder of this dialect's migration scripts among the embedded resources.</summary>
    internal abstract string MigrationFolder { get; }

    /// <summary>A name for logs ("SQLite", "PostgreSQL").</summary>
    public abstract string Name { get; }

    /// <summary>Where the data is, without secrets, for logs.</summary>
    public abstract string Describe();

    /// <summary>Opens a connection.</summary>
    internal abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Begins a read-only transaction that sees one consistent snapshot, so that several queries never
    /// see half of a concurrent change.
    /// </summary>
    internal abstract ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Whether an exception is a violation of a unique constraint.</summary>
    internal abstract bool IsUniqueViolation(Exception exception);

    /// <summary>
    /// Sends a notification to the other server nodes when the transaction commits (PostgreSQL's
    /// NOTIFY); nothing for a database that only one node uses.
    /// </summary>
    internal virtual Task NotifyAsync(DbConnection connection, DbTransaction? transaction, string channel, string payload, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Whether an exception means the database cannot be reached (as opposed to a bad query).</summary>
    internal abstract bool IsUnavailable(Exception exception);

    /// <summary>Whether an exception means the database's disk (or its configured size) is full.</summary>
    internal abstract bool IsFull(Exception exception);

    /// <summary>
    /// Serialises schema migrations across processes within the open transaction (PostgreSQL takes an
    /// advisory lock; SQLite's write transaction is already exclusive).
    /// </summary>
    internal virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Serialises the writing of usage reports across processes within the open transaction, so that
    /// the limits on what reports add (counted in the database, then filled) hold with several nodes
    /// (PostgreSQL takes an advisory lock; SQLite's write transaction is already exclusive).
    /// </summary>
    internal virtual Task LockForReportsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>SQLite through Microsoft.Data.Sqlite: one file, WAL mode, a busy timeout.</summary>
public sealed class SqliteDialect : SqlDialect
{
    private readonly string _connectionString;

    private readonly int _busyTimeoutMs;
    private readonly long _maxPages;

    /// <summary>Uses (and creates if needed) the database file at <paramref name="path"/>.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="commandTimeout">How long a command may wait for a lock held by another process (default 30 s).</param>
    /// <param name="maxSizeBytes">The largest the file may grow (in pages of 4 KiB); 0 for no limit but the disk's.</param>
    public SqliteDialect(string path, TimeSpan? commandTimeout = null, long maxSizeBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSizeBytes);
        var timeout = commandTimeout ?? TimeSpan.FromSeconds(30);
        _busyTimeoutMs = (int)Math.Max(1, timeout.TotalMilliseconds);
        _maxPages = maxSizeBytes / PageSize;
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // Created here, readable by its owner only, before SQLite opens it: SQLite gives the -wal and
        // -shm files it creates next to it the same mode.
        if (!OperatingSystem.IsWindows() && !File.Exists(Path))
        {
            try
            {
                using var created = new FileStream(Path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            catch (IOException) when (File.Exists(Path))
            {
                // Another process created it meanwhile.
            }
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = (int)Math.Max(1, Math.Ceiling(timeout.TotalSeconds)),
        }.ToString();
    }

    // SQLite's default page size, which every Flagstaff database keeps.
    private const int PageSize = 4096;

    /// <summary>The database file.</summary>
    public string Path { get; }

    internal override string MigrationFolder => "Sqlite";

    /// <inheritdoc />
    public override string Name => "SQLite";

    /// <inheritdoc />
    public override string Describe() => Path;

    internal override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();

        // WAL lets readers work while one writer writes; the busy timeout makes a second writer wait
        // instead of failing with "database is locked". Foreign keys are off by default in SQLite.
        // max_page_count holds for the connection only, so it is set on every one.
        command.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {_busyTimeoutMs}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
            + (_maxPages > 0 ? string.Create(CultureInfo.InvariantCulture, $" PRAGMA max_page_count = {_maxPages};") : "");
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    // In WAL mode a deferred transaction reads one snapshot from its first read to its end.
    internal override ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: true));

    internal override bool IsUniqueViolation(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 };

    // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CANTOPEN.
    internal override bool IsUnavailable(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 5 or 6 or 10 or 14 };

    // SQLITE_FULL: the disk, or the size set by max_page_count.
    internal override bool IsFull(Exception exception) => exception is SqliteException { SqliteErrorCode: 13 };

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        return base.DisposeAsync();
    }
}

/// <summary>PostgreSQL through Npgsql: the production store, shared by any number of server nodes.</summary>
public sealed class PostgresDialect : SqlDialect
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _description;

    /// <summary>Uses the database of <paramref name="connectionString"/>.</summary>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="commandTimeout">
    /// How long a command, and opening a connection, may take before it fails (so that a database that
    /// stopped answering fails requests instead of holding them); when null, the connection string's
    /// Command Timeout and Timeout (Npgsql's defaults: 30 s and 15 s).
    /// </param>
    public PostgresDialect(string connectionString, TimeSpan? commandTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        _description = $"{builder.Host}:{builder.Port}/{builder.Database}";
        if (commandTimeout is { } timeout)
        {
            int seconds = (int)Math.Max(1, Math.Ceiling(timeout.TotalSeconds));
            builder.CommandTimeout = seconds;
            builder.Timeout = seconds;

            // After a timeout Npgsql asks the server to cancel the query, and waits for that too.
            builder.CancellationTimeout = Math.Min(builder.CancellationTimeout, seconds * 1000);
        }

        ConnectionString = builder.ToString();
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    /// <summary>The connection string (holds the password: never log it).</summary>
    public string ConnectionString { get; }

    internal override string MigrationFolder => "Postgres";

    /// <inheritdoc />
    public override string Name => "PostgreSQL";

    /// <inheritdoc />
    public override string Describe() => _description;

    internal override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    internal override async ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await ((NpgsqlConnection)connection).BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SET TRANSACTION READ ONLY", (NpgsqlConnection)connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return transaction;
    }

    internal override bool IsUniqueViolation(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    // Connection failures, the server shutting down or refusing connections to the database: the
    // database is unreachable, not the query wrong.
    internal override bool IsUnavailable(Exception exception) =>
        exception is NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException or TimeoutException
        || exception is PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "55000" or "3D000" or "53300" }
        || exception is PostgresException p && p.SqlState.StartsWith("08", StringComparison.Ordinal)
        || (exception is NpgsqlException && exception.InnerException is System.Net.Sockets.SocketException or IOException);

    internal override bool IsFull(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.DiskFull };

    internal override async Task NotifyAsync(DbConnection connection, DbTransaction? transaction, string channel, string payload, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_notify(@channel, @payload)", (NpgsqlConnection)connection, (NpgsqlTransaction?)transaction);
        command.Parameters.AddWithValue("channel", channel);
        command.Parameters.AddWithValue("payload", payload);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens a dedicated connection for LISTEN (the caller owns it).</summary>
    /// <summary>
    /// Listens on <paramref name="channels"/> (the counterpart of <see cref="NotifyAsync"/>) on a
    /// connection of its own, passing each notification to <paramref name="received"/> until cancelled.
    /// <paramref name="listening"/> runs once the server listens: what was sent before that was missed.
    /// Throws when the connection is lost; the caller reconnects.
    /// </summary>
    public async Task ListenAsync(IReadOnlyList<string> channels, Action<string, string> received, Action listening, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(received);
        ArgumentNullException.ThrowIfNull(listening);
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { KeepAlive = 10, Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ToString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        connection.Notification += (_, e) => received(e.Channel, e.Payload);
        await using (var command = connection.CreateCommand())
        {
            // Channel names are the store's constants, never input.
            command.CommandText = string.Concat(channels.Select(c => $"LISTEN {c};"));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        listening();
        while (!cancellationToken.IsCancellationRequested)
        {
            await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    internal override async Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT pg_advisory_xact_lock(7418263405)";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal override async Task LockForReportsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT pg_advisory_xact_lock(7418263406)";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
