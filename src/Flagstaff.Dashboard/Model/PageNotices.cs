namespace Flagstaff.Dashboard.Model;

/// <summary>
/// One outcome on screen at a time: a page and the panels inside it (the flag page and its tabs) each
/// show the problem or confirmation of their own last change, so without this an earlier error of one
/// stayed on screen beside the different error, or the success, of another. Scoped: one per browser
/// tab's connection.
/// </summary>
public sealed class PageNotices
{
    // Weak, because components are not told apart from the ones already gone: a page that was left
    // is collected, and one disposed but not yet collected ignores the render it is asked for.
    private readonly List<WeakReference<INoticeHolder>> _holders = [];

    /// <summary>Adds a component that shows notices.</summary>
    public void Add(INoticeHolder holder)
    {
        _holders.RemoveAll(h => !h.TryGetTarget(out _));
        _holders.Add(new WeakReference<INoticeHolder>(holder));
    }

    /// <summary>A change by <paramref name="source"/> begins: every other component's notice is now out of date.</summary>
    public void Changing(INoticeHolder source)
    {
        foreach (var reference in _holders.ToArray())
        {
            if (reference.TryGetTarget(out var holder) && !ReferenceEquals(holder, source))
            {
                holder.ClearNotice();
            }
        }
    }
}

/// <summary>A component that shows the outcome of its last change.</summary>
public interface INoticeHolder
{
    /// <summary>Stops showing it.</summary>
    void ClearNotice();
}
