using System.Text.Json;
using Flagstaff.Domain;

namespace Flagstaff.DataPlane.Tests;

/// <summary>Small builders for the domain model, so that each golden case reads as what it configures.</summary>
internal static class Domain
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 30, 0, TimeSpan.Zero);

    public static Project Project(string stickiness = "userId") =>
        new() { Id = "prj_1", Key = "shop", Name = "Shop", StickinessProperty = stickiness };

    public static Flag Flag(string key, uint seed, params Variation[] variations) => new()
    {
        Id = "flg_" + key,
        ProjectId = "prj_1",
        Key = key,
        Name = key,
        ValueType = variations.Length > 0 ? TypeOf(variations[0]) : FlagValueType.Boolean,
        Variations = variations,
        Seed = seed,
    };

    /// <summary>A boolean flag with variations <c>on</c> (true) and <c>off</c> (false).</summary>
    public static Flag Toggle(string key, uint seed) => Flag(key, seed, Value("on", true), Value("off", false));

    public static Variation Value(string key, object? value) => new() { Key = key, Value = JsonSerializer.SerializeToElement(value) };

    public static Variation Json(string key, string json) => new() { Key = key, Value = JsonDocument.Parse(json).RootElement.Clone() };

    public static Variation Fallback(string key) => new() { Key = key, Fallback = true };

    public static Targeting Targeting(Flag flag, Serve defaultServe, params TargetingRule[] rules) =>
        new() { FlagId = flag.Id, EnvironmentId = "env_prod", Enabled = true, DefaultServe = defaultServe, Rules = rules };

    public static TargetingRule Rule(Serve serve, params Clause[] clauses) => new() { Serve = serve, Clauses = clauses };

    public static Serve Serve(string variation) => Flagstaff.Domain.Serve.Of(variation);

    public static Serve Split(string? property, params (string Variation, double Weight)[] buckets) => new()
    {
        Split = new Split { Property = property, Buckets = [.. buckets.Select(b => new SplitBucket { Variation = b.Variation, Weight = b.Weight })] },
    };

    public static Clause Values(string property, string op, params string[] values) => new() { Property = property, Operator = op, Values = values };

    public static Clause Text(string property, string op, string value) => new() { Property = property, Operator = op, Value = JsonSerializer.SerializeToElement(value) };

    public static Clause Number(string property, string op, double value) => new() { Property = property, Operator = op, Value = JsonSerializer.SerializeToElement(value) };

    public static Clause Date(string property, string op, DateTimeOffset at) => new() { Property = property, Operator = op, Date = at };

    public static Clause Version(string property, string op, string version) => new() { Property = property, Operator = op, Version = version };

    public static Clause Percent(string property, double from, double to) => new() { Property = property, Operator = Evaluation.Operators.Percentage, From = from, To = to };

    public static Clause Is(string property, string op) => new() { Property = property, Operator = op };

    public static Clause InSegment(string segment) => new() { Segment = segment };

    public static Clause Not(this Clause clause) => clause with { Negate = true };

    public static Segment Segment(string key, string? idProperty, string[] ids, params Clause[] clauses) =>
        new() { Id = "seg_" + key, ProjectId = "prj_1", Key = key, Name = key, IdProperty = idProperty, Ids = ids, Clauses = clauses };

    private static FlagValueType TypeOf(Variation variation) => variation.Value?.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => FlagValueType.Boolean,
        JsonValueKind.Number => FlagValueType.Number,
        JsonValueKind.String => FlagValueType.String,
        _ => FlagValueType.Json,
    };
}
