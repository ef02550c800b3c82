using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Flagstaff.Evaluation.Internal;

/// <summary>
/// A persistent (immutable) map from slug to flag: a hash array mapped trie, 32 ways per level.
/// A lookup visits one or two nodes for configurations of up to tens of thousands of flags; a change
/// copies only the nodes on one path (at most seven small arrays), so its cost does not grow with
/// the number of flags. (System.Collections.Immutable's dictionary is a balanced binary tree:
/// several times deeper, so slower to read, which matters on the evaluation path.)
/// </summary>
internal sealed class FlagMap
{
    private const int BitsPerLevel = 5;
    private const int Mask = (1 << BitsPerLevel) - 1;

    private readonly Node _root;

    private FlagMap(Node root, int count)
    {
        _root = root;
        Count = count;
    }

    public static FlagMap Empty { get; } = new(new Node(0, []), 0);

    public int Count { get; }

    /// <summary>
    /// A fast, deterministic hash of a slug (the djb2 family, two characters a step). Slugs are chosen
    /// by the project's own people, so the hash needs no protection against crafted collisions; a
    /// collision costs only a comparison.
    /// </summary>
    public static int Hash(string slug)
    {
        uint hash1 = (5381 << 16) + 5381;
        uint hash2 = hash1;
        var text = slug.AsSpan();
        int i = 0;
        for (; i + 1 < text.Length; i += 2)
        {
            hash1 = (BitOperations.RotateLeft(hash1, 5) + hash1) ^ text[i];
            hash2 = (BitOperations.RotateLeft(hash2, 5) + hash2) ^ text[i + 1];
        }

        if (i < text.Length)
        {
            hash1 = (BitOperations.RotateLeft(hash1, 5) + hash1) ^ text[i];
        }

        return (int)(hash1 + (hash2 * 1566083941));
    }

    public bool TryGetValue(string slug, [NotNullWhen(true)] out CompiledFlag? flag)
    {
        int hash = Hash(slug);
        var node = _root;
        for (int shift = 0; ; shift += BitsPerLevel)
        {
            uint bit = 1u << ((hash >>> shift) & Mask);
            if ((node.Bitmap & bit) == 0)
            {
                flag = null;
                return false;
            }

            var entry = node.Entries[BitOperations.PopCount(node.Bitmap & (bit - 1))];
            switch (entry)
            {
                case CompiledFlag leaf:
                    if (leaf.SlugHash == hash && string.Equals(leaf.Slug, slug, StringComparison.Ordinal))
                    {
                        flag = leaf;
                        return true;
                    }

                    flag = null;
                    return false;
                case Node child:
                    node = child;
                    break;
                default:
                    foreach (var candidate in (CompiledFlag[])entry)
                    {
                        if (string.Equals(candidate.Slug, slug, StringComparison.Ordinal))
                        {
                            flag = candidate;
                            return true;
                        }
                    }

                    flag = null;
                    return false;
            }
        }
    }

    /// <summary>Builds a map from flags with distinct slugs at once, allocating only the final nodes.</summary>
    public static FlagMap CreateFromUnique(CompiledFlag[] flags) =>
        flags.Length == 0 ? Empty : new FlagMap(Build(flags, 0), flags.Length);

    private static Node Build(Span<CompiledFlag> flags, int shift)
    {
        // Order by this level's 5 bits, then make one entry per distinct slot.
        flags.Sort((a, b) => ((a.SlugHash >>> shift) & Mask).CompareTo((b.SlugHash >>> shift) & Mask));
        uint bitmap = 0;
        foreach (var flag in flags)
        {
            bitmap |= 1u << ((flag.SlugHash >>> shift) & Mask);
        }

        var entries = new object[BitOperations.PopCount(bitmap)];
        int count = 0;
        int start = 0;
        while (start < flags.Length)
        {
            int slot = (flags[start].SlugHash >>> shift) & Mask;
            int end = start + 1;
            while (end < flags.Length && ((flags[end].SlugHash >>> shift) & Mask) == slot)
            {
                end++;
            }

            var group = flags[start..end];
            entries[count++] = group.Length == 1 ? group[0]
                : shift + BitsPerLevel >= 32 || AllSameHash(group) ? group.ToArray()
                : Build(group, shift + BitsPerLevel);
            start = end;
        }

        return new Node(bitmap, entries);
    }

    private static bool AllSameHash(Span<CompiledFlag> flags)
    {
        foreach (var flag in flags)
        {
            if (flag.SlugHash != flags[0].SlugHash)
            {
                return false;
            }
        }

        return true;
    }

    public FlagMap SetItem(CompiledFlag flag)
    {
        var root = Set(_root, flag, 0, out bool added);
        return new FlagMap(root, added ? Count + 1 : Count);
    }

    public FlagMap Remove(string slug)
    {
        var root = Remove(_root, slug, Hash(slug), 0, out bool removed);
        return removed ? new FlagMap(root ?? Empty._root, Count - 1) : this;
    }

    /// <summary>Adds every flag of the trie to a list, in trie order.</summary>
    public void CopyTo(List<CompiledFlag> list) => CopyTo(_root, list);

    private static void CopyTo(Node node, List<CompiledFlag> list)
    {
        foreach (var entry in node.Entries)
        {
            switch (entry)
            {
                case CompiledFlag leaf:
                    list.Add(leaf);
                    break;
                case Node child:
                    CopyTo(child, list);
                    break;
                default:
                    list.AddRange((CompiledFlag[])entry);
                    break;
            }
        }
    }

    private static Node Set(Node node, CompiledFlag flag, int shift, out bool added)
    {
        int hash = flag.SlugHash;
        uint bit = 1u << ((hash >>> shift) & Mask);
        int index = BitOperations.PopCount(node.Bitmap & (bit - 1));
        if ((node.Bitmap & bit) == 0)
        {
            added = true;
            return node.WithInserted(bit, index, flag);
        }

        var entry = node.Entries[index];
        switch (entry)
        {
            case CompiledFlag leaf when string.Equals(leaf.Slug, flag.Slug, StringComparison.Ordinal):
                added = false;
                return node.WithReplaced(index, flag);
            case CompiledFlag leaf when leaf.SlugHash == hash:
                added = true;
                return node.WithReplaced(index, new[] { leaf, flag });
            case CompiledFlag leaf:
                {
                    // Two different hashes share this slot: push both one level down.
                    var child = Set(Set(new Node(0, []), leaf, shift + BitsPerLevel, out _), flag, shift + BitsPerLevel, out _);
                    added = true;
                    return node.WithReplaced(index, child);
                }

            case Node child:
                return node.WithReplaced(index, Set(child, flag, shift + BitsPerLevel, out added));
            default:
                {
                    // Slugs whose hashes collide entirely share a small array.
                    var collisions = (CompiledFlag[])entry;
                    if (collisions[0].SlugHash != hash)
                    {
                        var child = new Node(0, []);
                        foreach (var existing in collisions)
                        {
                            child = Set(child, existing, shift + BitsPerLevel, out _);
                        }

                        added = true;
                        return node.WithReplaced(index, Set(child, flag, shift + BitsPerLevel, out _));
                    }

                    int at = Array.FindIndex(collisions, c => string.Equals(c.Slug, flag.Slug, StringComparison.Ordinal));
                    added = at < 0;
                    var copy = added ? [.. collisions, flag] : (CompiledFlag[])collisions.Clone();
                    if (!added)
                    {
                        copy[at] = flag;
                    }

                    return node.WithReplaced(index, copy);
                }
        }
    }

    private static Node? Remove(Node node, string slug, int hash, int shift, out bool removed)
    {
        uint bit = 1u << ((hash >>> shift) & Mask);
        removed = false;
        if ((node.Bitmap & bit) == 0)
        {
            return node;
        }

        int index = BitOperations.PopCount(node.Bitmap & (bit - 1));
        var entry = node.Entries[index];
        switch (entry)
        {
            case CompiledFlag leaf:
                if (!string.Equals(leaf.Slug, slug, StringComparison.Ordinal))
                {
                    return node;
                }

                removed = true;
                return node.WithRemoved(bit, index);
            case Node child:
                {
                    var updated = Remove(child, slug, hash, shift + BitsPerLevel, out removed);
                    if (!removed)
                    {
                        return node;
                    }

                    if (updated is null)
                    {
                        return node.WithRemoved(bit, index);
                    }

                    // A child left with a single flag is folded back into this level.
                    return updated.Entries.Length == 1 && updated.Entries[0] is CompiledFlag only
                        ? node.WithReplaced(index, only)
                        : node.WithReplaced(index, updated);
                }

            default:
                {
                    var collisions = (CompiledFlag[])entry;
                    int at = Array.FindIndex(collisions, c => string.Equals(c.Slug, slug, StringComparison.Ordinal));
                    if (at < 0)
                    {
                        return node;
                    }

                    removed = true;
                    var remaining = collisions.Where((_, i) => i != at).ToArray();
                    return node.WithReplaced(index, remaining.Length == 1 ? remaining[0] : remaining);
                }
        }
    }

    /// <summary>A trie node: a bitmap of occupied slots and one entry per set bit (flag, node or collision array).</summary>
    private sealed class Node(uint bitmap, object[] entries)
    {
        public uint Bitmap { get; } = bitmap;

        public object[] Entries { get; } = entries;

        public Node WithInserted(uint bit, int index, object entry)
        {
            var entries = new object[Entries.Length + 1];
            Array.Copy(Entries, entries, index);
            entries[index] = entry;
            Array.Copy(Entries, index, entries, index + 1, Entries.Length - index);
            return new Node(Bitmap | bit, entries);
        }

        public Node WithReplaced(int index, object entry)
        {
            var entries = (object[])Entries.Clone();
            entries[index] = entry;
            return new Node(Bitmap, entries);
        }

        public Node? WithRemoved(uint bit, int index)
        {
            if (Entries.Length == 1)
            {
                return null;
            }

            var entries = new object[Entries.Length - 1];
            Array.Copy(Entries, entries, index);
            Array.Copy(Entries, index + 1, entries, index, Entries.Length - index - 1);
            return new Node(Bitmap & ~bit, entries);
        }
    }
}
