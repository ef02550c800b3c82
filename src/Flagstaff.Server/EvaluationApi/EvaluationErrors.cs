using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>
/// The error a Tggl-compatible route (and the stream and report routes) answers: <c>{"error": "..."}</c>,
/// as Tggl's clients expect, not a problem. Written by <see cref="TgglApi.WriteErrorAsync"/>; this type
/// describes it in the OpenAPI document.
/// </summary>
/// <param name="Error">What was wrong, in plain words.</param>
public sealed record TgglError(string Error);

/// <summary>
/// The error an OFREP route answers, in OFREP's shape: the flag's key (single-flag evaluation), an error
/// code for 400 and 404 (PARSE_ERROR, INVALID_CONTEXT, FLAG_NOT_FOUND, GENERAL), and the details.
/// Written by <see cref="OfrepApi"/>; this type describes it in the OpenAPI document.
/// </summary>
/// <param name="Key">The flag evaluated, for single-flag evaluation.</param>
/// <param name="ErrorCode">OFREP's error code, for 400 and 404.</param>
/// <param name="ErrorDetails">What was wrong, in plain words.</param>
public sealed record OfrepError(string? Key, string? ErrorCode, string ErrorDetails);

/// <summary>The source-generated JSON contract of the evaluation routes' error shapes.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TgglError))]
[JsonSerializable(typeof(OfrepError))]
public sealed partial class EvaluationErrorJson : JsonSerializerContext;

/// <summary>OpenAPI declarations of the errors the evaluation routes answer, in each route family's shape.</summary>
public static class EvaluationErrorMetadata
{
    /// <summary>Declares <see cref="TgglError"/> responses (application/json) for the given statuses.</summary>
    public static TBuilder ProducesTgglErrors<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder =>
        builder.Produces(typeof(TgglError), statuses);

    /// <summary>Declares <see cref="OfrepError"/> responses (application/json) for the given statuses.</summary>
    public static TBuilder ProducesOfrepErrors<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder =>
        builder.Produces(typeof(OfrepError), statuses);

    /// <summary>
    /// Puts a route run by a plain <see cref="RequestDelegate"/> (the hot paths, which bind nothing) into the
    /// OpenAPI document: the document describes only routes whose handler method is in their metadata, which
    /// a RequestDelegate route does not carry. Metadata only: the route still runs the delegate itself.
    /// </summary>
    public static TBuilder Described<TBuilder>(this TBuilder builder, RequestDelegate handler) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(handler.Method);

    private static TBuilder Produces<TBuilder>(this TBuilder builder, Type type, int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (int status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, type, ["application/json"]));
        }

        return builder;
    }
}
