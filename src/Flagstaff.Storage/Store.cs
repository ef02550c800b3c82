using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Dapper;

namespace Flagstaff.Storage;

/// <summary>
/// The system of record. Every read runs in a session; every write runs in one transaction together
/// with its audit entries, so a change and its record commit together or not at all.
/// </summary>
public sealed class Store : IAsyncDisposable
{
    // SQLite allows one writer at a time; queueing writers here (rather than in the database's busy
    // handler) keeps them fair and never fails a write with "database is locked".
    private readonly SemaphoreSlim? _writeGate;

    private readonly IStoreObserver? _observer;

    /// <summary>Creates a store over a dialect (which it owns).</summary>
    /// <param name="dialect">The database.</param>
    /// <param name="observer">Told the duration and outcome of every read and write session (for metrics), or null.</param>
    public Store(SqlDialect dialect, IStoreObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        Dialect = dialect;
        _observer = observer;
        _writeGate = dialect is SqliteDialect ? new SemaphoreSlim(1, 1) : null;
    }

    /// <summary>The database in use.</summary>
    public SqlDialect Dialect { get; }

    // A migration may rebuild a large table: it is not held to the command timeout of requests.
    private const int MigrationTimeoutSeconds = 600;

    /// <summary>Applies every embedded migration not yet applied, each in its own transaction.</summary>
    /// <returns>The names of the migrations applied.</returns>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var assembly = typeof(Store).Assembly;
        string prefix = $"Migrations/{Dialect.MigrationFolder}/";
        var scripts = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => (Name: n[prefix.Length..^4], Resource: n))
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();

        var applied = new List<string>();
        await using var connection = await Dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (name, resource) in scripts)
        {
            long version = long.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

            // Several server nodes may start at once: one migrates, the others wait, then find it done.
            await Dialect.LockForMigrationAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            bool done = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM schema_migrations WHERE version = @version", new { version }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false) > 0;
            if (done)
            {
                continue;
            }

            await connection.ExecuteAsync(new CommandDefinition(ReadScript(assembly, resource), transaction: transaction, commandTimeout: MigrationTimeoutSeconds, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @at)",
                new { version, name, at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            applied.Add(name);
        }

        return applied;
    }

    private static string ReadScript(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Runs reads in a session that sees one consistent snapshot of the data.</summary>
    public async Task<T> ReadAsync<T>(Func<StoreSession, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        long started = Stopwatch.GetTimestamp();
        StoreException? failure = null;
        try
        {
            await using var connection = await Dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await Dialect.BeginReadAsync(connection, cancellationToken).ConfigureAwait(false);
            var session = new StoreSession(this, connection, transaction, cancellationToken);
            var result = await work(session).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch (Exception e) when (Dialect.IsUnavailable(e) || e is DbException && !IsDomainError(e))
        {
            throw failure = Translate(e);
        }
        catch (StoreException e)
        {
            failure = e;
            throw;
        }
        finally
        {
            _observer?.Completed(StoreOperation.Read, Stopwatch.GetElapsedTime(started), failure);
        }
    }

    /// <summary>
    /// Runs a change in one transaction: it commits when <paramref name="work"/> returns, and rolls
    /// back, leaving everything as it was, when it throws. Actions registered with
    /// <see cref="StoreSession.AfterCommit"/> run once the commit succeeded.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<StoreSession, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);

        // The wait for SQLite's single writer counts: it is part of what a change costs.
        long started = Stopwatch.GetTimestamp();
        StoreException? failure = null;
        if (_writeGate is not null)
        {
            await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            StoreSession session;
            T result;
            await using (var connection = await Dialect.OpenAsync(cancellationToken).ConfigureAwait(false))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                session = new StoreSession(this, connection, transaction, cancellationToken);
                result = await work(session).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            session.RunAfterCommit();
            return result;
        }
        catch (Exception e) when (Dialect.IsUniqueViolation(e) || Dialect.IsUnavailable(e) || (e is DbException && !IsDomainError(e)))
        {
            throw failure = Translate(e);
        }
        catch (StoreException e)
        {
            failure = e;
            throw;
        }
        finally
        {
            _writeGate?.Release();
            _observer?.Completed(StoreOperation.Write, Stopwatch.GetElapsedTime(started), failure);
        }
    }

    /// <summary>Runs a change that returns nothing.</summary>
    public Task WriteAsync(Func<StoreSession, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return WriteAsync<bool>(async s =>
        {
            await work(s).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    private static bool IsDomainError(Exception e) => e is StoreException;

    /// <summary>
    /// Checks that the database answers a trivial query within <paramref name="timeout"/>, for the
    /// readiness check: a database that stopped or froze is noticed in that time, not when a request
    /// happens to need it.
    /// </summary>
    /// <exception cref="StoreUnavailableException">The database did not answer in time, or failed.</exception>
    public async Task PingAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var ping = PingOnceAsync(deadline.Token);
        try
        {
            // A frozen server may not even honour cancellation promptly: the verdict does not wait for it.
            await ping.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            _ = ping.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw NoAnswer(timeout, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw NoAnswer(timeout, e);
        }
        catch (Exception e) when (e is DbException || Dialect.IsUnavailable(e))
        {
            throw Translate(e) is StoreUnavailableException unavailable ? unavailable : new StoreUnavailableException($"The {Dialect.Name} database failed a health check: {e.Message}", e);
        }
    }

    private StoreUnavailableException NoAnswer(TimeSpan timeout, Exception e) =>
        new(string.Create(CultureInfo.InvariantCulture, $"The {Dialect.Name} database did not answer within {timeout.TotalSeconds:0.#} s."), e);

    private async Task PingOnceAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private StoreException Translate(Exception e) =>
        Dialect.IsUniqueViolation(e) ? new DuplicateKeyException("Something with the same key already exists.", e)
        : Dialect.IsFull(e) ? new StoreFullException($"The {Dialect.Name} database is full (no space left on its disk, or at its configured size limit): {e.Message}", e)
        : Dialect.IsUnavailable(e) ? new StoreUnavailableException($"The {Dialect.Name} database cannot be reached: {e.Message}", e)
        : new StoreException($"The {Dialect.Name} database failed: {e.Message}", e);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _writeGate?.Dispose();
        await Dialect.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>What a store session did: read or write.</summary>
public enum StoreOperation
{
    /// <summary>A read-only session.</summary>
    Read,

    /// <summary>A change, in one transaction.</summary>
    Write,
}

/// <summary>Is told how long each store session took and how it failed, if it did (for metrics).</summary>
public interface IStoreObserver
{
    /// <summary>Called once per session, when it ends; must be quick and must not throw.</summary>
    /// <param name="operation">Read or write.</param>
    /// <param name="elapsed">From the call to its end, waiting for the connection (and SQLite's writer lock) included.</param>
    /// <param name="failure">The storage failure it ended with, or null (a failure of the caller's own logic is not one).</param>
    void Completed(StoreOperation operation, TimeSpan elapsed, StoreException? failure);
}

/// <summary>A storage failure.</summary>
public class StoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public StoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public StoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A key that must be unique is taken.</summary>
public sealed class DuplicateKeyException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public DuplicateKeyException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public DuplicateKeyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public DuplicateKeyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>An update based on a version that is no longer current: someone else changed it first.</summary>
public sealed class ConcurrencyConflictException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public ConcurrencyConflictException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ConcurrencyConflictException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ConcurrencyConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The database cannot be reached, or cannot take changes right now.</summary>
public class StoreUnavailableException : StoreException
{
    /// <summary>What a person is told (the message itself may name hosts and ports, for the log only).</summary>
    public const string Explanation = "The database cannot be reached; changes are not possible right now. Evaluation keeps working.";

    /// <summary>Creates the exception.</summary>
    public StoreUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The database cannot grow: its disk is full (SQLITE_FULL, PostgreSQL's disk_full) or it reached its
/// configured size. Reads go on working; writes fail until space is freed.
/// </summary>
public sealed class StoreFullException : StoreUnavailableException
{
    /// <summary>What a person is told.</summary>
    public new const string Explanation = "The database is full: its disk has no space left (or it reached its configured size limit), so changes are not possible until space is freed. Evaluation keeps working.";

    /// <summary>Creates the exception.</summary>
    public StoreFullException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public StoreFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public StoreFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
