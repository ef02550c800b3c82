using System.Text.Json.Serialization;
using Flagstaff.Client;
using Flagstaff.Client.AspNetCore;
using Flagstaff.Evaluation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// Exercises the AOT-compatible libraries for real: a configuration loaded and compiled, rules with
// regular expressions, semantic versions and a percentage, a typed value read through a
// source-generated JSON context, and options bound from configuration by AddFlagstaff().
const string Configuration = """
    [
      {"slug":"checkout","conditions":[
        {"rules":[{"key":"email","operator":"REGEXP","negate":false,"value":"@example\\.com$"}],"variation":{"active":true,"value":"new"}},
        {"rules":[{"key":"appVersion","operator":"SEMVER_GTE","negate":false,"version":[2,4,0]}],"variation":{"active":true,"value":"beta"}}
      ],"defaultVariation":{"active":true,"value":"old"}},
      {"slug":"half","conditions":[
        {"rules":[{"key":"userId","operator":"PERCENTAGE","negate":false,"rangeStart":0,"rangeEnd":0.5,"seed":42}],"variation":{"active":true,"value":true}}
      ],"defaultVariation":{"active":true,"value":false}},
      {"slug":"limits","conditions":[],"defaultVariation":{"active":true,"value":{"requests":120,"burst":20}}},
      {"slug":"off","conditions":[],"defaultVariation":{"active":false,"value":null}}
    ]
    """;

var employee = EvaluationContext.CreateBuilder().Set("email", "ana@example.com").Set("userId", "user-1").Build();
var tester = EvaluationContext.CreateBuilder().Set("email", "bo@elsewhere.org").Set("appVersion", "2.10.1").Set("userId", "user-2").Build();

var load = FlagConfiguration.Load(Configuration, LoadMode.Strict);
var flags = load.GetConfigurationOrThrow();
Console.WriteLine($"core: {flags.Count} flags");
Console.WriteLine($"core: checkout(employee) = {flags.Evaluate("checkout", employee).Value}");
Console.WriteLine($"core: checkout(tester) = {flags.Evaluate("checkout", tester).Value}");
Console.WriteLine($"core: checkout(nobody) = {flags.Evaluate("checkout", EvaluationContext.Empty).Value}");
Console.WriteLine($"core: off active = {flags.Evaluate("off", employee).IsActive}");
int inHalf = 0;
for (int i = 0; i < 1000; i++)
{
    var user = EvaluationContext.CreateBuilder().Set("userId", "user-" + i).Build();
    if (flags.Evaluate("half", user).Value?.AsBoolean() == true)
    {
        inHalf++;
    }
}

Console.WriteLine($"core: half of 1000 users = {inHalf}");

await using (var client = new FlagstaffClient(new FlagstaffClientOptions { Mode = SyncMode.Offline, BootstrapJson = Configuration, PersistConfiguration = false, ReportUsage = false, ReportMigrations = false }))
{
    Console.WriteLine($"client: ready = {await client.WaitUntilReadyAsync(TimeSpan.FromSeconds(5))}");
    Console.WriteLine($"client: checkout(tester) = {client.GetString("checkout", tester, "none")}");
    var limits = client.GetValue("limits", employee, new Limits(0, 0), SmokeJson.Default.Limits);
    Console.WriteLine($"client: limits = {limits.Requests}/{limits.Burst}");
    Console.WriteLine($"client: off = {client.GetString("off", employee, "default")}");
}

var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Flagstaff:Mode"] = "Offline",
    ["Flagstaff:BootstrapJson"] = Configuration,
    ["Flagstaff:PersistConfiguration"] = "false",
    ["Flagstaff:ReportUsage"] = "false",
    ["Flagstaff:ReportMigrations"] = "false",
}).Build();
var services = new ServiceCollection();
services.AddFlagstaff(settings.GetSection("Flagstaff"));
await using (var provider = services.BuildServiceProvider())
{
    var client = provider.GetRequiredService<IFlagstaffClient>();
    Console.WriteLine($"aspnetcore: checkout(employee) = {client.GetString("checkout", employee, "none")}");
    Console.WriteLine($"aspnetcore: half(user-1) = {client.GetBoolean("half", employee, defaultValue: false)}");
}

/// <summary>A typed flag value.</summary>
internal sealed record Limits(int Requests, int Burst);

/// <summary>Source-generated JSON for the typed value (no reflection under AOT).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Limits))]
internal sealed partial class SmokeJson : JsonSerializerContext;
