using Flagstaff.Testing;

namespace Flagstaff.Client.Tests;

/// <summary>A FlagHandle against the real server: resolved before the flag exists, it follows every change.</summary>
public sealed class FlagHandleTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerHost Server => fixture.Server;

    [Fact]
    public async Task A_handle_taken_once_follows_configuration_updates_as_GetBoolean_does()
    {
        var environment = await Environment.CreateAsync(Server);
        await environment.StringFlagAsync("label", "blue");
        await using var client = new FlagstaffClient(environment.Options());
        Assert.True(await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(20)));

        // Taken while the flag is not in the configuration yet.
        var handle = client.Flag("checkout");
        Assert.Equal("checkout", handle.Slug);
        Assert.Equal(FlagReason.FlagNotFound, handle.GetBooleanDetail(Contexts.User("u-1"), false).Reason);
        Assert.Equal("blue", client.Flag("label").GetString(Contexts.User("u-1"), "none"));

        await environment.BooleanFlagAsync("checkout", "u-1");
        await Wait.UntilAsync(() => handle.GetBoolean(Contexts.User("u-1"), false), "the handle to see the new flag");
        Assert.False(handle.GetBoolean(Contexts.User("u-2"), false));

        await environment.TargetAsync("checkout", Environment.OnFor("u-1", "u-2"));
        await Wait.UntilAsync(() => handle.GetBoolean(Contexts.User("u-2"), false), "the handle to see the change");
        foreach (var user in new[] { "u-1", "u-2", "u-3" })
        {
            Assert.Equal(client.GetBoolean("checkout", Contexts.User(user), false), handle.GetBoolean(Contexts.User(user), false));
            Assert.Equal(client.IsActive("checkout", Contexts.User(user)), handle.IsActive(Contexts.User(user)));
        }

        await environment.SwitchAsync("checkout", on: false);
        await Wait.UntilAsync(() => handle.GetBooleanDetail(Contexts.User("u-1"), false).Reason == FlagReason.FlagNotFound, "the handle to see the flag go");
    }
}
