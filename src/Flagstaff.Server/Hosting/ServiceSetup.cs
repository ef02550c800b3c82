using Flagstaff.Dashboard;
using Flagstaff.DataPlane;
using Flagstaff.DataPlane.Snapshots;
using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Services;
using Flagstaff.Management.Telemetry;
using Flagstaff.Management.Webhooks;
using Flagstaff.Server.EvaluationApi;
using Flagstaff.Server.Http;
using Flagstaff.Server.Reports;
using Flagstaff.Server.Streaming;
using Flagstaff.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.Hosting;

/// <summary>The server's services, registered the same way by the host and by tests.</summary>
public static class ServiceSetup
{
    public static WebApplicationBuilder AddFlagstaffServer(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<FlagstaffOptions>()
            .Bind(builder.Configuration.GetSection(FlagstaffOptions.Section))
            .PostConfigure(options => AddCompactProvisioning(options, builder.Configuration))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        builder.AddFlagstaffTelemetry();
        services.AddSingleton(provider => new Store(
            CreateDialect(provider.GetRequiredService<IOptions<FlagstaffOptions>>().Value, builder.Environment.ContentRootPath), provider.GetRequiredService<FlagstaffMetrics>()));
        services.AddSingleton<Secrets>();
        services.AddSingleton<ChangeRunner>();
        services.AddSingleton<ApiKeyRevocations>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<FlagService>();
        services.AddSingleton<ProjectService>();
        services.AddSingleton<SegmentService>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<ApiKeyService>();
        services.AddSingleton<AuditService>();
        services.AddSingleton<UsageService>();
        services.AddSingleton<MigrationService>();
        services.AddSingleton<ImportExportService>();
        services.AddSingleton<CodeReferenceService>();
        services.AddOptions<WebhookOptions>().Bind(builder.Configuration.GetSection(WebhookOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<WebhookOutbox>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<WebhookService>();
        services.AddHostedService<WebhookDispatcher>();

        // The data plane: every environment's snapshot, fed by the store.
        services.AddDataPlane().AddStoreChangeSource();
        services.AddOptions<SnapshotOptions>().Bind(builder.Configuration.GetSection(EvaluationOptions.Section));
        services.AddSingleton<IDataPlaneObserver>(p => p.GetRequiredService<FlagstaffMetrics>());

        // Evaluation: keys in memory, streams, usage.
        services.AddOptions<EvaluationOptions>().Bind(builder.Configuration.GetSection(EvaluationOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<StorageHealth>();
        services.AddHostedService(p => p.GetRequiredService<StorageHealth>());
        services.AddSingleton<ApiKeyDirectory>();
        services.AddSingleton<KeyRateLimiter>();
        services.AddSingleton<EvaluationGate>();
        services.AddSingleton<TypingCatalogue>();
        services.AddSingleton<StreamHub>();
        services.AddSingleton<OfrepChannels>();
        services.AddSingleton<UsageAggregator>();
        services.AddSingleton<MigrationAggregator>();
        services.AddHostedService(p => p.GetRequiredService<ApiKeyDirectory>());
        services.AddHostedService(p => p.GetRequiredService<StreamHub>());
        services.AddHostedService(p => p.GetRequiredService<UsageAggregator>());
        services.AddHostedService(p => p.GetRequiredService<MigrationAggregator>());
        services.AddHostedService<MigrationGuard>();
        services.AddHostedService<EvaluationWarmup>();

        services.AddFlagstaffAuthentication(builder.Configuration);
        services.AddFlagstaffDashboard();
        services.AddOptions<ServerKeyOptions>().BindConfiguration(ServerKeyOptions.Section).Configure<IOptions<FlagstaffOptions>>((key, flagstaff) =>
            key.KeyFile ??= Path.Combine(DataDirectory(flagstaff.Value, builder.Environment.ContentRootPath), "flagstaff.key"));
        services.AddSingleton<ServerKey>();
        services.AddSingleton<DataProtectionKeys>();
        services.AddDataProtection().SetApplicationName("Flagstaff");
        services.AddOptions<KeyManagementOptions>().Configure<DataProtectionKeys>((options, keys) => options.XmlRepository = keys);

        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJson.Default);
            options.SerializerOptions.TypeInfoResolverChain.Insert(1, DomainJson.Default);
            options.SerializerOptions.TypeInfoResolverChain.Insert(2, WebhookJson.Default);
            options.SerializerOptions.TypeInfoResolverChain.Insert(3, CodeReferenceJson.Default);
            options.SerializerOptions.TypeInfoResolverChain.Insert(4, EvaluationErrorJson.Default);
        });
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            // Problems raised by the framework itself (authentication, routing) get a readable detail too.
            var problem = context.ProblemDetails;
            problem.Detail ??= problem.Status switch
            {
                StatusCodes.Status401Unauthorized => "Sign in, or send a personal access token as Authorization: Bearer fs_pat_...",
                StatusCodes.Status403Forbidden => "Your role does not allow this.",
                StatusCodes.Status404NotFound => "There is nothing at this address.",
                StatusCodes.Status405MethodNotAllowed => $"{context.HttpContext.Request.Method} is not allowed here.",
                StatusCodes.Status415UnsupportedMediaType => "The body must be JSON (Content-Type: application/json).",
                _ => null,
            };
        });
        services.AddExceptionHandler<Problems>();
        services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Flagstaff management API";
            document.Info.Description = "Projects, environments, flags and their targeting, segments, context properties, API keys, members, history and import/export. "
                + "Authenticate with the dashboard's session cookie or a personal access token (Authorization: Bearer fs_pat_...). "
                + "A change made with the session cookie (and signing in) must carry the header X-Flagstaff-Request: 1 and come from no other origin; tokens need no such header. "
                + "Updates take the resource's ETag in If-Match; a stale one is refused with 409 and the current state.";
            return Task.CompletedTask;
        }));
        return builder;
    }

    private static SqlDialect CreateDialect(FlagstaffOptions options, string contentRoot)
    {
        var storage = options.Storage;
        var timeout = TimeSpan.FromSeconds(storage.CommandTimeoutSeconds);
        if (!string.IsNullOrWhiteSpace(storage.PostgresConnectionString))
        {
            return new PostgresDialect(storage.PostgresConnectionString, timeout);
        }

        return new SqliteDialect(storage.SqlitePath ?? Path.Combine(DataDirectory(options, contentRoot), "flagstaff.db"), timeout, storage.SqliteMaxSizeMegabytes << 20);
    }

    private static string DataDirectory(FlagstaffOptions options, string contentRoot) =>
        Path.IsPathRooted(options.DataDirectory) ? options.DataDirectory : Path.Combine(contentRoot, options.DataDirectory);

    // FLAGSTAFF_INIT_SERVER_API_KEYS=project:environment:secret,... (and _CLIENT_), FLAGSTAFF_INIT_ADMIN_TOKEN=secret:
    // the compact form of the Provisioning section, for containers and CI.
    private static void AddCompactProvisioning(FlagstaffOptions options, ConfigurationManager configuration)
    {
        foreach (var (variable, kind) in new[] { ("FLAGSTAFF_INIT_SERVER_API_KEYS", ApiKeyKind.Server), ("FLAGSTAFF_INIT_CLIENT_API_KEYS", ApiKeyKind.Client) })
        {
            foreach (var item in (configuration[variable] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = item.Split(':', 3);
                if (parts.Length != 3)
                {
                    throw new OptionsValidationException(variable, typeof(FlagstaffOptions), [$"{variable}: \"{parts[0]}:...\" must be project:environment:secret"]);
                }

                options.Provisioning.ApiKeys.Add(new ProvisionedApiKey { Project = parts[0], Environment = parts[1], Secret = parts[2], Kind = kind, Name = "provisioned " + kind.ToString().ToLowerInvariant() });
            }
        }

        options.Provisioning.AdminToken ??= configuration["FLAGSTAFF_INIT_ADMIN_TOKEN"];
    }
}
