using Flagstaff.Dashboard;
using Flagstaff.Server.Endpoints;

namespace Flagstaff.Server.Hosting;

/// <summary>The request pipeline and the routes, in one place.</summary>
public static class Pipeline
{
    public static WebApplication UseFlagstaffServer(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        // After the exception handler, so that a failure while authenticating (the database is
        // unreachable) is a problem response too. Evaluation requests carry no session and no access
        // token, so authentication does no work for them.
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthApi();
        app.MapEvaluationApi();
        app.MapOfrepApi();
        app.MapStreamApi();
        app.MapAuthApi();
        app.MapMembersApi();
        app.MapProjectsApi();
        app.MapFlagsApi();
        app.MapUsageApi();
        app.MapMigrationsApi();
        app.MapSegmentsApi();
        app.MapAuditApi();
        app.MapFlagstaffDashboard();
        return app;
    }
}
