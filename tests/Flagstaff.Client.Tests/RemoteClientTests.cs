using Flagstaff.Evaluation;

namespace Flagstaff.Client.Tests;

/// <summary>Remote evaluation (<c>POST /flags</c>) against the real server, and its never-throw contract.</summary>
public sealed class RemoteClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Contexts_are_evaluated_by_the_server_in_batches_in_order()
    {
        var environment = await Environment.CreateAsync(fixture.Server);
        await environment.BooleanFlagAsync("beta", "u-3", "u-250");
        await environment.StringFlagAsync("theme", "dark");
        using var remote = new FlagstaffRemoteClient(new FlagstaffRemoteOptions { BaseUrl = fixture.Server.Address, ApiKey = environment.ServerKey, BatchSize = 100 });

        var contexts = Enumerable.Range(0, 260).Select(i => Contexts.User("u-" + i)).ToList();
        var results = await remote.EvaluateAsync(contexts);

        Assert.Equal(260, results.Count);
        Assert.All(results, r => Assert.True(r.IsSuccess));
        Assert.Equal([3, 250], results.Select((r, i) => (r, i)).Where(x => x.r.GetBoolean("beta", false)).Select(x => x.i));
        Assert.Equal("dark", results[7].GetString("theme", "light"));
        Assert.Equal(FlagReason.WrongType, results[7].Evaluate("theme").Value is null ? FlagReason.Error : results[7].GetBooleanDetail("theme", false).Reason);

        var one = await remote.EvaluateAsync(EvaluationContext.CreateBuilder().Set("userId", "u-3").Set("tags", ["a", "b"]).Set("age", 42).Set("vip", true).SetNull("none").Build());
        Assert.True(one.IsActive("beta"));
    }

    [Fact]
    public async Task A_failed_call_gives_defaults_and_never_throws()
    {
        using var down = new FlagstaffRemoteClient(new FlagstaffRemoteOptions { BaseUrl = new Uri("http://127.0.0.1:9/"), ApiKey = "fs_client_x", Timeout = TimeSpan.FromSeconds(2) });
        var result = await down.EvaluateAsync(Contexts.User("u"));
        Assert.False(result.IsSuccess);
        Assert.True(result.GetBoolean("beta", true));
        Assert.Equal(FlagReason.Error, result.GetBooleanDetail("beta", true).Reason);

        using var refused = new FlagstaffRemoteClient(new FlagstaffRemoteOptions { BaseUrl = fixture.Server.Address, ApiKey = "fs_client_unknown" });
        var unauthorized = await refused.EvaluateAsync(Contexts.User("u"));
        Assert.Contains("401", unauthorized.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("x", unauthorized.GetString("theme", "x"));
    }
}
