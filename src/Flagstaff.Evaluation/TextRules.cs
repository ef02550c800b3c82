using Flagstaff.Evaluation.Internal;

namespace Flagstaff.Evaluation;

/// <summary>
/// Text operations of the flag format that code preparing a configuration must perform exactly as
/// the evaluator (and JavaScript, whose semantics the format has) does.
/// </summary>
public static class TextRules
{
    /// <summary>
    /// Lower-cases text as JavaScript's <c>String.prototype.toLowerCase</c> does (the Unicode full
    /// mapping, with the final-sigma rule): <c>STR_EQUAL_SOFT</c> compares the lower-cased property
    /// with its values as they are, so values must be lower-cased this way to ever match.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <returns>The lower-cased text.</returns>
    public static string ToLowerCase(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buffer = new char[JsText.MaxLowerCaseLength(text.Length)];
        int written = JsText.ToLowerCase(text, buffer);
        return new string(buffer, 0, written);
    }
}
