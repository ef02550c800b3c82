using Flagstaff.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddFlagstaffServer();

var app = builder.Build();
try
{
    await Startup.InitializeAsync(app.Services);
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    // A clear sentence, not a stack trace: most start-up failures are configuration mistakes.
    var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Flagstaff.Startup");
    Startup.LogStartFailed(logger, e.Message, e);
    return 1;
}

app.UseFlagstaffServer();
await app.RunAsync();
return 0;

/// <summary>The entry point, visible to tests that host the server in process.</summary>
public partial class Program;
