namespace Flagstaff.DataPlane.Snapshots;

/// <summary>
/// Counts the contexts one evaluation snapshot evaluated (every flag that is on, per context): one
/// interlocked add per request, no allocation. The owner must keep itself alive until its add is
/// done (<see cref="GC.KeepAlive"/>), so that a collected owner means a final count.
/// </summary>
public sealed class EvaluationCounter
{
    private long _contexts;

    /// <summary>Adds the contexts one request evaluated.</summary>
    public void Add(int contexts) => Interlocked.Add(ref _contexts, contexts);

    /// <summary>The contexts counted so far.</summary>
    public long Read() => Volatile.Read(ref _contexts);
}
