using System.Globalization;
using System.Text;

namespace Flagstaff.Benchmarks;

/// <summary>Generated configurations in the wire format, shaped like real ones.</summary>
internal static class Configurations
{
    /// <summary>
    /// The typical flag: a STR_EQUAL rule on userId with five values, then a 25 % PERCENTAGE rule.
    /// </summary>
    public static string TypicalFlag(string slug, int seed) => string.Create(CultureInfo.InvariantCulture, $$$"""
        {"slug":"{{{slug}}}","conditions":[
          {"rules":[{"key":"userId","operator":"STR_EQUAL","negate":false,"values":["u-1001","u-1002","u-1003","u-1004","u-1005"]}],"variation":{"active":true,"value":true}},
          {"rules":[{"key":"userId","operator":"PERCENTAGE","negate":false,"rangeStart":0,"rangeEnd":0.25,"seed":{{{seed}}}}],"variation":{"active":true,"value":true}}],
         "defaultVariation":{"active":false,"value":null}}
        """);

    /// <summary>A configuration of <paramref name="count"/> flags mixing the common operators.</summary>
    public static string Mixed(int count)
    {
        var json = new StringBuilder("[");
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
            {
                json.Append(',');
            }

            string slug = "flag-" + i.ToString("D6", CultureInfo.InvariantCulture);
            json.Append((i % 4) switch
            {
                0 => TypicalFlag(slug, i),
                1 => string.Create(CultureInfo.InvariantCulture, $$$"""{"slug":"{{{slug}}}","conditions":[{"rules":[{"key":"email","operator":"STR_ENDS_WITH","negate":false,"values":["@acme.com","@example.org"]},{"key":"plan","operator":"STR_EQUAL","negate":false,"values":["pro","enterprise"]}],"variation":{"active":true,"value":"variant-b"}}],"defaultVariation":{"active":true,"value":"variant-a"}}"""),
                2 => string.Create(CultureInfo.InvariantCulture, $$$$"""{"slug":"{{{{slug}}}}","conditions":[{"rules":[{"key":"appVersion","operator":"SEMVER_GTE","negate":false,"version":[2,4,0]},{"key":"country","operator":"STR_EQUAL","negate":false,"values":["FR","DE","ES","IT","NL","BE","PT","AT","IE","FI"]}],"variation":{"active":true,"value":{"limit":100,"mode":"fast"}}}],"defaultVariation":{"active":false,"value":null}}"""),
                _ => string.Create(CultureInfo.InvariantCulture, $$$"""{"slug":"{{{slug}}}","conditions":[{"rules":[{"key":"timestamp","operator":"DATE_AFTER","negate":false,"timestamp":1735689600000,"iso":"2025-01-01T00:00:00"}],"variation":{"active":true,"value":42}}],"defaultVariation":{"active":false,"value":null}}"""),
            });
        }

        return json.Append(']').ToString();
    }
}
