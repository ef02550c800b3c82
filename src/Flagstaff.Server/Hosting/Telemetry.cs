using System.Security.Cryptography;
using System.Text;
using Flagstaff.Management.Telemetry;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Flagstaff.Server.Hosting;

/// <summary>
/// Metrics and traces with OpenTelemetry: the server's own meter (<see cref="FlagstaffMetrics"/>),
/// ASP.NET Core, HTTP client and runtime instrumentation, a Prometheus scrape endpoint and OTLP export.
/// With neither configured, OpenTelemetry is not set up at all and nothing is collected.
/// </summary>
public static class Telemetry
{
    public const string MetricsPath = "/metrics";

    public static WebApplicationBuilder AddFlagstaffTelemetry(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryValidation>();
        services.AddSingleton<FlagstaffMetrics>();

        // Whether to collect at all is decided here, from configuration, because it decides which
        // services exist; the same settings are validated at start (a mistake stops the server).
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (!options.Enabled || options.Problems().Any())
        {
            return builder;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("flagstaff", serviceVersion: typeof(Telemetry).Assembly.GetName().Version?.ToString()));
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(FlagstaffMetrics.MeterName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation();

            // A measurement per request that says little here (every route matches or falls back to the dashboard).
            metrics.AddView("aspnetcore.routing.match_attempts", MetricStreamConfiguration.Drop);
            if (options.Prometheus.Enabled)
            {
                // No cached answer: a scrape shows everything up to it (only holders of the token or the port can scrape).
                metrics.AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
            }

            if (options.HasOtlp)
            {
                metrics.AddOtlpExporter(otlp => Otlp(otlp, options));
            }
        });
        if (options.HasOtlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !context.Request.Path.StartsWithSegments(MetricsPath, StringComparison.Ordinal))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(otlp => Otlp(otlp, options)));
        }

        if (options.Prometheus is { Enabled: true, Port: { } port })
        {
            // The metrics port is one more address of the same server; the endpoint answers only there.
            var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
            builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, (string.IsNullOrWhiteSpace(urls) ? "http://localhost:5000" : urls) + $";http://+:{port}");
        }

        return builder;
    }

    private static void Otlp(OtlpExporterOptions otlp, TelemetryOptions options)
    {
        otlp.Endpoint = new Uri(options.OtlpEndpoint!);
        otlp.Protocol = options.OtlpProtocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
    }

    /// <summary>Counts every request by API area and status, when metrics are collected (first in the pipeline, so the status is final).</summary>
    public static WebApplication UseFlagstaffRequestMetrics(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.Enabled)
        {
            var metrics = app.Services.GetRequiredService<FlagstaffMetrics>();
            app.Use(async (context, next) =>
            {
                try
                {
                    await next(context).ConfigureAwait(false);
                }
                finally
                {
                    metrics.RequestCompleted(AreaOf(context.Request.Path), context.Response.StatusCode);
                }
            });
        }

        return app;
    }

    /// <summary>Maps <c>GET /metrics</c> when the Prometheus endpoint is enabled: behind its token, on its own port, or both.</summary>
    public static WebApplication MapFlagstaffMetrics(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.Prometheus;
        if (!options.Enabled)
        {
            return app;
        }

        byte[]? expected = options.Token is { } token ? SHA256.HashData(Encoding.UTF8.GetBytes("Bearer " + token)) : null;
        var endpoint = app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (context, next) =>
        {
            // Hashes compared in constant time: neither the token nor its length leaks through timing.
            if (expected is not null && !CryptographicOperations.FixedTimeEquals(expected, SHA256.HashData(Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString()))))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await TypedResults.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Metrics token required",
                    detail: "Send the token configured in Flagstaff:Telemetry:Prometheus:Token as Authorization: Bearer <token>.",
                    instance: MetricsPath).ExecuteAsync(context).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        }), optionsName: null);
        endpoint.ShortCircuit().WithDisplayName("Prometheus metrics").WithMetadata(new Microsoft.AspNetCore.Routing.ExcludeFromDescriptionAttribute());
        if (options.Port is { } port)
        {
            endpoint.RequireHost($"*:{port}");
        }

        return app;
    }

    /// <summary>The API area of a request: a fixed, short name (a label value, so never anything a client chooses).</summary>
    internal static string AreaOf(PathString path)
    {
        if (path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase, out var rest))
        {
            return rest.StartsWithSegments("/auth", StringComparison.OrdinalIgnoreCase) || rest.StartsWithSegments("/setup", StringComparison.OrdinalIgnoreCase) || rest.StartsWithSegments("/me", StringComparison.OrdinalIgnoreCase)
                ? "auth" : "management";
        }

        return path.Value switch
        {
            "/flags" or "/config" or "/typing" => "evaluation",
            "/report" or "/migrations/report" => "report",
            "/stream" => "stream",
            MetricsPath => "metrics",
            _ when path.StartsWithSegments("/ofrep/v1/events", StringComparison.Ordinal) => "stream",
            _ when path.StartsWithSegments("/ofrep", StringComparison.Ordinal) => "ofrep",
            _ when path.StartsWithSegments("/health", StringComparison.Ordinal) => "health",
            _ when path.StartsWithSegments("/openapi", StringComparison.Ordinal) => "openapi",
            _ => "dashboard",
        };
    }

    private sealed class TelemetryValidation : IValidateOptions<TelemetryOptions>
    {
        public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
        {
            var problems = options.Problems().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
