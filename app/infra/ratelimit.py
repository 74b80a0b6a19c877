"""Per (app, shop) rate limits: a leaky bucket, implemented as GCRA (generic cell rate).

GCRA keeps one number per key — the theoretical arrival time (TAT) of the next request — so a
check is one read and one write: in process memory by default, in Redis (one Lua call, the
server's clock) when `MINISHOP_REDIS_URL` is set, so every API process shares the bucket.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol


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


def _decide(now: float, tat: float, burst: int, per_second: float) -> tuple[Decision, float]:
    interval = 1.0 / per_second
    tolerance = interval * burst
    tat = max(tat, now)
    new_tat = tat + interval
    allow_at = new_tat - tolerance
    if now < allow_at:
        remaining = max(0, int((now - (tat - tolerance)) / interval))
        return Decision(False, burst, remaining, tat - now, allow_at - now), tat
    remaining = max(0, int((now - allow_at) / interval))
    return Decision(True, burst, remaining, new_tat - now, 0.0), new_tat


class RateLimiter(Protocol):
    async def hit(self, key: str, burst: int, per_second: float) -> Decision: ...
    async def close(self) -> None: ...


class MemoryRateLimiter:
    """One process's buckets. Idle keys are dropped now and then to bound memory."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._tat: dict[str, float] = {}
        self._clock = clock
        self._hits = 0

    async def hit(self, key: str, burst: int, per_second: float) -> Decision:
        now = self._clock()
        decision, tat = _decide(now, self._tat.get(key, now), burst, per_second)
        self._tat[key] = tat
        self._hits += 1
        if self._hits % 10_000 == 0:
            self._tat = {k: v for k, v in self._tat.items() if v > now}
        return decision

    async def close(self) -> None:
        return None


_LUA = """
local key = KEYS[1]
local burst = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', key) or now)
if tat < now then tat = now end
local tolerance = interval * burst
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, tostring(now), tostring(tat)}
end
redis.call('SET', key, tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {1, tostring(now), tostring(new_tat)}
"""


class RedisRateLimiter:
    """Shared buckets: atomic in one script, timed by the Redis server's clock."""

    def __init__(self, url: str, prefix: str = "minishop:rl:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._script = self._redis.register_script(_LUA)
        self._prefix = prefix

    async def hit(self, key: str, burst: int, per_second: float) -> Decision:
        interval = 1.0 / per_second
        allowed, now_s, tat_s = await self._script(
            keys=[self._prefix + key], args=[burst, repr(interval)]
        )
        now, tat = float(now_s), float(tat_s)
        tolerance = interval * burst
        if int(allowed) == 1:
            remaining = max(0, int((now - (tat - tolerance)) / interval))
            return Decision(True, burst, remaining, tat - now, 0.0)
        allow_at = tat + interval - tolerance
        remaining = max(0, int((now - (tat - tolerance)) / interval))
        return Decision(False, burst, remaining, tat - now, allow_at - now)

    async def close(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
