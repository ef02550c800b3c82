using Flagstaff.Client.AspNetCore;
using Flagstaff.Evaluation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.FeatureManagement;
using Microsoft.FeatureManagement.FeatureFilters;

namespace Flagstaff.Client.FeatureManagement;

/// <summary>Plugs Flagstaff into Microsoft.FeatureManagement.</summary>
public static class FlagstaffFeatureManagementExtensions
{
    /// <summary>
    /// Makes every feature of <c>IFeatureManager</c>, <c>IFeatureManagerSnapshot</c>, <c>[FeatureGate]</c>
    /// and the <c>&lt;feature&gt;</c> tag helper a Flagstaff flag of the same name: a feature is enabled
    /// when its flag is active with a value other than <c>false</c>, for the current request's context
    /// (or the context passed to <c>IsEnabledAsync</c>: an <see cref="EvaluationContext"/> or a targeting
    /// context). Call after <c>services.AddFlagstaff()</c>.
    /// </summary>
    /// <param name="builder">What <c>AddFeatureManagement()</c> returned.</param>
    public static IFeatureManagementBuilder AddFlagstaff(this IFeatureManagementBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHttpContextAccessor();
        builder.Services.Replace(ServiceDescriptor.Singleton<IFeatureDefinitionProvider, FlagstaffFeatureDefinitionProvider>());
        builder.AddFeatureFilter<FlagstaffFeatureFilter>();
        builder.AddFeatureFilter<FlagstaffContextFeatureFilter>();
        builder.AddFeatureFilter<FlagstaffTargetingFeatureFilter>();
        return builder;
    }
}

/// <summary>
/// Defines each feature as its Flagstaff flag: one filter, <see cref="FlagstaffFeatureFilter"/>, decides.
/// Every name is defined (an unknown or switched-off flag is simply off), and the list of features is
/// the flags of the current configuration.
/// </summary>
public sealed class FlagstaffFeatureDefinitionProvider(IFlagstaffClient client) : IFeatureDefinitionProvider
{
    /// <inheritdoc />
    public Task<FeatureDefinition> GetFeatureDefinitionAsync(string featureName) => Task.FromResult(Define(featureName));

    /// <inheritdoc />
    public async IAsyncEnumerable<FeatureDefinition> GetAllFeatureDefinitionsAsync()
    {
        foreach (var slug in client.GetSnapshot().FlagSlugs)
        {
            yield return Define(slug);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static FeatureDefinition Define(string name) => new()
    {
        Name = name,
        Status = FeatureStatus.Conditional,
        RequirementType = RequirementType.Any,
        EnabledFor = [new FeatureFilterConfiguration { Name = FlagstaffFeatureFilter.Alias }],
    };
}

/// <summary>
/// The feature filter that asks Flagstaff, for the current request (its frozen configuration and its
/// context, <see cref="RequestFlags"/>), or outside a request for an empty context. Microsoft.FeatureManagement
/// lets a filter class implement one filter interface only, so contexts passed to <c>IsEnabledAsync</c>
/// (an <see cref="EvaluationContext"/>, or a targeting context) go to two companion filters of the same name.
/// </summary>
[FilterAlias(Alias)]
public sealed class FlagstaffFeatureFilter(IFlagstaffClient client, IHttpContextAccessor accessor) : IFeatureFilter
{
    /// <summary>The filter's name in feature definitions.</summary>
    public const string Alias = "Flagstaff";

    /// <inheritdoc />
    public Task<bool> EvaluateAsync(FeatureFilterEvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var flags = accessor.HttpContext?.RequestServices.GetService<RequestFlags>();
        bool enabled = flags is not null
            ? flags.IsEnabled(context.FeatureName)
            : FlagstaffFilters.IsOn(client.GetSnapshot().Evaluate(context.FeatureName, EvaluationContext.Empty));
        return Task.FromResult(enabled);
    }
}

/// <summary>For <c>IsEnabledAsync(feature, evaluationContext)</c>.</summary>
[FilterAlias(FlagstaffFeatureFilter.Alias)]
internal sealed class FlagstaffContextFeatureFilter(IFlagstaffClient client, IHttpContextAccessor accessor) : IContextualFeatureFilter<EvaluationContext>
{
    public Task<bool> EvaluateAsync(FeatureFilterEvaluationContext featureFilterContext, EvaluationContext appContext) =>
        Task.FromResult(FlagstaffFilters.IsOn(FlagstaffFilters.Snapshot(client, accessor).Evaluate(featureFilterContext.FeatureName, appContext ?? EvaluationContext.Empty)));
}

/// <summary>For <c>IsEnabledAsync(feature, targetingContext)</c>: the user id becomes <c>userId</c>, the groups <c>groups</c>.</summary>
[FilterAlias(FlagstaffFeatureFilter.Alias)]
internal sealed class FlagstaffTargetingFeatureFilter(IFlagstaffClient client, IHttpContextAccessor accessor) : IContextualFeatureFilter<ITargetingContext>
{
    public Task<bool> EvaluateAsync(FeatureFilterEvaluationContext featureFilterContext, ITargetingContext appContext)
    {
        var builder = EvaluationContext.CreateBuilder();
        if (appContext?.UserId is { } userId)
        {
            builder.Set("userId", userId);
        }

        if (appContext?.Groups is { } groups)
        {
            builder.Set("groups", groups);
        }

        return Task.FromResult(FlagstaffFilters.IsOn(FlagstaffFilters.Snapshot(client, accessor).Evaluate(featureFilterContext.FeatureName, builder.Build())));
    }
}

internal static class FlagstaffFilters
{
    // Within a request, the request's frozen configuration; elsewhere the current one.
    public static FlagSnapshot Snapshot(IFlagstaffClient client, IHttpContextAccessor accessor) =>
        accessor.HttpContext?.RequestServices.GetService<RequestFlags>()?.Snapshot ?? client.GetSnapshot();

    public static bool IsOn(EvaluationDetail<FlagValue?> detail) =>
        detail.Value is { } value && value.Kind != System.Text.Json.JsonValueKind.False;
}
