"""Fixed-window counters for login throttling, in memory or in Redis (the `limits` library)."""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter


class LimitsThrottle:
    def __init__(self, window_seconds: int, redis_url: str | None = None) -> None:
        storage: Storage
        if redis_url:
            # limits' async storage wants an `async+redis(s)://` URI; its default client is
            # coredis, so pick redis-py (the `redis` package), which is what we install.
            uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
            storage = RedisStorage(uri, implementation="redispy")
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._window = window_seconds

    def _item(self, limit: int) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(limit, self._window)

    async def blocked(self, key: str, limit: int) -> int | None:
        item = self._item(limit)
        if await self._limiter.test(item, key):
            return None
        stats = await self._limiter.get_window_stats(item, key)
        return max(1, int(stats.reset_time - time.time()) + 1)

    async def hit(self, key: str, limit: int) -> None:
        await self._limiter.hit(self._item(limit), key)

    async def clear(self, key: str, limit: int) -> None:
        await self._limiter.clear(self._item(limit), key)
