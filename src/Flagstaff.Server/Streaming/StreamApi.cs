using System.Globalization;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Server.EvaluationApi;

namespace Flagstaff.Server.Streaming;

/// <summary>
/// Server-Sent Events. <c>GET /stream</c> (server key) pushes the configuration to Flagstaff's SDK and
/// relays: the whole configuration first (<c>event: config</c>), then each change (<c>event: patch</c>)
/// with the version as the event id; a client that reconnects with <c>Last-Event-ID</c> gets only what
/// it missed. <c>GET /ofrep/v1/events/{channel}</c> tells OFREP bulk clients to re-fetch.
/// </summary>
public static class StreamApi
{
    public static IEndpointRouteBuilder MapStreamApi(this IEndpointRouteBuilder app)
    {
        // Streams live for hours: they use the application's services (all singletons) rather than
        // holding a request scope each.
        var services = app.ServiceProvider;
        RequestDelegate stream = context => Stream(context, services);
        app.MapGet("/stream", stream).Described(stream).AllowAnonymous().WithTags("Streaming").WithName("Stream")
            .ProducesTgglErrors(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Server-Sent Events: the whole configuration, then every change within milliseconds; resumable with Last-Event-ID; heartbeats every 15 s. Server key.")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), ["text/event-stream"]))
            .ShortCircuit();
        RequestDelegate events = context => OfrepEvents((string)context.Request.RouteValues["channel"]!, context, services);
        app.MapGet("/ofrep/v1/events/{channel}", events).Described(events).AllowAnonymous().WithTags("OFREP").WithName("OfrepEvents")
            .ProducesTgglErrors(StatusCodes.Status404NotFound)
            .WithSummary("OFREP change notifications for bulk clients: refetchEvaluation events. The URL comes from the bulk evaluation's eventStreams.")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), ["text/event-stream"]))
            .ShortCircuit();
        app.MapMethods("/ofrep/v1/events/{channel}", ["OPTIONS"], EvaluationHttp.Preflight).ShortCircuit().ExcludeFromDescription();
        return app;
    }

    // Not async themselves: a stream that is refused costs nothing more, one that runs keeps one state
    // machine (RunAsync's) for its lifetime.
    private static Task Stream(HttpContext context, IServiceProvider services)
    {
        KeyEntry key;
        try
        {
            (key, _) = services.GetRequiredService<EvaluationGate>().Open(context, KeyHeaders.Tggl, serverOnly: true);
        }
        catch (EvaluationException e)
        {
            return TgglApi.WriteErrorAsync(context, e.Status, e.Message);
        }

        long? resumeFrom = long.TryParse(context.Request.Headers["Last-Event-ID"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out long lastId) ? lastId : null;
        return RunAsync(context, services, key.EnvironmentId, key.Id, ofrep: false, resumeFrom);
    }

    private static Task OfrepEvents(string channel, HttpContext context, IServiceProvider services)
    {
        EvaluationHttp.AllowCors(context);
        var environmentId = services.GetRequiredService<OfrepChannels>().Resolve(channel);
        return environmentId is null || !services.GetRequiredService<SnapshotCache>().TryGet(environmentId, out _)
            ? TgglApi.WriteErrorAsync(context, StatusCodes.Status404NotFound, "Unknown event stream.")
            : RunAsync(context, services, environmentId, null, ofrep: true, resumeFrom: null);
    }

    private static readonly ReadOnlyMemory<byte> Retry = "retry: 1000\n\n"u8.ToArray();

    private static async Task RunAsync(HttpContext context, IServiceProvider services, string environmentId, string? keyId, bool ofrep, long? resumeFrom)
    {
        var hub = services.GetRequiredService<StreamHub>();
        var snapshots = services.GetRequiredService<SnapshotCache>();

        // Subscribe before reading the snapshot: a change in between is queued, and skipped if the
        // first event already includes it.
        var subscriber = hub.Subscribe(environmentId, keyId, ofrep);

        // The stream ends when its subscriber is closed: by the hub (key revoked, queue overflow, server
        // stopping) or when the client goes. One registration for the whole stream, none per event.
        using var gone = context.RequestAborted.UnsafeRegister(static s => ((StreamSubscriber)s!).Close(), subscriber);
        try
        {
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache, no-transform";
            response.Headers["X-Accel-Buffering"] = "no";
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();

            if (!snapshots.TryGet(environmentId, out var snapshot))
            {
                return;
            }

            long version = snapshot.Version;
            var writer = response.BodyWriter;
            // The opening: how soon to reconnect, then the whole configuration (or, when resuming, what was
            // missed). An OFREP stream opens with a refetch: its client connects after its first bulk
            // fetch, and a change in between would otherwise go unseen (when nothing changed for it, the
            // re-fetch is answered 304).
            await writer.WriteAsync(Retry).ConfigureAwait(false);
            if (ofrep)
            {
                await writer.WriteAsync(StreamHub.RefetchEvent(version)).ConfigureAwait(false);
            }
            else
            {
                var missed = resumeFrom is { } from ? snapshot.ChangedSince(from) : null;
                if (missed is not { Count: 0 })
                {
                    await writer.WriteAsync(missed is null ? hub.ConfigEvent(snapshot) : StreamHub.PatchEvent(snapshot, missed)).ConfigureAwait(false);
                }
            }

            while (await subscriber.WaitAsync().ConfigureAwait(false))
            {
                while (subscriber.TryTake(out var e))
                {
                    if (e.ToVersion >= 0 && e.ToVersion <= version)
                    {
                        continue;
                    }

                    ReadOnlyMemory<byte> bytes = e.Bytes;
                    if (e.FromVersion >= 0 && e.FromVersion != version && snapshots.TryGet(environmentId, out var latest))
                    {
                        // A gap (the stream started between two changes): send what is current instead.
                        bytes = StreamHub.PatchEvent(latest, latest.ChangedSince(version) ?? latest.Flags.Keys.ToHashSet(StringComparer.Ordinal));
                        version = latest.Version;
                    }
                    else if (e.ToVersion >= 0)
                    {
                        version = e.ToVersion;
                    }

                    // One write and one flush: a single send per event.
                    if ((await writer.WriteAsync(bytes).ConfigureAwait(false)).IsCompleted)
                    {
                        return;
                    }

                    hub.Written(subscriber, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The write was aborted: the client left or the server is stopping.
        }
        catch (IOException)
        {
            // The connection broke.
        }
        finally
        {
            hub.Unsubscribe(subscriber);
        }
    }
}
