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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Round(uint acc, uint lane)
    {
        acc += lane * Prime2;
        acc = BitOperations.RotateLeft(acc, 13);
        return acc * Prime1;
    }
}
