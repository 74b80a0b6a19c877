"""Fixed-window attempt counters (login, sign-up), in memory or in Redis (the `limits` library).

Both stores count with one atomic increment (a lock in memory, one Lua call in Redis) that
returns the new count, so `reserve` is count-then-compare: of N concurrent attempts exactly
`limit` fit, however they interleave, in one process or across processes sharing Redis.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from app.domain.ports import Quota


class LimitsThrottle:
    def __init__(self, redis_url: str | None = None) -> None:
        storage: Storage
        if redis_url:
            # limits' async storage wants an `async+redis(s)://` URI; its default client is
            # coredis, so pick redis-py (the `redis` package), which is what we install.
            uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
            storage = RedisStorage(uri, implementation="redispy")
        else:
            storage = MemoryStorage()
        self._storage = storage

    @staticmethod
    def _key(key: str, quota: Quota) -> str:
        return RateLimitItemPerSecond(quota.limit, quota.window_seconds).key_for(key)

    async def reserve(self, key: str, quota: Quota) -> int | None:
        counter = self._key(key, quota)
        if await self._storage.incr(counter, quota.window_seconds) <= quota.limit:
            return None
        reset_at = await self._storage.get_expiry(counter)
        return max(1, int(reset_at - time.time()) + 1)

    async def release(self, key: str, quota: Quota) -> None:
        counter = self._key(key, quota)
        # No decrement in `limits`: a negative increment. Should the window have ended in
        # between, that starts a new one at -1; clear it rather than grant an extra attempt.
        if await self._storage.incr(counter, quota.window_seconds, amount=-1) < 0:
            await self._storage.clear(counter)

    async def clear(self, key: str, quota: Quota) -> None:
        await self._storage.clear(self._key(key, quota))
