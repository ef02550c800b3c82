using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Flagstaff.Client.Internal;
using Flagstaff.Evaluation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flagstaff.Client;

/// <summary>A client that evaluates flags in process and keeps its configuration current.</summary>
public interface IFlagstaffClient : IFlagEvaluator
{
    /// <summary>Where the client stands.</summary>
    ClientState State { get; }

    /// <summary>When the configuration was last known to be current (a stream event or heartbeat, a successful poll); null if never.</summary>
    DateTimeOffset? LastSyncedAt { get; }

    /// <summary>The current configuration, frozen: evaluations through it see the same flags however the configuration changes meanwhile.</summary>
    FlagSnapshot GetSnapshot();

    /// <summary>
    /// Waits until the configuration is current (<see cref="ClientState.Ready"/>). Returns false when
    /// <paramref name="timeout"/> passes first, or when the key is refused; evaluations work meanwhile
    /// (from a persisted or bootstrap configuration, or with defaults).
    /// </summary>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait (throws <see cref="OperationCanceledException"/>).</param>
    Task<bool> WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Raised (on a background thread) after each configuration change.</summary>
    event EventHandler<ConfigurationChangedEventArgs>? ConfigurationChanged;

    /// <summary>Raised (on a background thread) for each problem met; evaluations go on.</summary>
    event EventHandler<ClientErrorEventArgs>? Error;

    /// <summary>Raised (on a background thread) when <see cref="State"/> changes.</summary>
    event EventHandler<ClientStateChangedEventArgs>? StateChanged;
}

/// <summary>
/// The Flagstaff SDK's local-evaluation client. It receives the configuration of one environment from
/// the server (streamed, or polled where streaming is unavailable), evaluates flags in process without
/// allocating or locking, and reports usage in the background. Create one per environment and keep it
/// for the life of the application (it is thread-safe); dispose it to flush usage.
/// </summary>
/// <example>
/// <code>
/// await using var client = new FlagstaffClient(new FlagstaffClientOptions
/// {
///     BaseUrl = new Uri("https://flags.example.com/"),
///     ServerKey = Environment.GetEnvironmentVariable("FLAGSTAFF_SERVER_KEY"),
/// });
/// await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(5));
/// var user = EvaluationContext.CreateBuilder().Set("userId", "u-42").Build();
/// if (client.GetBoolean("new-checkout", user, false)) { /* ... */ }
/// </code>
/// </example>
public sealed class FlagstaffClient : IFlagstaffClient, IAsyncDisposable, IDisposable
{
    private static readonly string Version = typeof(FlagstaffClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private readonly FlagstaffClientOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient? _http;
    private readonly bool _ownsHttp;
    private readonly ClientRuntime _runtime;
    private readonly Synchronizer _synchronizer;
    private readonly UsageReporter? _reporter;
    private readonly MigrationReporter? _migrationReporter;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sync;
    private readonly Task _reporting;
    private readonly Task _migrationReporting;
    private readonly Lock _stateGate = new();
    private FlagSnapshot _snapshot;
    private int _generation;
    private volatile ClientState _state = ClientState.Initializing;
    private TaskCompletionSource _stateSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastSyncedAtTicks;
    private int _disposed;

    /// <summary>Creates a client and starts synchronising in the background. Never waits for the network.</summary>
    /// <param name="options">The settings (checked: invalid settings throw <see cref="ArgumentException"/>).</param>
    /// <param name="loggerFactory">Where to log; nowhere when null.</param>
    /// <param name="httpClient">The HTTP client to use (not disposed by this client); a private one when null.</param>
    /// <param name="meterFactory">Creates the client's meter (from dependency injection); a private meter when null.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public FlagstaffClient(FlagstaffClientOptions options, ILoggerFactory? loggerFactory = null, HttpClient? httpClient = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid Flagstaff client options: " + string.Join(" ", errors), nameof(options));
        }

        _options = options;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Flagstaff.Client");
        var clock = new CoarseClock(options.TimeProvider);
        bool online = options.Mode != SyncMode.Offline;
        if (online)
        {
            _http = httpClient ?? CreateHttpClient();
            _ownsHttp = httpClient is null;
        }

        var usage = online && options.ReportUsage ? new UsageRecorder(clock, recordContexts: options.ReportContextValues, recordValues: options.ReportContextValues) : null;
        var telemetry = new ClientTelemetry(meterFactory, () => Staleness?.TotalSeconds);
        _runtime = new ClientRuntime(clock, usage, telemetry);
        _snapshot = new FlagSnapshot(_runtime, null, null, null, 0);

        IConfigurationStore? store = null;
        if (online && options.PersistConfiguration)
        {
            store = options.ConfigurationStore ?? new FileConfigurationStore(options.CachePath ?? FileConfigurationStore.DefaultPath(options.BaseUrl!, options.ServerKey!));
        }

        _synchronizer = new Synchronizer(this, options, _http!, _logger, store);
        _synchronizer.LoadBootstrap();
        if (!online && _snapshot.HasConfiguration)
        {
            MarkReady();
        }

        _sync = online ? Task.Run(() => _synchronizer.RunAsync(_stop.Token)) : Task.CompletedTask;
        if (usage is not null)
        {
            var clientId = $"dotnet-client:{Version}/FlagstaffClient" + (options.AppName is { Length: > 0 } app ? "/" + app : string.Empty);
            _reporter = new UsageReporter(usage, _http!, options.BaseUrl!, options.ServerKey!, clientId, options.RequestTimeout, _logger);
            _reporting = Task.Run(() => _reporter.RunAsync(options.ReportInterval, clock.Provider, _stop.Token));
        }
        else
        {
            _reporting = Task.CompletedTask;
        }

        Migrations = new MigrationRecorder(clock);
        if (online && options.ReportMigrations)
        {
            _migrationReporter = new MigrationReporter(Migrations, _http!, options.BaseUrl!, options.ServerKey!, options.RequestTimeout, _logger);
            _migrationReporting = Task.Run(() => _migrationReporter.RunAsync(options.MigrationReportInterval, clock.Provider, _stop.Token));
        }
        else
        {
            _migrationReporting = Task.CompletedTask;
        }
    }

    /// <inheritdoc />
    public event EventHandler<ConfigurationChangedEventArgs>? ConfigurationChanged;

    /// <inheritdoc />
    public event EventHandler<ClientErrorEventArgs>? Error;

    /// <inheritdoc />
    public event EventHandler<ClientStateChangedEventArgs>? StateChanged;

    /// <inheritdoc />
    public ClientState State => _state;

    /// <inheritdoc />
    public DateTimeOffset? LastSyncedAt
    {
        get
        {
            long ticks = Interlocked.Read(ref _lastSyncedAtTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>How long since the configuration was last known to be current; null if it never was.</summary>
    public TimeSpan? Staleness => LastSyncedAt is { } at ? _runtime.Clock.UtcNow - at : null;

    /// <summary>The version of the configuration in use, when known.</summary>
    public long? ConfigurationVersion => Volatile.Read(ref _snapshot).Version;

    /// <summary>The <c>ActivitySource</c> and <c>Meter</c> name to listen to for OpenTelemetry.</summary>
    public const string TelemetryName = ClientTelemetry.Name;

    internal CoarseClock Clock => _runtime.Clock;

    internal ClientTelemetry Telemetry => _runtime.Telemetry;

    internal MigrationRecorder Migrations { get; }

    internal ILogger Logger => _logger;

    /// <inheritdoc />
    public FlagSnapshot GetSnapshot() => Volatile.Read(ref _snapshot);

    /// <inheritdoc />
    public async Task<bool> WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long started = _runtime.Clock.Provider.GetTimestamp();
        while (true)
        {
            Task signal;
            lock (_stateGate)
            {
                if (_state == ClientState.Ready)
                {
                    return true;
                }

                if (_state is ClientState.Unauthorized or ClientState.Disposed)
                {
                    return false;
                }

                signal = _stateSignal.Task;
            }

            var remaining = timeout - _runtime.Clock.Provider.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await signal.WaitAsync(remaining, _runtime.Clock.Provider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return State == ClientState.Ready;
            }
        }
    }

    /// <summary>Sends the usage counted so far now, rather than at the next report interval. Never throws.</summary>
    /// <param name="cancellationToken">Cancels the send.</param>
    public Task FlushUsageAsync(CancellationToken cancellationToken = default) =>
        _reporter?.FlushAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>Sends the migration measurements made so far now, rather than at the next report interval. Never throws.</summary>
    /// <param name="cancellationToken">Cancels the send.</param>
    public Task FlushMigrationsAsync(CancellationToken cancellationToken = default) =>
        _migrationReporter?.FlushAsync(cancellationToken) ?? Task.CompletedTask;

    /// <inheritdoc />
    public bool IsActive(string slug, EvaluationContext context) => Volatile.Read(ref _snapshot).IsActive(slug, context);

    /// <inheritdoc />
    public bool GetBoolean(string slug, EvaluationContext context, bool defaultValue) => Volatile.Read(ref _snapshot).GetBoolean(slug, context, defaultValue);

    /// <inheritdoc />
    public string GetString(string slug, EvaluationContext context, string defaultValue) => Volatile.Read(ref _snapshot).GetString(slug, context, defaultValue);

    /// <inheritdoc />
    public double GetDouble(string slug, EvaluationContext context, double defaultValue) => Volatile.Read(ref _snapshot).GetDouble(slug, context, defaultValue);

    /// <inheritdoc />
    public long GetInt64(string slug, EvaluationContext context, long defaultValue) => Volatile.Read(ref _snapshot).GetInt64(slug, context, defaultValue);

    /// <inheritdoc />
    public T GetValue<T>(string slug, EvaluationContext context, T defaultValue, JsonTypeInfo<T> jsonTypeInfo) =>
        Volatile.Read(ref _snapshot).GetValue(slug, context, defaultValue, jsonTypeInfo);

    /// <inheritdoc />
    [RequiresUnreferencedCode("Deserialises by reflection; pass a JsonTypeInfo<T> for trimmed or AOT applications.")]
    [RequiresDynamicCode("Deserialises by reflection; pass a JsonTypeInfo<T> for trimmed or AOT applications.")]
    public T GetValue<T>(string slug, EvaluationContext context, T defaultValue, JsonSerializerOptions? options = null) =>
        Volatile.Read(ref _snapshot).GetValue(slug, context, defaultValue, options);

    /// <inheritdoc />
    public EvaluationDetail<bool> GetBooleanDetail(string slug, EvaluationContext context, bool defaultValue) =>
        Volatile.Read(ref _snapshot).GetBooleanDetail(slug, context, defaultValue);

    /// <inheritdoc />
    public EvaluationDetail<string> GetStringDetail(string slug, EvaluationContext context, string defaultValue) =>
        Volatile.Read(ref _snapshot).GetStringDetail(slug, context, defaultValue);

    /// <inheritdoc />
    public EvaluationDetail<double> GetDoubleDetail(string slug, EvaluationContext context, double defaultValue) =>
        Volatile.Read(ref _snapshot).GetDoubleDetail(slug, context, defaultValue);

    /// <inheritdoc />
    public EvaluationDetail<T> GetValueDetail<T>(string slug, EvaluationContext context, T defaultValue, JsonTypeInfo<T> jsonTypeInfo) =>
        Volatile.Read(ref _snapshot).GetValueDetail(slug, context, defaultValue, jsonTypeInfo);

    /// <inheritdoc />
    public EvaluationDetail<FlagValue?> Evaluate(string slug, EvaluationContext context) => Volatile.Read(ref _snapshot).Evaluate(slug, context);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, FlagValue> EvaluateAll(EvaluationContext context) => Volatile.Read(ref _snapshot).EvaluateAll(context);

    // ------------------------------------------------------------------ called by the synchronizer

    internal void Publish(FlagConfiguration configuration, IReadOnlyDictionary<string, double> compareRates, long? version, IReadOnlyList<string> changed, string source)
    {
        var snapshot = new FlagSnapshot(_runtime, configuration, compareRates, version, Interlocked.Increment(ref _generation));
        Volatile.Write(ref _snapshot, snapshot);
        _runtime.Telemetry.ConfigurationUpdated(source);
        if (source is "bootstrap" or "persisted")
        {
            SetState(ClientState.Stale, onlyFrom: ClientState.Initializing);
        }

        if (changed.Count > 0 && ConfigurationChanged is { } handlers)
        {
            Raise(handlers, new ConfigurationChangedEventArgs(snapshot, changed, source), nameof(ConfigurationChanged));
        }
    }

    internal void MarkReady() => SetState(ClientState.Ready);

    internal void MarkStale()
    {
        if (Volatile.Read(ref _snapshot).HasConfiguration)
        {
            SetState(ClientState.Stale);
        }
    }

    internal void MarkUnauthorized() => SetState(ClientState.Unauthorized);

    internal void Touch() => Interlocked.Exchange(ref _lastSyncedAtTicks, _runtime.Clock.UtcNow.UtcTicks);

    internal void RaiseError(ClientErrorEventArgs error)
    {
        if (Error is { } handlers)
        {
            Raise(handlers, error, nameof(Error));
        }
    }

    private void SetState(ClientState state, ClientState? onlyFrom = null)
    {
        ClientState previous;
        TaskCompletionSource signal;
        lock (_stateGate)
        {
            previous = _state;
            if (previous == state || previous is ClientState.Disposed || (previous is ClientState.Unauthorized && state is ClientState.Stale)
                || (onlyFrom is { } from && previous != from))
            {
                return;
            }

            _state = state;
            signal = _stateSignal;
            _stateSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        if (state == ClientState.Ready)
        {
            Touch();
        }

        signal.TrySetResult();
        if (StateChanged is { } handlers)
        {
            Raise(handlers, new ClientStateChangedEventArgs(previous, state), nameof(StateChanged));
        }
    }

    private void Raise<TArgs>(EventHandler<TArgs> handlers, TArgs args, string name)
    {
        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((EventHandler<TArgs>)handler)(this, args);
            }
            catch (Exception e)
            {
                Log.HandlerFailed(_logger, e, name);
            }
        }
    }

    private HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = _options.RequestTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd($"Flagstaff.Client/{Version}");
        return http;
    }

    /// <summary>Stops synchronising, sends the last usage report and saves the configuration.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_sync, _reporting, _migrationReporting).WaitAsync(_options.RequestTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A background task did not stop in time; it stops on its own with the cancelled token.
        }

        using (var limit = new CancellationTokenSource(_options.RequestTimeout))
        {
            try
            {
                await Task.WhenAll(FlushUsageAsync(limit.Token), FlushMigrationsAsync(limit.Token)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Out of time: the last counts are lost rather than delaying shutdown.
            }
        }

        await _synchronizer.FlushSavesAsync(_options.RequestTimeout).ConfigureAwait(false);
        SetState(ClientState.Disposed);
        _runtime.Telemetry.Dispose();
        _runtime.Usage?.Dispose();
        _reporter?.Dispose();
        _migrationReporter?.Dispose();
        if (_ownsHttp)
        {
            _http?.Dispose();
        }

        _stop.Dispose();
    }

    /// <summary>Like <see cref="DisposeAsync"/>, blocking.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
