using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Flagstaff.Cli.Infrastructure;
using Flagstaff.Evaluation;

namespace Flagstaff.Cli.Commands;

/// <summary>
/// <c>flagstaff eval</c>: evaluates every flag of a configuration file (as <c>GET /config</c> serves it)
/// for contexts, offline, and prints what <c>POST /flags</c> would answer.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var configOption = new Option<FileInfo>("--config")
        {
            Description = "A configuration file: a JSON array of flags, as GET /config serves it.",
            Required = true,
        };
        var contextsOption = new Option<FileInfo?>("--contexts")
        {
            Description = "A JSON file holding an array of contexts; prints an array of results, one per context.",
        };
        var contextOption = new Option<string?>("--context")
        {
            Description = "One context given inline as a JSON object; prints one result object.",
        };
        var nowOption = new Option<string?>("--now")
        {
            Description = "The time to evaluate at (ISO 8601, or milliseconds since the Unix epoch), for schedules. Default: the current time.",
        };
        var indentOption = new Option<bool>("--indent")
        {
            Description = "Indent the JSON output.",
        };

        var command = new Command("eval", "Evaluate every flag of a configuration file for one or more contexts, offline.")
        {
            configOption,
            contextsOption,
            contextOption,
            nowOption,
            indentOption,
        };

        command.Validators.Add(result =>
        {
            bool many = result.GetResult(contextsOption) is not null;
            bool one = result.GetResult(contextOption) is not null;
            if (many == one)
            {
                result.AddError("Give exactly one of --contexts FILE or --context JSON.");
            }
        });

        command.SetAction(parseResult =>
        {
            try
            {
                var configuration = LoadConfiguration(parseResult.GetValue(configOption)!);
                long now = ParseNow(parseResult.GetValue(nowOption));
                var buffer = new MemoryStream();
                using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = parseResult.GetValue(indentOption) }))
                {
                    if (parseResult.GetValue(contextsOption) is { } contextsFile)
                    {
                        json.WriteStartArray();
                        foreach (var context in ReadContexts(contextsFile))
                        {
                            WriteResult(json, configuration, context, now);
                        }

                        json.WriteEndArray();
                    }
                    else
                    {
                        WriteResult(json, configuration, ParseInlineContext(parseResult.GetValue(contextOption)!), now);
                    }
                }

                output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
                return ExitCodes.Success;
            }
            catch (CliException e)
            {
                error.WriteLine($"error: {e.Message}");
                return e.ExitCode;
            }
        });

        return command;
    }

    private static FlagConfiguration LoadConfiguration(FileInfo file)
    {
        var bytes = ReadFile(file, "configuration");
        var result = FlagConfiguration.Load(bytes, LoadMode.Strict);
        if (result.Configuration is null)
        {
            var lines = result.Errors.Select(e => $"  {e}");
            throw new CliException($"{file.Name} is not a valid configuration:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
        }

        return result.Configuration;
    }

    private static List<EvaluationContext> ReadContexts(FileInfo file)
    {
        var bytes = ReadFile(file, "contexts");
        var contexts = new List<EvaluationContext>();
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new CliException($"{file.Name} must hold a JSON array of context objects.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new CliException(string.Create(CultureInfo.InvariantCulture, $"{file.Name}: element {contexts.Count} is not a JSON object (line {LineOf(bytes, reader.TokenStartIndex)})."));
                }

                contexts.Add(EvaluationContext.Read(ref reader));
            }

            if (reader.Read())
            {
                throw new CliException($"{file.Name}: unexpected data after the array of contexts.");
            }
        }
        catch (JsonException e)
        {
            throw new CliException($"{file.Name} is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}");
        }

        return contexts;
    }

    private static int LineOf(byte[] bytes, long index)
    {
        int line = 1;
        for (long i = 0; i < index && i < bytes.Length; i++)
        {
            if (bytes[i] == '\n')
            {
                line++;
            }
        }

        return line;
    }

    private static EvaluationContext ParseInlineContext(string json)
    {
        try
        {
            return EvaluationContext.Parse(System.Text.Encoding.UTF8.GetBytes(json));
        }
        catch (JsonException e)
        {
            throw new CliException($"--context must be one JSON object: {e.Message}");
        }
    }

    private static byte[] ReadFile(FileInfo file, string what)
    {
        try
        {
            return File.ReadAllBytes(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the {what} file {file.FullName}: {e.Message}");
        }
    }

    private static long ParseNow(string? text)
    {
        if (text is null)
        {
            return DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ms))
        {
            return ms;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return at.ToUnixTimeMilliseconds();
        }

        throw new CliException($"--now must be an ISO 8601 date and time or milliseconds since the Unix epoch, not \"{text}\".");
    }

    private static void WriteResult(Utf8JsonWriter json, FlagConfiguration configuration, EvaluationContext context, long now)
    {
        json.WriteStartObject();
        foreach (var (slug, value) in configuration.EvaluateActive(context, now).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            json.WritePropertyName(slug);
            value.WriteTo(json);
        }

        json.WriteEndObject();
    }
}
