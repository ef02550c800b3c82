namespace Flagstaff.Client.Tests;

/// <summary>The hot path allocates nothing once warm, with usage reporting on (speed itself is for BenchmarkDotNet).</summary>
public sealed class AllocationTests
{
    private const string Typical = """
        [{"slug":"typical","conditions":[
          {"rules":[{"key":"userId","operator":"STR_EQUAL","negate":false,"values":["u-1001","u-1002","u-1003","u-1004","u-1005"]}],"variation":{"active":true,"value":true}},
          {"rules":[{"key":"userId","operator":"PERCENTAGE","negate":false,"rangeStart":0,"rangeEnd":0.25,"seed":911}],"variation":{"active":true,"value":true}}],
         "defaultVariation":{"active":false,"value":null}},
         {"slug":"label","conditions":[],"defaultVariation":{"active":true,"value":"blue"}}]
        """;

    [Fact]
    public async Task A_warm_evaluation_with_usage_reporting_allocates_nothing()
    {
        // Nowhere to connect to: the bootstrap configuration is evaluated, and usage is counted.
        await using var client = new FlagstaffClient(new FlagstaffClientOptions
        {
            BaseUrl = new Uri("http://127.0.0.1:9/"),
            ServerKey = "fs_server_none",
            BootstrapJson = Typical,
            PersistConfiguration = false,
            MaxReconnectDelay = TimeSpan.FromMinutes(1),

            // A flush hands the thread a new set of counters, which is allocated once: none may
            // happen between the warm-up and the measured run.
            ReportInterval = TimeSpan.FromHours(1),
        });
        var contexts = new[] { "u-2000417", "u-1003", "u-77" }.Select(Contexts.User).ToArray();
        void Run()
        {
            for (int i = 0; i < 3_000; i++)
            {
                var context = contexts[i % 3];
                client.GetBoolean("typical", context, false);
                client.IsActive("typical", context);
                client.GetString("label", context, "none");
                client.GetBooleanDetail("typical", context, false);
            }
        }

        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Evaluating_after_dispose_still_answers_without_throwing()
    {
        var client = new FlagstaffClient(new FlagstaffClientOptions
        {
            BaseUrl = new Uri("http://127.0.0.1:9/"),
            ServerKey = "fs_server_none",
            BootstrapJson = Typical,
            PersistConfiguration = false,
        });
        await client.DisposeAsync();

        var answer = await Task.Run(() => client.GetString("label", Contexts.User("u"), "none"));
        Assert.Equal("blue", answer);
        Assert.Equal(ClientState.Disposed, client.State);
    }
}
