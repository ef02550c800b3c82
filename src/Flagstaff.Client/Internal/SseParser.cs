using System.Buffers;
using System.Text;

namespace Flagstaff.Client.Internal;

/// <summary>One block of a Server-Sent Events stream, up to its blank line.</summary>
/// <param name="Type">The <c>event:</c> field, or <c>message</c>; null for a block with no data (a comment such as a heartbeat, or a lone <c>retry:</c>).</param>
/// <param name="Data">The <c>data:</c> lines joined by newlines.</param>
/// <param name="Id">The <c>id:</c> field, if any.</param>
internal readonly record struct SseEvent(string? Type, ReadOnlyMemory<byte> Data, string? Id);

/// <summary>
/// Parses Server-Sent Events from bytes as they arrive (the parts of the format Flagstaff uses: lines
/// ending in LF or CRLF, <c>event</c>, <c>data</c>, <c>id</c>, comments). Data is kept as bytes so a
/// large configuration is never copied into a string.
/// </summary>
internal sealed class SseParser
{
    /// <summary>The largest event accepted; a larger one is treated as malformed.</summary>
    public const int MaxEventBytes = 256 * 1024 * 1024;

    private readonly ArrayBufferWriter<byte> _data = new(1024);
    private string? _type;
    private string? _id;
    private bool _hasData;

    /// <summary>Reads complete lines from <paramref name="buffer"/> until a block ends; returns false when more bytes are needed.</summary>
    /// <exception cref="FormatException">An event is larger than <see cref="MaxEventBytes"/>.</exception>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out SseEvent result)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            buffer = buffer.Slice(reader.Position);
            if (line.Length > 0 && EndsWithCarriageReturn(line))
            {
                line = line.Slice(0, line.Length - 1);
            }

            if (line.IsEmpty)
            {
                result = Dispatch();
                return true;
            }

            Field(line);
        }

        if (buffer.Length > MaxEventBytes)
        {
            throw new FormatException($"An event line is longer than {MaxEventBytes} bytes.");
        }

        result = default;
        return false;
    }

    private static bool EndsWithCarriageReturn(ReadOnlySequence<byte> line)
    {
        var last = line.Slice(line.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }

    private void Field(ReadOnlySequence<byte> line)
    {
        var span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        if (span[0] == (byte)':')
        {
            return;
        }

        int colon = span.IndexOf((byte)':');
        var name = colon < 0 ? span : span[..colon];
        var value = colon < 0 ? [] : span[(colon + 1)..];
        if (value.Length > 0 && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (name.SequenceEqual("data"u8))
        {
            if (_data.WrittenCount + value.Length + 1 > MaxEventBytes)
            {
                throw new FormatException($"An event is larger than {MaxEventBytes} bytes.");
            }

            _data.Write(value);
            _data.Write("\n"u8);
            _hasData = true;
        }
        else if (name.SequenceEqual("event"u8))
        {
            _type = Encoding.UTF8.GetString(value);
        }
        else if (name.SequenceEqual("id"u8) && !value.Contains((byte)0))
        {
            _id = Encoding.UTF8.GetString(value);
        }
    }

    private SseEvent Dispatch()
    {
        SseEvent result;
        if (_hasData)
        {
            // The last data line's newline is not part of the data.
            var data = _data.WrittenMemory[..^1].ToArray();
            result = new SseEvent(_type ?? "message", data, _id);
        }
        else
        {
            result = new SseEvent(null, ReadOnlyMemory<byte>.Empty, _id);
        }

        _data.Clear();
        _type = null;
        _hasData = false;
        return result;
    }
}
