using Flagstaff.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddFlagstaffServer();

var app = builder.Build();
await Startup.InitializeAsync(app.Services);
app.UseFlagstaffServer();
await app.RunAsync();

/// <summary>The entry point, visible to tests that host the server in process.</summary>
public partial class Program;
