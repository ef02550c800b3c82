using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Flagstaff.Client.Internal;

/// <summary>What a stream event, a persisted file or a bootstrap file holds.</summary>
internal readonly record struct ConfigurationPayload(long? Version, ReadOnlyMemory<byte> Flags, IReadOnlyList<string> Deleted, DateTimeOffset? SavedAt);

/// <summary>
/// One flag of a configuration array, as its slug and its exact JSON, and the compare rate of its
/// <c>migration</c> property when it is a migration flag (docs/adr/0004-migrations.md).
/// </summary>
internal readonly record struct RawFlag(string Slug, ReadOnlyMemory<byte> Json, double? CompareRate = null);

/// <summary>
/// Reads and writes the JSON around configurations without compiling them: stream events
/// (<c>{"version","flags","deleted"}</c>), persisted files (<c>{"version","savedAt","flags"}</c>) and
/// bare flag arrays. The flags keep their exact bytes, so that the client can persist what it received.
/// </summary>
internal static class ConfigurationDocument
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 128 };

    /// <summary>Reads an object with a <c>flags</c> array (and optional version, deleted, savedAt), or a bare array of flags.</summary>
    /// <exception cref="FormatException">The document is not one of those.</exception>
    public static ConfigurationPayload Parse(ReadOnlyMemory<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json.Span, ReaderOptions);
            if (!reader.Read())
            {
                throw new FormatException("The document is empty.");
            }

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                reader.Skip();
                EnsureEnd(ref reader);
                return new ConfigurationPayload(null, json, [], null);
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("The document is neither an object nor an array of flags.");
            }

            long? version = null;
            DateTimeOffset? savedAt = null;
            ReadOnlyMemory<byte>? flags = null;
            List<string> deleted = [];
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("version"u8))
                {
                    reader.Read();
                    version = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long v) ? v
                        : reader.TokenType == JsonTokenType.Null ? null
                        : throw new FormatException("\"version\" is not a whole number.");
                }
                else if (reader.ValueTextEquals("flags"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new FormatException("\"flags\" is not an array.");
                    }

                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    flags = json[start..(int)reader.BytesConsumed];
                }
                else if (reader.ValueTextEquals("deleted"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new FormatException("\"deleted\" is not an array.");
                    }

                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        deleted.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new FormatException("\"deleted\" holds something other than slugs."));
                    }
                }
                else if (reader.ValueTextEquals("savedAt"u8))
                {
                    reader.Read();
                    savedAt = reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var at) ? at : null;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            EnsureEnd(ref reader);
            return flags is null && deleted.Count == 0 && version is null
                ? throw new FormatException("The object has no \"flags\".")
                : new ConfigurationPayload(version, flags ?? "[]"u8.ToArray(), deleted, savedAt);
        }
        catch (JsonException e)
        {
            throw new FormatException($"The JSON is invalid: {e.Message}", e);
        }
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new FormatException("Unexpected data after the JSON value.");
        }
    }

    /// <summary>Splits an array of flags into each flag's slug and exact JSON.</summary>
    /// <exception cref="FormatException">The array holds something that is not a flag object with a string slug.</exception>
    public static List<RawFlag> Split(ReadOnlyMemory<byte> array)
    {
        var flags = new List<RawFlag>();
        try
        {
            var reader = new Utf8JsonReader(array.Span, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new FormatException("The flags are not an array.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new FormatException($"Flag {flags.Count} is not an object.");
                }

                int start = (int)reader.TokenStartIndex;
                string? slug = null;
                double? compareRate = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isSlug = reader.ValueTextEquals("slug"u8);
                    bool isMigration = reader.ValueTextEquals("migration"u8);
                    reader.Read();
                    if (isSlug && reader.TokenType == JsonTokenType.String)
                    {
                        slug = reader.GetString();
                    }
                    else if (isMigration && reader.TokenType == JsonTokenType.StartObject)
                    {
                        compareRate = ReadCompareRate(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                if (string.IsNullOrEmpty(slug))
                {
                    throw new FormatException($"Flag {flags.Count} has no slug.");
                }

                flags.Add(new RawFlag(slug, array[start..(int)reader.BytesConsumed], compareRate));
            }
        }
        catch (JsonException e)
        {
            throw new FormatException($"The flags are not valid JSON: {e.Message}", e);
        }

        return flags;
    }

    // The reader stands on the migration object's start. A missing or out-of-range rate is the ADR's
    // default, 1: comparing too much costs reads, comparing nothing would hide a divergence.
    private static double ReadCompareRate(ref Utf8JsonReader reader)
    {
        double rate = 1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isRate = reader.ValueTextEquals("compareRate"u8);
            reader.Read();
            if (isRate && reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out double value) && value is >= 0 and <= 1)
            {
                rate = value;
            }
            else
            {
                reader.Skip();
            }
        }

        return rate;
    }

    /// <summary>Joins flags into one JSON array.</summary>
    public static byte[] Join(IEnumerable<ReadOnlyMemory<byte>> flags)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        buffer.Write("["u8);
        bool first = true;
        foreach (var flag in flags)
        {
            if (!first)
            {
                buffer.Write(","u8);
            }

            buffer.Write(flag.Span);
            first = false;
        }

        buffer.Write("]"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a persisted or bootstrap file.</summary>
    /// <exception cref="FormatException">It is not a configuration.</exception>
    public static StoredConfiguration Read(byte[] bytes, DateTime lastWriteUtc)
    {
        var payload = Parse(bytes);
        return new StoredConfiguration(payload.Version, payload.Flags, payload.SavedAt ?? new DateTimeOffset(lastWriteUtc, TimeSpan.Zero));
    }

    /// <summary>Writes the persisted form: <c>{"version","savedAt","flags"}</c>.</summary>
    public static async Task WriteAsync(Stream stream, StoredConfiguration configuration, CancellationToken cancellationToken)
    {
        await using var writer = new Utf8JsonWriter(stream);
        writer.WriteStartObject();
        if (configuration.Version is { } version)
        {
            writer.WriteNumber("version"u8, version);
        }
        else
        {
            writer.WriteNull("version"u8);
        }

        writer.WriteString("savedAt"u8, configuration.SavedAt.ToString("O", CultureInfo.InvariantCulture));
        writer.WritePropertyName("flags"u8);
        writer.WriteRawValue(configuration.FlagsJson.Span, skipInputValidation: true);
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
