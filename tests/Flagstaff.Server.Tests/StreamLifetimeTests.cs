using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Flagstaff.Testing;

namespace Flagstaff.Server.Tests;

/// <summary>What keeps a stream open and what closes it, on a server of its own (SQLite).</summary>
public sealed class StreamLifetimeTests
{
    private static async Task<SseReader> OpenStreamAsync(ServerHost server)
    {
        using var admin = server.Admin();
        await (await admin.PostJsonAsync("api/projects", new JsonObject { ["key"] = "shop", ["name"] = "Shop" })).ReadJsonAsync(HttpStatusCode.Created);
        var key = (await (await admin.PostJsonAsync("api/projects/shop/environments/production/keys", new JsonObject { ["name"] = "backend", ["kind"] = "server" }))
            .ReadJsonAsync(HttpStatusCode.Created))["secret"]!.GetValue<string>();
        var client = server.Anonymous();
        client.DefaultRequestHeaders.Add("X-Tggl-Api-Key", key);
        var stream = await SseReader.ConnectAsync(client, "stream");
        Assert.Equal("config", (await stream.NextAsync()).Event);
        return stream;
    }

    [Fact]
    public async Task An_idle_stream_gets_heartbeats()
    {
        await using var server = await ServerHost.StartAsync(DatabaseKind.Sqlite, settings: new Dictionary<string, string?> { ["Flagstaff:Evaluation:HeartbeatSeconds"] = "0.2" });
        await using var stream = await OpenStreamAsync(server);

        var waited = Stopwatch.StartNew();
        while (stream.Heartbeats < 3)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), $"{stream.Heartbeats} heartbeats in {waited.Elapsed}.");
            await Task.Delay(50);
        }

        // Heartbeats are comments: no event reaches the client.
        Assert.False(stream.TryNext(out _));
    }

    [Fact]
    public async Task Stopping_a_node_closes_its_open_streams_at_once_rather_than_waiting_for_them()
    {
        var server = await ServerHost.StartAsync(DatabaseKind.Sqlite);
        SseReader stream;
        try
        {
            stream = await OpenStreamAsync(server);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        // Without closing its streams, the host would wait its whole shutdown timeout (30 s) for them.
        await using (stream)
        {
            var stopping = Stopwatch.StartNew();
            await server.DisposeAsync();
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), $"Stopping took {stopping.Elapsed}.");
            await stream.Completion.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }
}
