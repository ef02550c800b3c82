using Flagstaff.MigrationDemo;

// dotnet run --project samples/Flagstaff.MigrationDemo -- --flagstaff http://127.0.0.1:8080/ --token <access token> --postgres "<connection string>" [--short]
var arguments = args.Select((value, index) => (value, index)).ToDictionary(a => a.value, a => a.index);
string? Argument(string name) => arguments.TryGetValue(name, out int i) && i + 1 < args.Length ? args[i + 1] : null;
var flagstaff = Argument("--flagstaff");
var token = Argument("--token") ?? Environment.GetEnvironmentVariable("FLAGSTAFF_TOKEN");
var postgres = Argument("--postgres");
if (flagstaff is null || token is null || postgres is null)
{
    Console.Error.WriteLine("""
        Usage: Flagstaff.MigrationDemo --flagstaff <server address> --token <access token> --postgres <connection string> [--short]
          --flagstaff  a running Flagstaff server, for example http://127.0.0.1:8080/
          --token      an access token allowed to create projects (or FLAGSTAFF_TOKEN)
          --postgres   a PostgreSQL database for the new store; the demo makes a schema of its own in it
          --short      the test suite's form: tens of seconds instead of a few minutes
        """);
    return 2;
}

var options = new StoryOptions
{
    Flagstaff = new Uri(flagstaff.TrimEnd('/') + "/"),
    AccessToken = token,
    PostgresConnectionString = postgres,
    WorkFolder = Path.Combine(Path.GetTempPath(), "flagstaff-migration-demo"),
};
if (arguments.ContainsKey("--short"))
{
    options.Shorten();
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
var report = await MigrationStory.RunAsync(options, stop.Token);
return report.FailedRequests == 0 && report.WrongReads == 0 && report.LostRecords == 0 && report.Comparisons.All(c => c.Comparison.Identical) ? 0 : 1;
