using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace Flagstaff.Server.EvaluationApi;

/// <summary>
/// An optional per-key request budget on the evaluation endpoints (a token bucket holding one second's
/// worth): over it, requests get 429 with Retry-After. Off unless configured.
/// </summary>
public sealed class KeyRateLimiter(IOptions<EvaluationOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public void Check(KeyEntry key, HttpContext context)
    {
        int rate = options.Value.RequestsPerSecondPerKey;
        if (rate <= 0)
        {
            return;
        }

        var bucket = _buckets.GetOrAdd(key.Id, _ => new Bucket(rate, clock.GetTimestamp()));
        if (!bucket.TryTake(rate, clock))
        {
            context.Response.Headers.RetryAfter = "1";
            throw new EvaluationException(StatusCodes.Status429TooManyRequests, string.Create(CultureInfo.InvariantCulture, $"This key is limited to {rate} requests per second; retry after a second."));
        }
    }

    private sealed class Bucket(double tokens, long at)
    {
        private readonly Lock _gate = new();
        private double _tokens = tokens;
        private long _at = at;

        public bool TryTake(int rate, TimeProvider clock)
        {
            lock (_gate)
            {
                long now = clock.GetTimestamp();
                _tokens = Math.Min(rate, _tokens + (clock.GetElapsedTime(_at, now).TotalSeconds * rate));
                _at = now;
                if (_tokens < 1)
                {
                    return false;
                }

                _tokens--;
                return true;
            }
        }
    }
}
