using System.Globalization;
using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation.Tests;

public class FlagMapTests
{
    private static CompiledFlag Flag(string slug) =>
        FlagConfiguration.LoadFlag(System.Text.Encoding.UTF8.GetBytes("{\"slug\":\"" + slug + "\",\"conditions\":[],\"defaultVariation\":{\"active\":false}}"), LoadMode.Strict).Flag!;

    [Fact]
    public void Random_changes_agree_with_a_dictionary_and_never_touch_earlier_snapshots()
    {
        var random = new Random(20261125);
        var expected = new Dictionary<string, CompiledFlag>();
        var map = FlagMap.Empty;
        var history = new List<(FlagMap Map, Dictionary<string, CompiledFlag> Contents)>();
        for (int step = 0; step < 20_000; step++)
        {
            string slug = "f" + random.Next(3_000).ToString(CultureInfo.InvariantCulture);
            if (random.Next(3) == 0)
            {
                map = map.Remove(slug);
                expected.Remove(slug);
            }
            else
            {
                var flag = Flag(slug);
                map = map.SetItem(flag);
                expected[slug] = flag;
            }

            if (step % 2_000 == 0)
            {
                history.Add((map, new Dictionary<string, CompiledFlag>(expected)));
            }
        }

        history.Add((map, expected));
        foreach (var (snapshot, contents) in history)
        {
            Assert.Equal(contents.Count, snapshot.Count);
            foreach (var (slug, flag) in contents)
            {
                Assert.True(snapshot.TryGetValue(slug, out var found));
                Assert.Same(flag, found);
            }

            var listed = new List<CompiledFlag>();
            snapshot.CopyTo(listed);
            Assert.Equal(contents.Keys.Order(), listed.Select(f => f.Slug).Order());
            Assert.False(snapshot.TryGetValue("absent", out _));
        }
    }

    [Fact]
    public void Building_at_once_gives_the_same_map_as_adding_one_by_one()
    {
        var flags = Enumerable.Range(0, 5_000).Select(i => Flag("flag-" + i.ToString(CultureInfo.InvariantCulture))).ToArray();
        var built = FlagMap.CreateFromUnique([.. flags]);
        var added = flags.Aggregate(FlagMap.Empty, (map, flag) => map.SetItem(flag));

        foreach (var flag in flags)
        {
            Assert.True(built.TryGetValue(flag.Slug, out var a));
            Assert.True(added.TryGetValue(flag.Slug, out var b));
            Assert.Same(a, b);
        }

        var removed = flags.Aggregate(built, (map, flag) => map.Remove(flag.Slug));
        Assert.Equal(0, removed.Count);
        Assert.Equal(5_000, built.Count);
    }
}
