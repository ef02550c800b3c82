using Flagstaff.Dashboard.Model;
using Flagstaff.Domain;
using Flagstaff.Management.Services;

namespace Flagstaff.Dashboard.Tests;

/// <summary>The three-way merge behind "Save mine over theirs", case by case.</summary>
public sealed class TargetingMergeTests
{
    private static TargetingRule Rule(string id, string plan, string serve = "on") =>
        new() { Id = id, Name = id, Clauses = [new Clause { Property = "plan", Operator = "STR_EQUAL", Values = [plan] }], Serve = Serve.Of(serve) };

    private static TargetingRequest Targeting(string defaultServe, params TargetingRule[] rules) => new() { Rules = rules, DefaultServe = Serve.Of(defaultServe) };

    [Fact]
    public void Changes_to_different_rules_and_the_default_are_all_kept_without_a_question()
    {
        var @base = Targeting("off", Rule("a", "beta"), Rule("b", "pro"));
        var theirs = Targeting("on", Rule("a", "beta"), Rule("b", "pro", "off"));
        var mine = Targeting("off", Rule("a", "alpha"), Rule("b", "pro"), Rule("c", "free"));

        var merge = TargetingMerge.Merge("Production", @base, theirs, mine);

        Assert.Empty(merge.Undone);
        Assert.Equal("on", merge.Merged.DefaultServe.Variation);
        Assert.Equal(["a", "b", "c"], merge.Merged.Rules.Select(r => r.Id));
        Assert.Equal("alpha", merge.Merged.Rules[0].Clauses[0].Values![0]);
        Assert.Equal("off", merge.Merged.Rules[1].Serve.Variation);
    }

    [Fact]
    public void A_rule_I_removed_that_they_changed_is_reported_as_undone_and_one_they_added_is_kept_in_place()
    {
        var @base = Targeting("off", Rule("a", "beta"), Rule("b", "pro"));
        var theirs = Targeting("off", Rule("a", "beta", "off"), Rule("t", "staff"), Rule("b", "pro"));
        var mine = Targeting("off", Rule("b", "pro"));

        var merge = TargetingMerge.Merge("Production", @base, theirs, mine);

        Assert.Equal(["t", "b"], merge.Merged.Rules.Select(r => r.Id));
        var line = Assert.Single(merge.Undone);
        Assert.Equal("Production · rule 1 “a” (you removed it)", line.Scope);
        Assert.Equal("“a” if plan is one of beta: serve off", line.Before);
        Assert.Null(line.After);
    }

    [Fact]
    public void The_same_rule_changed_on_both_sides_keeps_mine_and_says_what_it_undoes()
    {
        var @base = Targeting("off", Rule("a", "beta"));
        var theirs = Targeting("off", Rule("a", "beta", "off"));
        var mine = Targeting("off", Rule("a", "beta") with { Name = "Beta" });
        var both = Targeting("off", Rule("a", "beta", "on") with { Serve = Serve.Of("on") });

        var separate = TargetingMerge.Merge("Staging", @base, theirs, mine);
        Assert.Empty(separate.Undone);
        Assert.Equal("Beta", separate.Merged.Rules[0].Name);
        Assert.Equal("off", separate.Merged.Rules[0].Serve.Variation);

        var clash = TargetingMerge.Merge("Staging", @base, theirs, both with { Rules = [both.Rules[0] with { Serve = new Serve { Split = new Split { Buckets = [new() { Variation = "on", Weight = 50 }, new() { Variation = "off", Weight = 50 }] } } }] });
        var line = Assert.Single(clash.Undone);
        Assert.Equal("Staging · rule 1 “a”", line.Scope);
        Assert.Equal("“a” if plan is one of beta: serve off", line.Before);
        Assert.Equal("“a” if plan is one of beta: serve 50% on, 50% off", line.After);
    }
}
