using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Dapper;

namespace Flagstaff.Storage;

/// <summary>
/// One unit of work against the store: reads, and (inside <see cref="Store.WriteAsync{T}"/>) writes
/// in one transaction. All SQL is shared by SQLite and PostgreSQL.
/// </summary>
public sealed partial class StoreSession
{
    private readonly DbConnection _connection;
    private readonly DbTransaction? _transaction;
    private readonly CancellationToken _cancellationToken;
    private List<Action>? _afterCommit;

    static StoreSession()
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    internal StoreSession(Store store, DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        Store = store;
        _connection = connection;
        _transaction = transaction;
        _cancellationToken = cancellationToken;
    }

    /// <summary>The store this session belongs to.</summary>
    public Store Store { get; }

    /// <summary>Channel of notifications that an environment's configuration changed ("environmentId:version").</summary>
    public const string ConfigChannel = "flagstaff_config";

    /// <summary>Channel of notifications that API keys changed (the payload is a revoked key's id, or empty).</summary>
    public const string KeysChannel = "flagstaff_keys";

    /// <summary>Notifies the other server nodes when this transaction commits.</summary>
    public Task NotifyAsync(string channel, string payload) => Store.Dialect.NotifyAsync(_connection, _transaction, channel, payload, _cancellationToken);

    /// <summary>Registers an action to run once this session's transaction has committed.</summary>
    public void AfterCommit(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        (_afterCommit ??= []).Add(action);
    }

    internal void RunAfterCommit()
    {
        foreach (var action in _afterCommit ?? [])
        {
            action();
        }
    }

    private static long Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    private static long? Ms(DateTimeOffset? at) => at?.ToUnixTimeMilliseconds();

    private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static DateTimeOffset? At(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;

    private static string Json<T>(T value, JsonTypeInfo<T> info) => JsonSerializer.Serialize(value, info);

    private static T FromJson<T>(string json, JsonTypeInfo<T> info) => JsonSerializer.Deserialize(json, info)!;

    private CommandDefinition Command(string sql, object? parameters = null) =>
        new(sql, parameters, _transaction, cancellationToken: _cancellationToken);

    private Task<int> ExecuteAsync(string sql, object? parameters = null) => _connection.ExecuteAsync(Command(sql, parameters));

    private async Task<List<T>> QueryAsync<T>(string sql, object? parameters = null) =>
        [.. await _connection.QueryAsync<T>(Command(sql, parameters)).ConfigureAwait(false)];

    private Task<T?> QuerySingleAsync<T>(string sql, object? parameters = null) =>
        _connection.QuerySingleOrDefaultAsync<T>(Command(sql, parameters));

    private Task<T?> ScalarAsync<T>(string sql, object? parameters = null) => _connection.ExecuteScalarAsync<T>(Command(sql, parameters));

    private static void Expect(int rows, string what)
    {
        if (rows == 0)
        {
            throw new ConcurrencyConflictException($"{what} was changed by someone else (or removed) since it was read.");
        }
    }

    // Enums are stored as their JSON names ("kill-switch"), the same text the API shows.
    private static string EnumName<T>(T value, JsonTypeInfo<T> info) => JsonSerializer.Serialize(value, info).Trim('"');

    private static T ParseEnum<T>(string name, JsonTypeInfo<T> info) => JsonSerializer.Deserialize("\"" + name + "\"", info)!;

    private static string EscapeLike(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}
