namespace Flagstaff.Evaluation.Tests;

public class LoadingTests
{
    private const string Good = """{"slug":"good","conditions":[],"defaultVariation":{"active":true,"value":1}}""";

    private static string WithRule(string rule) =>
        $$$"""[{{{Good}}},{"slug":"bad","conditions":[{"rules":[{"key":"k","operator":"STR_EQUAL","negate":false,"values":["a"]}],"variation":{"active":true,"value":1}},{"rules":[{"key":"k","operator":"TRUE","negate":false},{{{rule}}}],"variation":{"active":true,"value":2}}],"defaultVariation":{"active":false,"value":null}}]""";

    // Each kind of malformed rule: strict loading names the flag, the condition, the rule and the problem.
    [Theory]
    [InlineData("""{"key":"k","operator":"STR_EQUALS","negate":false,"values":["a"]}""", "operator", "\"STR_EQUALS\", which is not a known operator")]
    [InlineData("""{"operator":"STR_EQUAL","negate":false,"values":["a"]}""", "key", "\"key\" is missing")]
    [InlineData("""{"key":"k","negate":false,"values":["a"]}""", "operator", "\"operator\" is missing")]
    [InlineData("""{"key":"k","operator":"STR_EQUAL","negate":false}""", "values", "\"values\" is missing")]
    [InlineData("""{"key":"k","operator":"STR_EQUAL","negate":false,"values":"a"}""", "values", "must be an array of strings, not a string")]
    [InlineData("""{"key":"k","operator":"STR_EQUAL","negate":false,"values":["a",1]}""", "values", "must be an array of strings")]
    [InlineData("""{"key":"k","operator":"STR_EQUAL","negate":"no","values":["a"]}""", "negate", "must be a boolean, not a string")]
    [InlineData("""{"key":1,"operator":"STR_EQUAL","negate":false,"values":["a"]}""", "key", "must be a string, not a number")]
    [InlineData("""{"key":"k","operator":"EQ","negate":false,"value":"1"}""", "value", "must be a number, not a string")]
    [InlineData("""{"key":"k","operator":"STR_AFTER","negate":false,"value":1}""", "value", "must be a string, not a number")]
    [InlineData("""{"key":"k","operator":"REGEXP","negate":false,"value":"(unclosed"}""", "value", "the regular expression /(unclosed/ cannot be used")]
    [InlineData("""{"key":"k","operator":"REGEXP","negate":false,"value":"[b-a]"}""", "value", "cannot be used")]
    [InlineData("""{"key":"k","operator":"REGEXP","negate":false,"value":"^(?=.*\\d)"}""", "value", "cannot be used: it uses a lookahead ((?=...)")]
    [InlineData("""{"key":"k","operator":"REGEXP","negate":false,"value":"(a)\\1"}""", "value", "cannot be used: it uses a backreference (\\1)")]
    [InlineData("""{"key":"k","operator":"PERCENTAGE","negate":false,"rangeStart":0,"rangeEnd":1.5,"seed":1}""", "rangeEnd", "must be between 0 and 1, not 1.5")]
    [InlineData("""{"key":"k","operator":"PERCENTAGE","negate":false,"rangeStart":-0.1,"rangeEnd":0.5,"seed":1}""", "rangeStart", "must be between 0 and 1, not -0.1")]
    [InlineData("""{"key":"k","operator":"PERCENTAGE","negate":false,"rangeStart":0.6,"rangeEnd":0.5,"seed":1}""", "rangeEnd", "must not be below rangeStart")]
    [InlineData("""{"key":"k","operator":"PERCENTAGE","negate":false,"rangeStart":0,"rangeEnd":0.5}""", "seed", "\"seed\" is missing")]
    [InlineData("""{"key":"k","operator":"PERCENTAGE","negate":false,"rangeStart":0,"rangeEnd":0.5,"seed":1.5}""", "seed", "must be an integer between 0 and 4294967295")]
    [InlineData("""{"key":"k","operator":"PERCENTAGE","negate":false,"rangeStart":"0","rangeEnd":0.5,"seed":1}""", "rangeStart", "must be a number, not a string")]
    [InlineData("""{"key":"k","operator":"DATE_AFTER","negate":false,"iso":"2024-01-01T00:00:00"}""", "timestamp", "\"timestamp\" is missing")]
    [InlineData("""{"key":"k","operator":"DATE_AFTER","negate":false,"timestamp":1704067200000,"iso":"2024-01-01"}""", "iso", "must be a 19-character date and time")]
    [InlineData("""{"key":"k","operator":"SEMVER_GTE","negate":false,"version":["1","2"]}""", "version", "must be an array of integers")]
    [InlineData("""{"key":"k","operator":"SEMVER_GTE","negate":false,"version":[1.5]}""", "version", "must hold non-negative integers")]
    [InlineData("""{"key":"k","operator":"SEMVER_EQ","negate":false,"version":[]}""", "version", "must hold at least one number")]
    [InlineData("""{"key":"k","operator":"ARR_OVERLAP","negate":false,"values":{"a":1}}""", "values", "must be an array of strings, not an object")]
    [InlineData("\"not a rule\"", null, "a rule is an object, not a string")]
    public void Strict_loading_rejects_a_malformed_rule_and_says_where(string rule, string? field, string message)
    {
        var result = FlagConfiguration.Load(WithRule(rule), LoadMode.Strict);

        Assert.Null(result.Configuration);
        var error = Assert.Single(result.Errors);
        Assert.Equal("bad", error.FlagSlug);
        Assert.Equal(1, error.FlagIndex);
        Assert.Equal(1, error.ConditionIndex);
        Assert.Equal(1, error.RuleIndex);
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("flag \"bad\" (index 1), condition 1, rule 1: ", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(field is null ? "/1/conditions/1/rules/1" : $"/1/conditions/1/rules/1/{field}", error.Path);
    }

    [Fact]
    public void Lenient_loading_keeps_a_flag_whose_pattern_is_refused_and_that_rule_never_matches()
    {
        // Condition 1 has a lookahead, valid JavaScript with no linear-time evaluation.
        var json = WithRule("""{"key":"k","operator":"REGEXP","negate":true,"value":"(?=x)"}""");
        var result = FlagConfiguration.Load(json, LoadMode.Lenient);

        var configuration = Assert.IsType<FlagConfiguration>(result.Configuration);
        var error = Assert.Single(result.Errors);
        Assert.Equal("/1/conditions/1/rules/1/value", error.Path);
        Assert.Contains("lookahead", error.Message, StringComparison.Ordinal);

        // The flag still evaluates: condition 0 still matches, condition 1 never does (even negated).
        var a = EvaluationContext.CreateBuilder().Set("k", "a").Build();
        var other = EvaluationContext.CreateBuilder().Set("k", true).Build();
        Assert.Equal(1.0, configuration.Evaluate("bad", a).Value!.AsNumber());
        Assert.False(configuration.Evaluate("bad", other).IsActive);
        Assert.Equal(EvaluationReason.Default, configuration.Evaluate("bad", other).Reason);
    }

    [Fact]
    public void Lenient_loading_turns_a_malformed_flag_inactive_and_keeps_the_others()
    {
        var result = FlagConfiguration.Load(
            WithRule("""{"key":"k","operator":"STR_EQUALS","negate":false,"values":["a"]}"""), LoadMode.Lenient);

        var configuration = Assert.IsType<FlagConfiguration>(result.Configuration);
        Assert.Single(result.Errors);
        Assert.False(result.IsValid);

        var context = EvaluationContext.CreateBuilder().Set("k", "a").Build();
        var bad = configuration.Evaluate("bad", context);
        Assert.False(bad.IsActive);
        Assert.Equal(EvaluationReason.Error, bad.Reason);
        Assert.Contains("STR_EQUALS", bad.ErrorMessage, StringComparison.Ordinal);

        var good = configuration.Evaluate("good", context);
        Assert.True(good.IsActive);
        Assert.Equal(1, good.Value!.AsNumber());
    }

    [Theory]
    [InlineData("""{"slug":"x","conditions":[]}""", "defaultVariation", "\"defaultVariation\" is missing")]
    [InlineData("""{"slug":"x","defaultVariation":{"active":false}}""", "conditions", "\"conditions\" is missing")]
    [InlineData("""{"conditions":[],"defaultVariation":{"active":false}}""", "slug", "\"slug\" is missing")]
    [InlineData("""{"slug":"","conditions":[],"defaultVariation":{"active":false}}""", "slug", "must not be empty")]
    [InlineData("""{"slug":"x","conditions":{},"defaultVariation":{"active":false}}""", "conditions", "must be an array, not an object")]
    [InlineData("""{"slug":"x","conditions":[],"defaultVariation":{"value":1}}""", "defaultVariation/active", "is missing")]
    [InlineData("""{"slug":"x","conditions":[],"defaultVariation":{"active":"yes"}}""", "defaultVariation/active", "must be a boolean")]
    [InlineData("""{"slug":"x","conditions":[{"rules":[]}],"defaultVariation":{"active":false}}""", "variation", "\"variation\" is missing")]
    [InlineData("""{"slug":"x","conditions":[{"variation":{"active":true}}],"defaultVariation":{"active":false}}""", "rules", "\"rules\" is missing")]
    [InlineData("[]", null, "a flag is a JSON object, not an array")]
    public void Strict_loading_rejects_a_malformed_flag(string flag, string? field, string message)
    {
        var result = FlagConfiguration.Load($"[{flag}]", LoadMode.Strict);

        Assert.Null(result.Configuration);
        var error = Assert.Single(result.Errors);
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_slug_after_the_faulty_field_still_names_the_flag()
    {
        var result = FlagConfiguration.Load("""[{"conditions":5,"defaultVariation":{"active":false},"slug":"late"}]""", LoadMode.Strict);

        var error = Assert.Single(result.Errors);
        Assert.Equal("late", error.FlagSlug);
    }

    [Fact]
    public void Duplicate_slugs_are_an_error_and_the_last_flag_wins_when_lenient()
    {
        const string Json = """[{"slug":"d","conditions":[],"defaultVariation":{"active":true,"value":1}},{"slug":"d","conditions":[],"defaultVariation":{"active":true,"value":2}}]""";

        var strict = FlagConfiguration.Load(Json, LoadMode.Strict);
        Assert.Null(strict.Configuration);
        Assert.Contains("duplicate slug", Assert.Single(strict.Errors).Message, StringComparison.Ordinal);

        var lenient = FlagConfiguration.Load(Json, LoadMode.Lenient);
        Assert.Equal(2, lenient.Configuration!.Evaluate("d", EvaluationContext.Empty).Value!.AsNumber());
    }

    [Theory]
    [InlineData("{}", "A configuration is a JSON array of flags.")]
    [InlineData("[", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    [InlineData("[] []", "not valid JSON")]
    public void A_document_that_is_not_a_configuration_fails_in_both_modes(string json, string message)
    {
        foreach (var mode in new[] { LoadMode.Strict, LoadMode.Lenient })
        {
            var result = FlagConfiguration.Load(json, mode);
            Assert.Null(result.Configuration);
            Assert.Contains(message, Assert.Single(result.Errors).Message, StringComparison.Ordinal);
            Assert.Null(result.Errors[0].FlagIndex);
        }
    }

    [Fact]
    public void Unknown_fields_are_ignored_so_the_format_can_grow()
    {
        var result = FlagConfiguration.Load(
            """[{"id":"1","slug":"x","extra":{"a":[1,2]},"conditions":[{"id":2,"rules":[{"key":"k","operator":"EMPTY","negate":false,"label":"l"}],"variation":{"active":true,"value":"v","name":"n"}}],"defaultVariation":{"active":false,"value":null}}]""",
            LoadMode.Strict);

        Assert.True(result.IsValid);
        Assert.Equal("v", result.Configuration!.Evaluate("x", EvaluationContext.Empty).Value!.AsString());
    }

    [Fact]
    public void Every_error_of_a_document_is_reported_not_only_the_first()
    {
        var result = FlagConfiguration.Load(
            """[{"slug":"a","conditions":[{"rules":[{"key":"k","operator":"NOPE"}],"variation":{"active":true}}],"defaultVariation":{"active":false}},{"slug":"b","conditions":[],"defaultVariation":{"active":1}}]""",
            LoadMode.Strict);

        Assert.Equal(["a", "b"], result.Errors.Select(e => e.FlagSlug).Distinct());
    }

    [Fact]
    public void GetConfigurationOrThrow_throws_with_every_error()
    {
        var result = FlagConfiguration.Load(WithRule("""{"key":"k","operator":"NOPE","negate":false}"""), LoadMode.Strict);

        var exception = Assert.Throws<ConfigurationException>(result.GetConfigurationOrThrow);
        Assert.Single(exception.Errors);
        Assert.Contains("flag \"bad\"", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFlag_compiles_one_flag()
    {
        var ok = FlagConfiguration.LoadFlag(System.Text.Encoding.UTF8.GetBytes(Good), LoadMode.Strict);
        Assert.Equal("good", ok.Flag!.Slug);
        Assert.Empty(ok.Errors);

        var bad = FlagConfiguration.LoadFlag("""{"slug":"b","conditions":[],"defaultVariation":{"active":3}}"""u8, LoadMode.Strict);
        Assert.Null(bad.Flag);
        Assert.Single(bad.Errors);
    }
}
