using Flagstaff.Dashboard;
using Flagstaff.Management.Security;
using Flagstaff.Server.EvaluationApi;
using Flagstaff.Server.ManagementApi;
using Flagstaff.Server.Reports;
using Flagstaff.Server.Streaming;

namespace Flagstaff.Server.Hosting;

/// <summary>The request pipeline and the routes, in one place.</summary>
public static class Pipeline
{
    public static WebApplication UseFlagstaffServer(this WebApplication app)
    {
        app.UseFlagstaffRequestMetrics();
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        // Routing after the exception handler: the evaluation, streaming and health endpoints are
        // short-circuited (run by the routing middleware itself), so they skip authentication and
        // authorisation, which they do not use (API keys are checked by the endpoints), but are still
        // covered by the exception handler. Authentication comes after the exception handler too, so
        // that a failure while authenticating (the database is unreachable) is a problem response.
        app.UseRouting();
        app.UseAuthentication();
        app.UseFlagstaffRequestForgeryProtection();
        app.UseAuthorization();

        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthApi();
        app.MapFlagstaffMetrics();
        app.MapTgglApi();
        app.MapOfrepApi();
        app.MapReportApi();
        app.MapStreamApi();
        app.MapAuthApi();
        app.MapMembersApi();
        app.MapProjectsApi();
        app.MapFlagsApi();
        app.MapUsageApi();
        app.MapMigrationsApi();
        app.MapSegmentsApi();
        app.MapAuditApi();
        app.MapWebhooksApi();
        app.MapCodeReferencesApi();
        app.MapFlagstaffDashboard();
        return app;
    }
}
