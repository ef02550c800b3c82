using System.Globalization;
using System.Text.Json;
using Flagstaff.Evaluation;

namespace Flagstaff.Client.Internal;

/// <summary>Usage waiting to be sent, merged across collections until a report gets through (bounded).</summary>
internal sealed class UsageBatch
{
    private const int MaxCounts = 10_000;
    private const int MaxProperties = 500;
    private const int MaxValuesPerProperty = 200;

    private readonly Dictionary<(string Slug, string? Value, string? Default), long> _counts = [];
    private readonly Dictionary<string, (long First, long Last)> _properties = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, string?>> _values = new(StringComparer.Ordinal);

    public bool IsEmpty => _counts.Count == 0 && _properties.Count == 0 && _values.Count == 0;

    public long TotalCount => _counts.Values.Sum();

    public void AddCount(string slug, string? valueJson, string? defaultJson, long count)
    {
        var key = (slug, valueJson, defaultJson);
        if (_counts.TryGetValue(key, out long existing))
        {
            _counts[key] = existing + count;
        }
        else if (_counts.Count < MaxCounts)
        {
            _counts[key] = count;
        }
    }

    public void AddContexts(Dictionary<string, (long First, long Last)> properties, Dictionary<string, Dictionary<string, string?>> values)
    {
        foreach (var (key, seen) in properties)
        {
            if (_properties.TryGetValue(key, out var known))
            {
                _properties[key] = (Math.Min(known.First, seen.First), Math.Max(known.Last, seen.Last));
            }
            else if (_properties.Count < MaxProperties)
            {
                _properties[key] = seen;
            }
        }

        foreach (var (key, list) in values)
        {
            if (!_values.TryGetValue(key, out var known))
            {
                if (_values.Count >= MaxProperties)
                {
                    continue;
                }

                _values[key] = known = new Dictionary<string, string?>(StringComparer.Ordinal);
            }

            foreach (var (value, label) in list)
            {
                if (known.Count < MaxValuesPerProperty || known.ContainsKey(value))
                {
                    if (label is not null || !known.ContainsKey(value))
                    {
                        known[value] = label;
                    }
                }
            }
        }
    }

    public void Clear()
    {
        _counts.Clear();
        _properties.Clear();
        _values.Clear();
    }

    public UsageReportBody ToBody(string clientId)
    {
        var body = new UsageReportBody();
        if (_counts.Count > 0)
        {
            var client = new UsageReportClient { Id = clientId };
            foreach (var ((slug, value, fallback), count) in _counts.OrderBy(c => c.Key.Slug, StringComparer.Ordinal))
            {
                if (!client.Flags.TryGetValue(slug, out var list))
                {
                    client.Flags[slug] = list = [];
                }

                list.Add(new UsageReportValue { Value = Element(value), Default = Element(fallback), Count = count });
            }

            body.Clients = [client];
        }

        if (_properties.Count > 0)
        {
            body.ReceivedProperties = _properties.ToDictionary(p => p.Key, p => new[] { p.Value.First, p.Value.Last }, StringComparer.Ordinal);
        }

        if (_values.Count > 0)
        {
            body.ReceivedValues = _values.ToDictionary(
                p => p.Key,
                p => p.Value.Select(v => v.Value is null ? new[] { v.Key } : [v.Key, v.Value]).ToList(),
                StringComparer.Ordinal);
        }

        return body;
    }

    private static JsonElement? Element(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>The JSON text of a default a caller passed (see the converters' BoxDefault).</summary>
    public static string? ToJson(object? value) => value switch
    {
        null => null,
        bool b => b ? "true" : "false",
        string s => JsonSerializer.Serialize(s, WireJson.Default.String),
        double d when double.IsFinite(d) => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        JsonElement e => e.GetRawText(),
        FlagValue v => v.ToJson(),
        _ => null,
    };
}
