namespace Flagstaff.Management.Services;

/// <summary>What was asked for does not exist (or is not visible under the path used).</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The change conflicts with the current state; <see cref="Current"/> is that state.</summary>
public sealed class ConflictException(string message, object? current = null) : Exception(message)
{
    public object? Current { get; } = current;
}

/// <summary>An update came without the version it was based on (<c>If-Match</c>).</summary>
public sealed class PreconditionRequiredException(string message) : Exception(message);

/// <summary>The caller may not do this.</summary>
public sealed class ForbiddenException(string message) : Exception(message);
