using System.Diagnostics.Metrics;
using Flagstaff.Evaluation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flagstaff.Client.AspNetCore;

/// <summary>Adds the Flagstaff SDK to an application.</summary>
public static class FlagstaffServiceCollectionExtensions
{
    /// <summary>The configuration section read by default.</summary>
    public const string SectionName = "Flagstaff";

    /// <summary>
    /// Adds a <see cref="FlagstaffClient"/> (singleton, also as <see cref="IFlagstaffClient"/>) with its
    /// options bound from the <c>Flagstaff</c> configuration section and checked at start-up, the
    /// request-scoped <see cref="RequestFlags"/>, and a start-up wait for the first configuration.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Changes applied after binding (optional).</param>
    public static FlagstaffBuilder AddFlagstaff(this IServiceCollection services, Action<FlagstaffClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<FlagstaffClientOptions>().BindConfiguration(SectionName);
        return AddCore(services, options, configure);
    }

    /// <summary>Like <see cref="AddFlagstaff(IServiceCollection, Action{FlagstaffClientOptions}?)"/>, binding the options from <paramref name="section"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="section">Where the options are.</param>
    /// <param name="configure">Changes applied after binding (optional).</param>
    public static FlagstaffBuilder AddFlagstaff(this IServiceCollection services, IConfiguration section, Action<FlagstaffClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var options = services.AddOptions<FlagstaffClientOptions>().Bind(section);
        return AddCore(services, options, configure);
    }

    private static FlagstaffBuilder AddCore(IServiceCollection services, OptionsBuilder<FlagstaffClientOptions> options, Action<FlagstaffClientOptions>? configure)
    {
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FlagstaffClientOptions>, FlagstaffOptionsValidator>());
        services.AddOptions<FlagstaffStartupOptions>();
        services.AddOptions<FlagstaffRequestContextOptions>();
        services.TryAddSingleton(provider => new FlagstaffClient(
            provider.GetRequiredService<IOptions<FlagstaffClientOptions>>().Value,
            provider.GetService<ILoggerFactory>(),
            httpClient: null,
            provider.GetService<IMeterFactory>()));
        services.TryAddSingleton<IFlagstaffClient>(provider => provider.GetRequiredService<FlagstaffClient>());
        services.AddHttpContextAccessor();
        services.TryAddScoped<RequestFlags>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, FlagstaffStartup>());
        return new FlagstaffBuilder(services);
    }
}

/// <summary>Configures the Flagstaff SDK further (returned by <c>AddFlagstaff</c>).</summary>
public sealed class FlagstaffBuilder
{
    internal FlagstaffBuilder(IServiceCollection services) => Services = services;

    /// <summary>The services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Adds properties of the request to every request's evaluation context.</summary>
    /// <param name="enrich">Sets properties from the request, for example <c>(http, context) =&gt; context.Set("plan", http.User.FindFirst("plan")?.Value)</c>.</param>
    public FlagstaffBuilder EnrichContext(Action<HttpContext, EvaluationContext.Builder> enrich)
    {
        ArgumentNullException.ThrowIfNull(enrich);
        Services.Configure<FlagstaffRequestContextOptions>(options => options.Enrichers.Add(enrich));
        return this;
    }

    /// <summary>Changes how the request's context is built (claims, property names).</summary>
    /// <param name="configure">The change.</param>
    public FlagstaffBuilder ConfigureContext(Action<FlagstaffRequestContextOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }

    /// <summary>
    /// How long application start-up waits for the first configuration (default 5 s; zero not to wait).
    /// The application starts anyway when it passes: evaluations use a persisted configuration or the
    /// callers' defaults until the configuration arrives.
    /// </summary>
    /// <param name="timeout">The longest wait.</param>
    public FlagstaffBuilder WaitForReadyOnStart(TimeSpan timeout)
    {
        Services.Configure<FlagstaffStartupOptions>(options => options.WaitForReady = timeout);
        return this;
    }
}

/// <summary>What the application does with the client at start-up.</summary>
public sealed class FlagstaffStartupOptions
{
    /// <summary>How long start-up waits for the first configuration. Default 5 s.</summary>
    public TimeSpan WaitForReady { get; set; } = TimeSpan.FromSeconds(5);
}

internal sealed class FlagstaffOptionsValidator : IValidateOptions<FlagstaffClientOptions>
{
    public ValidateOptionsResult Validate(string? name, FlagstaffClientOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "Flagstaff: " + e));
    }
}

/// <summary>Creates the client when the application starts (so it connects at once) and waits a little for its first configuration.</summary>
internal sealed partial class FlagstaffStartup(FlagstaffClient client, IOptions<FlagstaffStartupOptions> options, ILogger<FlagstaffStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var wait = options.Value.WaitForReady;
        if (wait > TimeSpan.Zero && !await client.WaitUntilReadyAsync(wait, cancellationToken).ConfigureAwait(false))
        {
            LogNotReady(logger, wait, client.State);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 6050, Level = LogLevel.Warning, Message = "Flagstaff was not ready within {Wait} ({State}); the application starts anyway and evaluations use the callers' defaults (or the persisted configuration) until the configuration arrives")]
    private static partial void LogNotReady(ILogger logger, TimeSpan wait, ClientState state);
}
