"""Provider rate limits: the GCRA leaky bucket in memory (injected clock) and in the real
local Redis, then through the API (operator override, 429 problem, per-shop buckets, and a
bucket shared by two app instances over Redis)."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from app.container import Container
from app.infra.ratelimit import (
    Decision,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
)
from app.main import create_app
from tests import factories as f
from tests.oauth_support import Authorized, authorized, make_app

#: The Redis the rate-limit tests use (CI runs one next to PostgreSQL).
REDIS_URL = os.environ.get("MINISHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

NewClient = Callable[..., httpx.AsyncClient]

#: (burst, per_second): binary-exact rates and rates whose interval is not a binary fraction.
BUCKETS = [(3, 0.5), (80, 4.0), (5, 3.0), (10, 10.0), (7, 0.3), (1, 1.0)]
#: Clock readings to start from: zero, and large fractional values like `time.monotonic()`.
STARTS = [0.0, 1000.1, 12345.678, 1_000_000.3]


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def prefix() -> str:
    return f"test:rl:{secrets.token_hex(6)}:"


def assert_headers(d: Decision) -> None:
    h = d.headers()
    assert h["RateLimit-Limit"] == str(d.limit)
    assert h["RateLimit-Remaining"] == str(d.remaining)
    assert h["RateLimit-Reset"] == str(math.ceil(d.reset_after))
    if d.allowed:
        assert "Retry-After" not in h
    else:
        assert h["Retry-After"] == str(max(1, math.ceil(d.retry_after)))


# --- MemoryRateLimiter, injected clock ---------------------------------------------------


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize(("burst", "per_second"), BUCKETS)
async def test_memory_burst_exactly_allowed_then_refused(
    start: float, burst: int, per_second: float
) -> None:
    clock = FakeClock(start)
    limiter = MemoryRateLimiter(clock=clock)
    interval = 1 / per_second
    decisions = [await limiter.hit("k", burst, per_second) for _ in range(burst)]
    # All at the same instant: the whole burst passes, RateLimit-Remaining counts down to 0.
    assert [d.allowed for d in decisions] == [True] * burst
    assert [d.remaining for d in decisions] == list(range(burst - 1, -1, -1))
    for i, d in enumerate(decisions, start=1):
        assert d.limit == burst and d.retry_after == 0
        assert d.reset_after == pytest.approx(i * interval, abs=1e-5)
        assert_headers(d)

    refused = await limiter.hit("k", burst, per_second)
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after == pytest.approx(interval, abs=1e-5)
    assert refused.reset_after == pytest.approx(burst * interval, abs=1e-5)
    assert_headers(refused)
    h = refused.headers()
    assert h["Retry-After"] == str(max(1, math.ceil(interval)))
    assert h["RateLimit-Reset"] == str(math.ceil(burst * interval))


@asynccontextmanager
async def clocked_limiter(store: str, clock: FakeClock) -> AsyncIterator[RateLimiter]:
    """The memory or the Redis limiter (a fresh key prefix) on an injected clock."""
    if store == "memory":
        yield MemoryRateLimiter(clock=clock)
        return
    limiter = RedisRateLimiter(REDIS_URL, prefix=prefix(), clock=clock)
    try:
        yield limiter
    finally:
        await limiter.close()


@pytest.mark.parametrize("store", ["memory", "redis"])
@pytest.mark.parametrize(("burst", "per_second"), BUCKETS)
async def test_the_bucket_drains_at_the_configured_rate(
    store: str, burst: int, per_second: float
) -> None:
    clock = FakeClock(1000.1)
    async with clocked_limiter(store, clock) as limiter:
        await _drains_at_the_configured_rate(limiter, clock, burst, per_second)


async def _drains_at_the_configured_rate(
    limiter: RateLimiter, clock: FakeClock, burst: int, per_second: float
) -> None:
    interval = 1 / per_second
    for _ in range(burst):
        assert (await limiter.hit("k", burst, per_second)).allowed
    assert not (await limiter.hit("k", burst, per_second)).allowed

    # A refusal costs nothing: just before one interval it is still refused...
    clock.advance(interval * 0.99)
    early = await limiter.hit("k", burst, per_second)
    assert not early.allowed
    assert early.retry_after == pytest.approx(interval * 0.01, abs=1e-5)
    # ...at one interval exactly one request passes (and leaves nothing).
    clock.advance(interval * 0.01)
    one = await limiter.hit("k", burst, per_second)
    assert one.allowed and one.remaining == 0
    assert not (await limiter.hit("k", burst, per_second)).allowed

    # Three intervals later: three more.
    if burst >= 3:
        clock.advance(3 * interval)
        passed = [await limiter.hit("k", burst, per_second) for _ in range(4)]
        assert [d.allowed for d in passed] == [True, True, True, False]
        assert [d.remaining for d in passed[:3]] == [2, 1, 0]

    # Idle for the full reset time: the whole burst again, never more.
    clock.advance(burst * interval)
    full = [await limiter.hit("k", burst, per_second) for _ in range(burst + 1)]
    assert [d.allowed for d in full] == [True] * burst + [False]
    assert full[0].remaining == burst - 1

    # Idle much longer: still only one burst (the bucket does not overfill).
    clock.advance(100 * burst * interval)
    again = [await limiter.hit("k", burst, per_second) for _ in range(burst + 1)]
    assert sum(d.allowed for d in again) == burst


async def test_memory_remaining_grows_back_while_idle() -> None:
    clock = FakeClock(500.25)
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(4):
        await limiter.hit("k", 4, 2.0)  # interval 0.5 s
    clock.advance(1.0)  # two slots drained
    d = await limiter.hit("k", 4, 2.0)
    assert d.allowed and d.remaining == 1
    assert d.reset_after == pytest.approx(1.5)
    assert d.headers() == {
        "RateLimit-Limit": "4",
        "RateLimit-Remaining": "1",
        "RateLimit-Reset": "2",
    }


async def test_memory_keys_and_limits_are_independent() -> None:
    clock = FakeClock(10.0)
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(2):
        assert (await limiter.hit("app1:shopA", 2, 1.0)).allowed
    assert not (await limiter.hit("app1:shopA", 2, 1.0)).allowed
    assert (await limiter.hit("app1:shopB", 2, 1.0)).allowed
    assert (await limiter.hit("app2:shopA", 2, 1.0)).allowed


async def test_memory_limit_raised_takes_effect_at_once() -> None:
    """The bucket is per key, the limits come with each call (the app's live override)."""
    clock = FakeClock(10.0)
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(2):
        await limiter.hit("k", 2, 1.0)
    assert not (await limiter.hit("k", 2, 1.0)).allowed
    d = await limiter.hit("k", 5, 1.0)
    assert d.allowed and d.limit == 5 and d.remaining == 2


# --- RedisRateLimiter, the real local Redis ----------------------------------------------


@pytest.fixture
async def redis_limiters() -> AsyncIterator[Callable[..., RedisRateLimiter]]:
    """Limiter instances sharing one fresh key prefix (two instances = two API processes),
    on the Redis server's clock unless given one."""
    shared = prefix()
    made: list[RedisRateLimiter] = []

    def make(clock: FakeClock | None = None) -> RedisRateLimiter:
        limiter = RedisRateLimiter(REDIS_URL, prefix=shared, clock=clock)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()


async def test_redis_burst_exactly_allowed_then_refused(
    redis_limiters: Callable[..., RedisRateLimiter],
) -> None:
    limiter = redis_limiters()
    # Slow drain (one request per 2 s) so the test's own duration refills nothing.
    decisions = [await limiter.hit("k", 3, 0.5) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True] * 3
    assert [d.remaining for d in decisions] == [2, 1, 0]
    for i, d in enumerate(decisions, start=1):
        assert d.limit == 3 and d.retry_after == 0
        assert 2 * i - 0.5 < d.reset_after <= 2 * i
        assert_headers(d)
    refused = await limiter.hit("k", 3, 0.5)
    assert not refused.allowed and refused.remaining == 0
    assert 1.5 < refused.retry_after <= 2
    assert 5.5 < refused.reset_after <= 6
    assert refused.headers()["Retry-After"] == "2"
    assert refused.headers()["RateLimit-Reset"] == "6"
    assert_headers(refused)
    assert (await limiter.hit("other", 3, 0.5)).allowed  # keys are independent


async def test_redis_remaining_is_exact_for_any_rate(
    redis_limiters: Callable[..., RedisRateLimiter],
) -> None:
    """RateLimit-Remaining after the first request of a fresh bucket is burst - 1, whatever
    the rate (intervals like 1/3 s are not binary fractions)."""
    limiter = redis_limiters()
    for burst, per_second in BUCKETS:
        for i in range(20):
            d = await limiter.hit(f"fresh:{burst}:{per_second}:{i}", burst, per_second)
            assert d.allowed
            assert d.remaining == burst - 1, (burst, per_second, d)


async def test_redis_key_expires_once_the_bucket_is_full_again() -> None:
    own = prefix()
    limiter = RedisRateLimiter(REDIS_URL, prefix=own)
    redis = Redis.from_url(REDIS_URL)
    try:
        await limiter.hit("k", 3, 0.5)
        ttl_ms = await redis.pttl(own + "k")
    finally:
        await redis.aclose()
        await limiter.close()
    # Full again 2 s after one request; kept one more second, never forever.
    assert 2000 < ttl_ms <= 3100


async def test_redis_keys_outlive_a_standing_injected_clock() -> None:
    """Redis expires keys on its own clock, which an injected clock does not move: such a
    bucket is kept an hour, not the two seconds its clock would say."""
    own = prefix()
    limiter = RedisRateLimiter(REDIS_URL, prefix=own, clock=FakeClock(1000.1))
    redis = Redis.from_url(REDIS_URL)
    try:
        await limiter.hit("k", 3, 0.5)
        ttl_ms = await redis.pttl(own + "k")
    finally:
        await redis.aclose()
        await limiter.close()
    assert 3_000_000 < ttl_ms <= 3_600_000


async def test_two_redis_limiters_share_one_bucket(
    redis_limiters: Callable[..., RedisRateLimiter],
) -> None:
    clock = FakeClock(1000.1)  # one instant: nothing drains between the hits
    a, b = redis_limiters(clock), redis_limiters(clock)
    d1 = await a.hit("k", 3, 0.5)
    d2 = await b.hit("k", 3, 0.5)
    d3 = await a.hit("k", 3, 0.5)
    assert [d.remaining for d in (d1, d2, d3)] == [2, 1, 0]
    assert not (await b.hit("k", 3, 0.5)).allowed
    assert not (await a.hit("k", 3, 0.5)).allowed


async def test_redis_and_memory_agree(redis_limiters: Callable[..., RedisRateLimiter]) -> None:
    """Same semantics: a burst at (nearly) one instant gives the same decisions."""
    redis_limiter = redis_limiters()
    memory = MemoryRateLimiter(clock=FakeClock(1000.1))
    for burst, per_second in [(4, 0.25), (6, 0.3)]:
        got = [await redis_limiter.hit(f"agree:{burst}", burst, per_second) for _ in range(6)]
        want = [await memory.hit(f"agree:{burst}", burst, per_second) for _ in range(6)]
        assert [(d.allowed, d.remaining, d.limit) for d in got] == [
            (d.allowed, d.remaining, d.limit) for d in want
        ]
        for g, w in zip(got, want, strict=True):
            assert g.reset_after == pytest.approx(w.reset_after, abs=0.5)
            assert g.retry_after == pytest.approx(w.retry_after, abs=0.5)


# --- Through the API ---------------------------------------------------------------------


@pytest.fixture
def frozen_rate_limits(container: Container, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The suite's app on fresh memory buckets whose clock stands still until advanced: a
    burst is one instant however slowly a loaded machine sends it."""
    clock = FakeClock(1000.1)
    monkeypatch.setattr(container, "rate_limiter", MemoryRateLimiter(clock=clock))
    return clock


async def set_rate_limit(
    container: Container, new_client: NewClient, app_id: str, **body: Any
) -> None:
    op = await f.operator(container, new_client())
    r = await op.client.put(f"/v1/platform/apps/{app_id}/rate-limit", json=body, headers=op.h)
    assert r.status_code == 200, r.text
    assert r.json()["rate_limit_burst"] == body["burst"]
    assert r.json()["rate_limit_per_second"] == body["per_second"]


def assert_rate_limited(r: httpx.Response, *, limit: int) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    assert r.headers["RateLimit-Limit"] == str(limit)
    assert r.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(r.headers["RateLimit-Reset"]) <= 6


async def burst_of_three(client: httpx.AsyncClient, auth: Authorized) -> list[httpx.Response]:
    return [await client.get("/v1/shop", headers=auth.bearer) for _ in range(4)]


async def test_operator_override_limits_each_shop_of_the_app(
    client: httpx.AsyncClient,
    container: Container,
    new_client: NewClient,
    frozen_rate_limits: FakeClock,
) -> None:
    first = await authorized(client)
    second = await authorized(new_client(), app=first.app)  # another merchant's shop
    # The override applies to tokens already issued, from the next request.
    await set_rate_limit(container, new_client, first.app.id, burst=3, per_second=0.5)
    rs = await burst_of_three(client, first)
    assert [r.status_code for r in rs[:3]] == [200, 200, 200], [r.text for r in rs]
    assert [r.headers["RateLimit-Remaining"] for r in rs[:3]] == ["2", "1", "0"]
    assert all(r.headers["RateLimit-Limit"] == "3" for r in rs)
    assert_rate_limited(rs[3], limit=3)

    # The same app on another shop has its own bucket.
    rs = await burst_of_three(client, second)
    assert [r.status_code for r in rs[:3]] == [200, 200, 200], [r.text for r in rs]
    assert [r.headers["RateLimit-Remaining"] for r in rs[:3]] == ["2", "1", "0"]
    assert_rate_limited(rs[3], limit=3)

    # Another app on the first shop is not affected either: the platform default.
    other = await authorized(
        client, app=await make_app(new_client()), merchant=first.merchant, shop=first.shop
    )
    r = await client.get("/v1/shop", headers=other.bearer)
    assert r.status_code == 200 and r.headers["RateLimit-Limit"] == "80"

    # Restoring the default (null) lifts the override.
    await set_rate_limit(container, new_client, first.app.id, burst=None, per_second=None)
    r = await client.get("/v1/shop", headers=first.bearer)
    assert r.status_code == 200 and r.headers["RateLimit-Limit"] == "80"


async def test_rate_limit_headers_ride_on_error_responses_too(
    client: httpx.AsyncClient,
    container: Container,
    new_client: NewClient,
    frozen_rate_limits: FakeClock,
) -> None:
    """403 (scope), 412 and 422 after a counted request carry the RateLimit headers."""
    auth = await authorized(client, scope="shop:read")
    await set_rate_limit(container, new_client, auth.app.id, burst=5, per_second=0.5)
    r = await client.patch("/v1/shop", json={}, headers=auth.bearer)
    assert r.status_code == 403, r.text
    assert r.headers["RateLimit-Remaining"] == "4"

    full = await authorized(new_client(), app=auth.app)
    r = await client.patch("/v1/shop", json={"name": ""}, headers=full.bearer)
    assert r.status_code == 422, r.text
    assert r.headers["RateLimit-Remaining"] == "4"
    r = await client.patch(
        "/v1/shop", json={"name": "Renamed"}, headers={**full.bearer, "If-Match": '"999"'}
    )
    assert r.status_code == 412, r.text
    assert r.headers["RateLimit-Remaining"] == "3"


@asynccontextmanager
async def app_instance(
    container: Container, limiter: RateLimiter
) -> AsyncIterator[httpx.AsyncClient]:
    """One more API process: the suite's database and keys, its own rate limiter."""
    own = replace(container, rate_limiter=limiter)
    transport = httpx.ASGITransport(app=create_app(container=own), client=("192.0.2.7", 5))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_two_app_instances_share_the_bucket_in_redis(
    client: httpx.AsyncClient,
    container: Container,
    new_client: NewClient,
    redis_limiters: Callable[..., RedisRateLimiter],
    frozen_rate_limits: FakeClock,
) -> None:
    auth = await authorized(client)
    await set_rate_limit(container, new_client, auth.app.id, burst=3, per_second=0.5)
    async with (
        app_instance(container, redis_limiters(frozen_rate_limits)) as a,
        app_instance(container, redis_limiters(frozen_rate_limits)) as b,
    ):
        rs = [
            await a.get("/v1/shop", headers=auth.bearer),
            await b.get("/v1/shop", headers=auth.bearer),
            await a.get("/v1/shop", headers=auth.bearer),
            await b.get("/v1/shop", headers=auth.bearer),
        ]
        assert [r.status_code for r in rs[:3]] == [200, 200, 200], [r.text for r in rs]
        assert [r.headers["RateLimit-Remaining"] for r in rs[:3]] == ["2", "1", "0"]
        assert_rate_limited(rs[3], limit=3)
        assert_rate_limited(await a.get("/v1/shop", headers=auth.bearer), limit=3)

    # The suite's own app (memory buckets) never saw those requests.
    r = await client.get("/v1/shop", headers=auth.bearer)
    assert r.status_code == 200 and r.headers["RateLimit-Remaining"] == "2"


async def test_redis_url_setting_selects_the_redis_limiter() -> None:
    limiter = make_rate_limiter(REDIS_URL)
    try:
        assert isinstance(limiter, RedisRateLimiter)
    finally:
        await limiter.close()
    assert isinstance(make_rate_limiter(None), MemoryRateLimiter)
