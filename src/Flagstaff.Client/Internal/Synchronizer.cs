using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Flagstaff.Evaluation;
using Microsoft.Extensions.Logging;

namespace Flagstaff.Client.Internal;

/// <summary>
/// Keeps a client's configuration current: the stored or bootstrap configuration first, then the
/// stream (<c>GET /stream</c>: a full configuration, then patches; resumed with <c>Last-Event-ID</c>),
/// with a poll of <c>GET /config</c> after each stream failure and instead of the stream where it is
/// unsupported. Runs on one background task: every field below is touched by that task only, except
/// the pending save, which is handed over through a volatile field.
/// </summary>
internal sealed class Synchronizer
{
    private const string KeyHeader = "X-Tggl-Api-Key";

    private readonly FlagstaffClient _client;
    private readonly FlagstaffClientOptions _options;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly IConfigurationStore? _store;
    private readonly Uri? _streamUri;
    private readonly Uri? _configUri;
    private readonly string _server;

    private Dictionary<string, ReadOnlyMemory<byte>> _raw = new(StringComparer.Ordinal);
    private Dictionary<string, double> _compareRates = new(StringComparer.Ordinal);
    private FlagConfiguration? _configuration;
    private long? _version;
    private int _failures;
    private DateTimeOffset? _streamingUnsupportedUntil;
    private StoredConfiguration? _pendingSave;
    private int _saving;
    private bool _persistFailing;

    public Synchronizer(FlagstaffClient client, FlagstaffClientOptions options, HttpClient http, ILogger logger, IConfigurationStore? store)
    {
        _client = client;
        _options = options;
        _http = http;
        _logger = logger;
        _store = store;
        _server = options.BaseUrl?.GetLeftPart(UriPartial.Authority) ?? "nowhere";
        if (options.BaseUrl is { } baseUrl)
        {
            var root = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
            _streamUri = new Uri(root, "stream");
            _configUri = new Uri(root, "config");
        }
    }

    /// <summary>Loads the bootstrap configuration, synchronously (it is a local file or text).</summary>
    public void LoadBootstrap()
    {
        if (_options.BootstrapJson is null && _options.BootstrapPath is null)
        {
            return;
        }

        var source = _options.BootstrapPath ?? "BootstrapJson";
        try
        {
            var stored = _options.BootstrapJson is { } json
                ? ConfigurationDocument.Read(System.Text.Encoding.UTF8.GetBytes(json), DateTime.UtcNow)
                : ConfigurationDocument.Read(File.ReadAllBytes(_options.BootstrapPath!), File.GetLastWriteTimeUtc(_options.BootstrapPath!));
            ApplyFull(stored.FlagsJson, stored.Version, "bootstrap", stored.SavedAt, persist: false);
            Log.StartedFromStored(_logger, "bootstrap", stored.Version, stored.SavedAt, _configuration?.Count ?? 0);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            Log.StoredConfigurationUnreadable(_logger, e, "bootstrap " + source);
            _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.MalformedData, $"The bootstrap configuration could not be read: {e.Message}", e));
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        if (_options.Mode == SyncMode.Offline)
        {
            return;
        }

        await LoadStoredAsync(stop).ConfigureAwait(false);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!await SynchronizeOnceAsync(stop).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                // Nothing above should throw; if something does, the loop must not die with it.
                _failures++;
                Log.ConnectionFailed(_logger, e.Message, NextBackoff());
                _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.Connection, e.Message, e));
                try
                {
                    await Task.Delay(NextBackoff(), _client.Clock.Provider, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    // One connection (or poll) and the wait after it; false when synchronisation must stop for good.
    private async Task<bool> SynchronizeOnceAsync(CancellationToken stop)
    {
        TimeSpan delay;
        if (_options.Mode == SyncMode.Polling || (_streamingUnsupportedUntil is { } until && _client.Clock.UtcNow < until))
        {
            var polled = await PollAsync(stop).ConfigureAwait(false);
            if (polled is Outcome.Unauthorized or Outcome.Stopped)
            {
                return false;
            }

            delay = polled == Outcome.Failed ? Max(_options.PollInterval, NextBackoff()) : _options.PollInterval;
            if (polled == Outcome.Succeeded)
            {
                _failures = 0;
            }
        }
        else
        {
            var streamed = await StreamAsync(stop).ConfigureAwait(false);
            if (streamed.Outcome is Outcome.Unauthorized or Outcome.Stopped)
            {
                return false;
            }

            if (streamed.Outcome == Outcome.Unsupported)
            {
                _streamingUnsupportedUntil = _client.Clock.UtcNow + _options.StreamingRetryInterval;
                Log.StreamingUnavailable(_logger, streamed.Reason, _options.PollInterval);
                return true;
            }

            // The stream failed: a plain request may still get through (a proxy that breaks long
            // connections, a stream closed for falling behind), and keeps the configuration fresh.
            var polled = await PollAsync(stop).ConfigureAwait(false);
            if (polled is Outcome.Unauthorized or Outcome.Stopped)
            {
                return false;
            }

            if (polled != Outcome.Succeeded)
            {
                _client.MarkStale();
            }

            _failures++;
            delay = NextBackoff();
            _client.Telemetry.Reconnecting();
            if (_failures == 1)
            {
                Log.ConnectionFailed(_logger, streamed.Reason, delay);
            }
            else
            {
                Log.ConnectionFailedAgain(_logger, streamed.Reason, _failures, delay);
            }
        }

        try
        {
            await Task.Delay(delay, _client.Clock.Provider, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        return true;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Exponential backoff with jitter: between half and all of min(max, initial × 2^(failures-1)).</summary>
    internal TimeSpan NextBackoff()
    {
        int exponent = Math.Clamp(_failures - 1, 0, 30);
        double ceiling = Math.Min(_options.MaxReconnectDelay.TotalMilliseconds, _options.InitialReconnectDelay.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    private async Task LoadStoredAsync(CancellationToken stop)
    {
        if (_store is null)
        {
            return;
        }

        try
        {
            var stored = await _store.LoadAsync(stop).ConfigureAwait(false);
            if (stored is not null && (_configuration is null || stored.Version is not null))
            {
                ApplyFull(stored.FlagsJson, stored.Version, "persisted", stored.SavedAt, persist: false);
                Log.StartedFromStored(_logger, "persisted", stored.Version, stored.SavedAt, _configuration?.Count ?? 0);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Log.StoredConfigurationUnreadable(_logger, e, "persisted");
            _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.Persistence, $"The persisted configuration could not be read: {e.Message}", e));
        }
    }

    private HttpRequestMessage NewRequest(Uri uri)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.TryAddWithoutValidation(KeyHeader, _options.ServerKey);
        return request;
    }

    private async Task<(Outcome Outcome, string Reason)> StreamAsync(CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(_options.RequestTimeout);
        bool resuming = _configuration is not null && _version is not null;
        using var request = NewRequest(_streamUri!);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (resuming)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", _version!.Value.ToString(CultureInfo.InvariantCulture));
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return (Outcome.Stopped, "stopped");
        }
        catch (OperationCanceledException)
        {
            return Fail(ClientErrorKind.Connection, $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return Fail(ClientErrorKind.Connection, e.Message, e);
        }

        using (response)
        {
            var status = response.StatusCode;
            if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                await RefusedAsync(response, stop).ConfigureAwait(false);
                return (Outcome.Unauthorized, "key refused");
            }

            if (status is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotAcceptable or HttpStatusCode.NotImplemented)
            {
                return (Outcome.Unsupported, $"GET /stream answered {(int)status}");
            }

            if (!response.IsSuccessStatusCode)
            {
                return Fail(ClientErrorKind.Connection, $"GET /stream answered {(int)status}", statusCode: (int)status);
            }

            if (response.Content.Headers.ContentType?.MediaType is not "text/event-stream")
            {
                return (Outcome.Unsupported, $"GET /stream answered {response.Content.Headers.ContentType?.MediaType ?? "no content type"}, not text/event-stream");
            }

            var reader = PipeReader.Create(await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false));
            try
            {
                return await ReadEventsAsync(reader, resuming, timeout, stop).ConfigureAwait(false);
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<(Outcome Outcome, string Reason)> ReadEventsAsync(PipeReader reader, bool resuming, CancellationTokenSource timeout, CancellationToken stop)
    {
        var parser = new SseParser();
        bool synced = false;
        while (true)
        {
            timeout.CancelAfter(_options.HeartbeatTimeout);
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return (Outcome.Stopped, "stopped");
            }
            catch (OperationCanceledException)
            {
                Log.DeadConnection(_logger, _options.HeartbeatTimeout);
                _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.DeadConnection, $"The stream brought nothing for {_options.HeartbeatTimeout}."));
                return (Outcome.Failed, "no heartbeat");
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                return Fail(ClientErrorKind.Connection, "the connection broke: " + e.Message, e);
            }

            var buffer = read.Buffer;
            try
            {
                while (parser.TryRead(ref buffer, out var e))
                {
                    if (e.Type is null)
                    {
                        // A heartbeat or the opening "retry:" block. When resuming, the server sends
                        // nothing more if we are current: its first block tells us we are.
                        if (resuming && !synced)
                        {
                            synced = Synced();
                        }
                    }
                    else if (e.Type is "config" or "patch")
                    {
                        Handle(e);
                        synced = synced || Synced();
                    }
                }
            }
            catch (Exception problem) when (problem is FormatException or ArgumentException or InvalidOperationException)
            {
                Log.MalformedEvent(_logger, "stream", problem.Message);
                _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.MalformedData, "A stream event could not be read: " + problem.Message, problem));
                return (Outcome.Failed, "malformed event");
            }

            if (synced)
            {
                _client.Touch();
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                return (Outcome.Failed, "the server closed the stream");
            }
        }
    }

    private bool Synced()
    {
        if (_failures > 0)
        {
            Log.ConnectionRestored(_logger, _failures);
        }
        else
        {
            Log.StreamConnected(_logger, _server);
        }

        _failures = 0;
        _client.MarkReady();
        return true;
    }

    private void Handle(SseEvent e)
    {
        var payload = ConfigurationDocument.Parse(e.Data);
        if (e.Type == "config")
        {
            ApplyFull(payload.Flags, payload.Version, "stream", _client.Clock.UtcNow, persist: true);
            return;
        }

        if (_configuration is null)
        {
            throw new FormatException("a patch arrived before any configuration");
        }

        if (payload.Version is { } version && _version is { } current && version <= current)
        {
            return;
        }

        ApplyPatch(payload);
    }

    private void ApplyFull(ReadOnlyMemory<byte> flagsJson, long? version, string source, DateTimeOffset savedAt, bool persist)
    {
        var raw = ConfigurationDocument.Split(flagsJson);
        var loaded = FlagConfiguration.Load(flagsJson.Span, LoadMode.Lenient);
        if (loaded.Configuration is null)
        {
            throw new FormatException(loaded.Errors.Count > 0 ? loaded.Errors[0].ToString() : "the configuration could not be read");
        }

        ReportInvalid(loaded.Errors);
        var next = new Dictionary<string, ReadOnlyMemory<byte>>(raw.Count, StringComparer.Ordinal);
        var compareRates = new Dictionary<string, double>(StringComparer.Ordinal);
        var changed = new List<string>();
        foreach (var flag in raw)
        {
            next[flag.Slug] = flag.Json;
            if (flag.CompareRate is { } rate)
            {
                compareRates[flag.Slug] = rate;
            }

            if (!_raw.TryGetValue(flag.Slug, out var before) || !before.Span.SequenceEqual(flag.Json.Span))
            {
                changed.Add(flag.Slug);
            }
        }

        foreach (var slug in _raw.Keys)
        {
            if (!next.ContainsKey(slug))
            {
                changed.Add(slug);
            }
        }

        _raw = next;
        _compareRates = compareRates;
        _configuration = loaded.Configuration;
        _version = version;
        Log.ConfigurationReceived(_logger, version, loaded.Configuration.Count, source);
        _client.Publish(loaded.Configuration, compareRates, version, changed, source);
        if (persist)
        {
            Save(savedAt);
        }
    }

    private void ApplyPatch(ConfigurationPayload payload)
    {
        var raw = ConfigurationDocument.Split(payload.Flags);
        var upserted = new List<CompiledFlag>(raw.Count);
        var errors = new List<ConfigurationError>();
        foreach (var flag in raw)
        {
            var loaded = FlagConfiguration.LoadFlag(flag.Json.Span, LoadMode.Lenient);
            if (loaded.Flag is null)
            {
                throw new FormatException($"flag \"{flag.Slug}\" could not be read: {(loaded.Errors.Count > 0 ? loaded.Errors[0].Message : "unknown error")}");
            }

            errors.AddRange(loaded.Errors);
            upserted.Add(loaded.Flag);
        }

        ReportInvalid(errors);
        var configuration = _configuration!.WithChanges(upserted, payload.Deleted);
        var next = new Dictionary<string, ReadOnlyMemory<byte>>(_raw, StringComparer.Ordinal);
        var compareRates = new Dictionary<string, double>(_compareRates, StringComparer.Ordinal);
        var changed = new List<string>(raw.Count + payload.Deleted.Count);
        foreach (var slug in payload.Deleted)
        {
            next.Remove(slug);
            compareRates.Remove(slug);
            changed.Add(slug);
        }

        foreach (var flag in raw)
        {
            next[flag.Slug] = flag.Json;
            if (flag.CompareRate is { } rate)
            {
                compareRates[flag.Slug] = rate;
            }
            else
            {
                compareRates.Remove(flag.Slug);
            }

            changed.Add(flag.Slug);
        }

        _raw = next;
        _compareRates = compareRates;
        _configuration = configuration;
        _version = payload.Version ?? _version;
        Log.Patched(_logger, _version, raw.Count, payload.Deleted.Count);
        _client.Publish(configuration, compareRates, _version, changed, "stream");
        Save(_client.Clock.UtcNow);
    }

    private void ReportInvalid(IReadOnlyList<ConfigurationError> errors)
    {
        if (errors.Count == 0)
        {
            return;
        }

        Log.InvalidFlags(_logger, errors.Count, errors[0].ToString());
        _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.InvalidFlags, $"{errors.Count} invalid flags evaluate to the caller's default; the first: {errors[0]}"));
    }

    private async Task<Outcome> PollAsync(CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(_options.RequestTimeout);
        using var request = NewRequest(_configUri!);
        if (_configuration is not null && _version is { } version)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", "\"" + version.ToString(CultureInfo.InvariantCulture) + "\"");
        }

        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                await RefusedAsync(response, stop).ConfigureAwait(false);
                return Outcome.Unauthorized;
            }

            if (response.StatusCode == HttpStatusCode.NotModified)
            {
                Log.PollUnchanged(_logger, _version);
                _client.MarkReady();
                _client.Touch();
                return Outcome.Succeeded;
            }

            if (!response.IsSuccessStatusCode)
            {
                Log.RequestFailed(_logger, "GET /config", (int)response.StatusCode);
                return Outcome.Failed;
            }

            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            ApplyFull(body, ParseETag(response.Headers.ETag), "poll", _client.Clock.UtcNow, persist: true);
            _client.MarkReady();
            _client.Touch();
            return Outcome.Succeeded;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return Outcome.Stopped;
        }
        catch (FormatException e)
        {
            Log.MalformedEvent(_logger, "GET /config", e.Message);
            _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.MalformedData, "GET /config answered something that is not a configuration: " + e.Message, e));
            return Outcome.Failed;
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
        {
            return Outcome.Failed;
        }
    }

    private static long? ParseETag(EntityTagHeaderValue? etag) =>
        etag is not null && long.TryParse(etag.Tag.Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out long version) ? version : null;

    private async Task RefusedAsync(HttpResponseMessage response, CancellationToken stop)
    {
        string message = "no message";
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(stop).ConfigureAwait(false);
            message = JsonSerializer.Deserialize(body, WireJson.Default.ErrorBody)?.Error ?? message;
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException or OperationCanceledException)
        {
            // The status says enough.
        }

        int status = (int)response.StatusCode;
        if (_client.State != ClientState.Unauthorized)
        {
            // One clear line; a refusal that persists at the slow retries is not logged again.
            Log.KeyRefused(_logger, status, message, _options.UnauthorizedRetryInterval);
            _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.Unauthorized, $"The server refused the key ({status}): {message}", statusCode: status));
            _client.MarkUnauthorized();
        }
    }

    private (Outcome, string) Fail(ClientErrorKind kind, string reason, Exception? exception = null, int? statusCode = null)
    {
        _client.RaiseError(new ClientErrorEventArgs(kind, reason, exception, statusCode));
        return (Outcome.Failed, reason);
    }

    private void Save(DateTimeOffset savedAt)
    {
        if (_store is null)
        {
            return;
        }

        Volatile.Write(ref _pendingSave, new StoredConfiguration(_version, ConfigurationDocument.Join(_raw.Values), savedAt));
        if (Interlocked.Exchange(ref _saving, 1) == 0)
        {
            _ = Task.Run(SaveLoopAsync);
        }
    }

    // Saves the latest configuration; changes that arrive meanwhile are coalesced into one more save.
    private async Task SaveLoopAsync()
    {
        while (true)
        {
            var pending = Interlocked.Exchange(ref _pendingSave, null);
            if (pending is not null)
            {
                await SaveNowAsync(pending).ConfigureAwait(false);
            }

            Volatile.Write(ref _saving, 0);
            if (Volatile.Read(ref _pendingSave) is null || Interlocked.Exchange(ref _saving, 1) != 0)
            {
                return;
            }
        }
    }

    private async Task SaveNowAsync(StoredConfiguration configuration)
    {
        try
        {
            await _store!.SaveAsync(configuration, CancellationToken.None).ConfigureAwait(false);
            _persistFailing = false;
        }
        catch (Exception e)
        {
            if (!_persistFailing)
            {
                Log.PersistFailed(_logger, e);
                _client.RaiseError(new ClientErrorEventArgs(ClientErrorKind.Persistence, "The last good configuration could not be saved: " + e.Message, e));
            }

            _persistFailing = true;
        }
    }

    /// <summary>Waits for a save in progress (on dispose).</summary>
    public async Task FlushSavesAsync(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while ((Volatile.Read(ref _saving) == 1 || Volatile.Read(ref _pendingSave) is not null) && DateTime.UtcNow < deadline)
        {
            if (Volatile.Read(ref _saving) == 0 && Interlocked.Exchange(ref _pendingSave, null) is { } pending)
            {
                await SaveNowAsync(pending).ConfigureAwait(false);
                continue;
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    private enum Outcome
    {
        Succeeded,
        Failed,
        Unsupported,
        Unauthorized,
        Stopped,
    }
}
