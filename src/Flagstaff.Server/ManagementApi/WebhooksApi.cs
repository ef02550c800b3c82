using Flagstaff.Domain;
using Flagstaff.Management.Security;
using Flagstaff.Management.Webhooks;
using Flagstaff.Server.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flagstaff.Server.ManagementApi;

/// <summary>
/// A project's webhooks and their delivery logs. Admins only, reading included: a webhook URL is often
/// itself a credential (a Slack incoming-webhook URL is enough to post to the channel).
/// </summary>
public static class WebhooksApi
{
    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var webhooks = app.MapGroup("/api/projects/{project}/webhooks").WithTags("Webhooks").RequireRole(Role.Admin)
            .ProducesSignedInProblems().ProducesProblems(StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
        webhooks.MapGet("/", List).WithName("ListWebhooks").WithSummary("Lists a project's webhooks (never their secrets).");
        webhooks.MapPost("/", Create).Accepts<CreateWebhookRequest>("application/json").WithName("CreateWebhook").ProducesChangeProblems().ProducesBodyProblems()
            .WithSummary("Creates a webhook: url (http or https, a public address unless Flagstaff:Webhooks:AllowedNetworks allows it), events, environment (absent: every one), format (json or slack). Its signing secret is in this response only.");
        webhooks.MapGet("/{id}", Get).WithName("GetWebhook").WithSummary("Reads a webhook.");
        webhooks.MapPatch("/{id}", Update).Accepts<UpdateWebhookRequest>("application/json").WithName("UpdateWebhook").ProducesChangeProblems().ProducesBodyProblems().ProducesVersionProblems()
            .WithSummary("Changes a webhook's name, url, events, environment (\"\" for every one), format or enabled. Needs If-Match.");
        webhooks.MapDelete("/{id}", Delete).WithName("DeleteWebhook").ProducesChangeProblems().ProducesVersionProblems().WithSummary("Deletes a webhook and its delivery log; deliveries not yet sent are dropped. Needs If-Match.");
        webhooks.MapPost("/{id}/secret", NewSecret).WithName("ReplaceWebhookSecret").ProducesChangeProblems().ProducesVersionProblems().WithSummary("Replaces the signing secret; the new one is in this response only. Needs If-Match.");
        webhooks.MapGet("/{id}/deliveries", Deliveries).WithName("ListWebhookDeliveries").ProducesProblems(StatusCodes.Status400BadRequest)
            .WithSummary("The delivery log, newest first: state, attempts, times, last status and error, and the request body as sent. ?limit= (at most 100), ?before= (a delivery id, for the next page).");
        webhooks.MapPost("/{id}/deliveries/{delivery}/redeliver", Redeliver).WithName("RedeliverWebhook").ProducesChangeProblems()
            .WithSummary("Sends a delivery again (same event id and body), after the webhook's other pending deliveries.");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<WebhookView>>> List(string project, WebhookService webhooks, CancellationToken cancellationToken) =>
        TypedResults.Ok(await webhooks.ListAsync(project, cancellationToken));

    private static async Task<Created<CreatedWebhook>> Create(string project, HttpContext context, WebhookService webhooks, CancellationToken cancellationToken)
    {
        var created = await webhooks.CreateAsync(project, await RequestBody.ReadAsync(context, WebhookJson.Default.CreateWebhookRequest), context.ToActor(), cancellationToken);
        Versions.SetETag(context, created.Webhook.Version);
        return TypedResults.Created($"/api/projects/{project}/webhooks/{created.Webhook.Id}", created);
    }

    private static async Task<Ok<WebhookView>> Get(string project, string id, HttpContext context, WebhookService webhooks, CancellationToken cancellationToken) =>
        WithETag(context, await webhooks.GetAsync(project, id, cancellationToken));

    private static async Task<Ok<WebhookView>> Update(string project, string id, HttpContext context, WebhookService webhooks, CancellationToken cancellationToken)
    {
        long expected = Versions.Expected(context);
        var request = await RequestBody.ReadAsync(context, WebhookJson.Default.UpdateWebhookRequest);
        return WithETag(context, await webhooks.UpdateAsync(project, id, request, expected, context.ToActor(), cancellationToken));
    }

    private static async Task<NoContent> Delete(string project, string id, HttpContext context, WebhookService webhooks, CancellationToken cancellationToken)
    {
        await webhooks.DeleteAsync(project, id, Versions.Expected(context), context.ToActor(), cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<CreatedWebhook>> NewSecret(string project, string id, HttpContext context, WebhookService webhooks, CancellationToken cancellationToken)
    {
        var created = await webhooks.NewSecretAsync(project, id, Versions.Expected(context), context.ToActor(), cancellationToken);
        Versions.SetETag(context, created.Webhook.Version);
        return TypedResults.Ok(created);
    }

    private static async Task<Ok<WebhookDeliveryPage>> Deliveries(string project, string id, int? limit, long? before, WebhookService webhooks, CancellationToken cancellationToken) =>
        TypedResults.Ok(await webhooks.DeliveriesAsync(project, id, limit ?? 50, before, cancellationToken));

    private static async Task<Accepted<WebhookDelivery>> Redeliver(string project, string id, long delivery, HttpContext context, WebhookService webhooks, CancellationToken cancellationToken)
    {
        var queued = await webhooks.RedeliverAsync(project, id, delivery, context.ToActor(), cancellationToken);
        return TypedResults.Accepted($"/api/projects/{project}/webhooks/{id}/deliveries", queued);
    }

    private static Ok<WebhookView> WithETag(HttpContext context, WebhookView webhook)
    {
        Versions.SetETag(context, webhook.Version);
        return TypedResults.Ok(webhook);
    }
}
