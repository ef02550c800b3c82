using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flagstaff.Evaluation.Internal;

/// <summary>
/// 32-bit xxHash (XXH32), the hash that percentage rules use. Written here rather than taken from
/// System.IO.Hashing so that the core depends on nothing outside the base library.
/// </summary>
internal static class XxHash32
{
    private const uint Prime1 = 2654435761U;
    private const uint Prime2 = 2246822519U;
    private const uint Prime3 = 3266489917U;
    private const uint Prime4 = 668265263U;
    private const uint Prime5 = 374761393U;

    public static uint Hash(ReadOnlySpan<byte> data, uint seed)
    {
        int length = data.Length;
        uint h;
        int offset = 0;

        if (length >= 16)
        {
            uint v1 = seed + Prime1 + Prime2;
            uint v2 = seed + Prime2;
            uint v3 = seed;
            uint v4 = seed - Prime1;
            int limit = length - 16;
            while (offset <= limit)
            {
                v1 = Round(v1, BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]));
                v2 = Round(v2, BinaryPrimitives.ReadUInt32LittleEndian(data[(offset + 4)..]));
                v3 = Round(v3, BinaryPrimitives.ReadUInt32LittleEndian(data[(offset + 8)..]));
                v4 = Round(v4, BinaryPrimitives.ReadUInt32LittleEndian(data[(offset + 12)..]));
                offset += 16;
            }

            h = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7)
                + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
        }
        else
        {
            h = seed + Prime5;
        }

        h += (uint)length;

        while (offset + 4 <= length)
        {
            h += BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]) * Prime3;
            h = BitOperations.RotateLeft(h, 17) * Prime4;
            offset += 4;
        }

        while (offset < length)
        {
            h += data[offset] * Prime5;
            h = BitOperations.RotateLeft(h, 11) * Prime1;
            offset++;
        }

        h ^= h >> 15;
        h *= Prime2;
        h ^= h >> 13;
        h *= Prime3;
        h ^= h >> 16;
        return h;
    }

    /// <summary>
    /// Hashes the UTF-8 bytes of an ASCII text straight from its characters, with no buffer: the
    /// common case of ids. Returns false, without a hash, when the text is not all ASCII.
    /// </summary>
    public static bool TryHashAscii(ReadOnlySpan<char> text, uint seed, out uint hash)
    {
        int length = text.Length;
        int offset = 0;
        uint h;
        uint nonAscii = 0;

        if (length >= 16)
        {
            uint v1 = seed + Prime1 + Prime2;
            uint v2 = seed + Prime2;
            uint v3 = seed;
            uint v4 = seed - Prime1;
            int limit = length - 16;
            while (offset <= limit)
            {
                v1 = Round(v1, Lane(text, offset, ref nonAscii));
                v2 = Round(v2, Lane(text, offset + 4, ref nonAscii));
                v3 = Round(v3, Lane(text, offset + 8, ref nonAscii));
                v4 = Round(v4, Lane(text, offset + 12, ref nonAscii));
                offset += 16;
            }

            h = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7)
                + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
        }
        else
        {
            h = seed + Prime5;
        }

        h += (uint)length;

        while (offset + 4 <= length)
        {
            h += Lane(text, offset, ref nonAscii) * Prime3;
            h = BitOperations.RotateLeft(h, 17) * Prime4;
            offset += 4;
        }

        while (offset < length)
        {
            uint c = text[offset];
            nonAscii |= c;
            h += c * Prime5;
            h = BitOperations.RotateLeft(h, 11) * Prime1;
            offset++;
        }

        h ^= h >> 15;
        h *= Prime2;
        h ^= h >> 13;
        h *= Prime3;
        h ^= h >> 16;
        hash = h;
        return nonAscii < 0x80;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Lane(ReadOnlySpan<char> text, int offset, ref uint nonAscii)
    {
        uint c0 = text[offset], c1 = text[offset + 1], c2 = text[offset + 2], c3 = text[offset + 3];
        nonAscii |= c0 | c1 | c2 | c3;
        return c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Round(uint acc, uint lane)
    {
        acc += lane * Prime2;
        acc = BitOperations.RotateLeft(acc, 13);
        return acc * Prime1;
    }
}
