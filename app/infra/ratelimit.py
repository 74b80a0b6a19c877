"""Per (app, shop) rate limits: a leaky bucket, implemented as GCRA (generic cell rate).

GCRA keeps one number per key — the theoretical arrival time (TAT) of the next request — so a
check is one read and one write: in process memory by default, in Redis (one Lua call, the
server's clock) when `MINISHOP_REDIS_URL` is set, so every API process shares the bucket.
Both take an optional clock (seconds, like `time.monotonic`) so tests move time instead of
sleeping; production leaves Redis on its server's clock, the one every process agrees on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the bucket is full again.
    reset_after: float
    #: Seconds to wait before a retry can succeed (0 when allowed).
    retry_after: float

    def headers(self) -> dict[str, str]:
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return out


#: Bucket arithmetic is in integer microseconds. In float seconds a burst at one instant lost
#: a request and RateLimit-Remaining read one low whenever 1/per_second is not a binary
#: fraction (3/s, 10/s, 0.3/s: k * interval - burst * interval != (k - burst) * interval), and
#: Redis's `tostring` (14 significant digits) blurred the times to 0.1 ms.
_US = 1_000_000


def _interval_us(per_second: float) -> int:
    return max(1, round(_US / per_second))


def _decision(allowed: bool, now: int, tat: int, burst: int, interval: int) -> Decision:
    """The decision for a request at `now` (µs); `tat` is the bucket's TAT after it."""
    tolerance = interval * burst
    remaining = max(0, (now - (tat - tolerance)) // interval)
    if allowed:
        return Decision(True, burst, remaining, (tat - now) / _US, 0.0)
    allow_at = tat + interval - tolerance
    return Decision(False, burst, remaining, (tat - now) / _US, (allow_at - now) / _US)


def _decide(now: int, tat: int, burst: int, interval: int) -> tuple[Decision, int]:
    tat = max(tat, now)
    new_tat = tat + interval
    if now < new_tat - interval * burst:
        return _decision(False, now, tat, burst, interval), tat
    return _decision(True, now, new_tat, burst, interval), new_tat


class RateLimiter(Protocol):
    async def hit(self, key: str, burst: int, per_second: float) -> Decision: ...
    async def close(self) -> None: ...


class MemoryRateLimiter:
    """One process's buckets. Idle keys are dropped now and then to bound memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._tat: dict[str, int] = {}
        self._clock = clock
        self._hits = 0

    async def hit(self, key: str, burst: int, per_second: float) -> Decision:
        now = round(self._clock() * _US)
        decision, tat = _decide(now, self._tat.get(key, now), burst, _interval_us(per_second))
        self._tat[key] = tat
        self._hits += 1
        if self._hits % 10_000 == 0:
            self._tat = {k: v for k, v in self._tat.items() if v > now}
        return decision

    async def close(self) -> None:
        return None


# Microseconds since the epoch (~1.8e15) are exact in Lua's doubles (< 2^53) and come back
# as integer replies; `%d` stores them without `tostring`'s rounding. ARGV[3], when given, is
# the caller's clock instead of the server's (an injected clock), and ARGV[4] the least time
# (ms) to keep the key: Redis expires keys on its own clock, which an injected one does not
# move, so a bucket must not vanish while a test's clock stands still.
_LUA = """
local key = KEYS[1]
local burst = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local now
if ARGV[3] then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', key) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if now < new_tat - interval * burst then
  return {0, now, tat}
end
local keep = math.max(math.ceil((new_tat - now) / 1000) + 1000, tonumber(ARGV[4] or 0))
redis.call('SET', key, string.format('%d', new_tat), 'PX', keep)
return {1, now, new_tat}
"""


#: How long keys live at least when the clock is injected (tests): an hour of real time.
_INJECTED_CLOCK_KEEP_MS = 3_600_000


class RedisRateLimiter:
    """Shared buckets: atomic in one script, timed by the Redis server's clock unless a
    `clock` is injected (every process sharing the buckets must then share that clock)."""

    def __init__(
        self, url: str, prefix: str = "minishop:rl:", clock: Callable[[], float] | None = None
    ) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._script = self._redis.register_script(_LUA)
        self._prefix = prefix
        self._clock = clock

    async def hit(self, key: str, burst: int, per_second: float) -> Decision:
        interval = _interval_us(per_second)
        args = [burst, interval]
        if self._clock is not None:
            args += [round(self._clock() * _US), _INJECTED_CLOCK_KEEP_MS]
        allowed, now, tat = await self._script(keys=[self._prefix + key], args=args)
        return _decision(int(allowed) == 1, int(now), int(tat), burst, interval)

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
