"""Real `minishop worker` processes delivering webhooks: killed with SIGKILL mid-batch and
restarted, two at once, and (PostgreSQL) woken by NOTIFY rather than by their poll."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.infra.db import tables
from app.settings import Settings
from tests.event_support import product_updated
from tests.live_server import REPO, venv_python
from tests.oauth_support import authorized
from tests.own_database import own_database
from tests.webhook_support import Receiver, receiver, subscribe

#: A database of this module's own (tests/own_database.py).
database_url, is_postgres, settings, container, app = own_database()


@contextmanager
def worker(settings: Settings, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    environ = {
        **os.environ,
        "MINISHOP_ENV": "test",
        "MINISHOP_VAR_DIR": str(settings.var_dir),
        "MINISHOP_DATABASE_URL": settings.database_url,
        "MINISHOP_WEBHOOK_ALLOW_PRIVATE": "true",
        "MINISHOP_WEBHOOK_ALLOWED_PORTS": "1024-65535",
        "MINISHOP_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2",
        "MINISHOP_LOG_LEVEL": "WARNING",
        **env,
    }
    proc = subprocess.Popen(
        [venv_python(), "-m", "app", "worker", "--interval", "3600"],
        cwd=REPO,
        env=environ,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


async def _events(container: Container, shop_id: str, n: int, first: int = 0) -> list[str]:
    """n product events of n different products (no ordering between them)."""
    ids = []
    async with container.uow() as uow:
        for i in range(first, first + n):
            event = product_updated(shop_id, f"prod_test{i:04d}")
            await uow.outbox.add(event)
            ids.append(event.id)
        await uow.commit()
    return ids


async def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _statuses(container: Container, endpoint_id: str) -> Counter[str]:
    d = tables.webhook_deliveries
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(d.c.status).where(d.c.endpoint_id == endpoint_id))
        return Counter(str(r.status) for r in rows)


def _product_ids(rx: Receiver) -> list[str]:
    return [b["data"]["product_id"] for b in rx.bodies("product.updated")]


async def test_a_worker_killed_mid_batch_loses_nothing(
    client: httpx.AsyncClient, container: Container, settings: Settings
) -> None:
    auth = await authorized(client)
    with receiver(delay=0.15) as rx:
        endpoint = await subscribe(client, auth.app, rx.url, ["product.*"])
        await _events(container, auth.shop["id"], 30)
        env = {
            "MINISHOP_WEBHOOK_CONCURRENCY": "3",
            "MINISHOP_WEBHOOK_LEASE_SECONDS": "2",
            "MINISHOP_WEBHOOK_TIMEOUT_SECONDS": "1",
        }
        with worker(settings, **env) as first:
            await _wait_for(lambda: len(rx.received) >= 6, 60, "the first deliveries")
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        cut = len(rx.received)
        assert cut < 30, "the worker finished before it could be killed"
        with worker(settings, **env):
            await _wait_for(lambda: len(set(_product_ids(rx))) == 30, 90, "every event")
            deadline = time.monotonic() + 30
            while (await _statuses(container, endpoint["id"]))["succeeded"] < 30:
                assert time.monotonic() < deadline, await _statuses(container, endpoint["id"])
                await asyncio.sleep(0.1)
    # Every event arrived; any duplicate (sent again after the kill) has the same webhook-id.
    by_product: dict[str, set[str]] = {}
    for r in rx.received:
        by_product.setdefault(r.json["data"]["product_id"], set()).add(r.headers["webhook-id"])
    assert len(by_product) == 30
    assert all(len(ids) == 1 for ids in by_product.values())
    assert await _statuses(container, endpoint["id"]) == Counter({"succeeded": 30})


async def test_two_workers_never_send_one_delivery_at_the_same_time(
    client: httpx.AsyncClient, container: Container, settings: Settings
) -> None:
    auth = await authorized(client)
    with receiver(delay=0.02) as rx:
        endpoint = await subscribe(client, auth.app, rx.url, ["product.*"])
        await _events(container, auth.shop["id"], 60)
        with worker(settings), worker(settings):
            await _wait_for(lambda: len(rx.received) >= 60, 90, "every event")
            deadline = time.monotonic() + 60
            while (await _statuses(container, endpoint["id"]))["succeeded"] < 60:
                assert time.monotonic() < deadline, await _statuses(container, endpoint["id"])
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # anything sent twice would arrive now
    ids = Counter(r.headers["webhook-id"] for r in rx.received)
    assert len(ids) == 60 and set(ids.values()) == {1}
    assert await _statuses(container, endpoint["id"]) == Counter({"succeeded": 60})


async def test_postgres_workers_wake_on_notify_not_on_their_poll(
    client: httpx.AsyncClient, container: Container, settings: Settings, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; the SQLite worker polls")
    auth = await authorized(client)
    with receiver() as rx:
        await subscribe(client, auth.app, rx.url, ["product.*"])
        with worker(settings, MINISHOP_WEBHOOK_POLL_SECONDS="60"):
            await _until_listening(container)
            # A first delivery: the sending loop has run and is now idle on its 60 s poll.
            await _events(container, auth.shop["id"], 1)
            await _wait_for(lambda: len(rx.received) == 1, 60, "the first delivery")
            started = time.monotonic()
            await _events(container, auth.shop["id"], 1, first=1)
            await _wait_for(lambda: len(rx.received) == 2, 10, "the delivery")
            assert time.monotonic() - started < 5  # a 60 s poll would not have seen it yet


async def _until_listening(container: Container, timeout: float = 120) -> None:
    """Until a session on the suite's database has run LISTEN (the worker's listener)."""
    probe = sa.text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND query ILIKE 'LISTEN %'"
    )
    async with asyncio.timeout(timeout):
        while True:
            async with container.engine.connect() as conn:
                if (await conn.execute(probe)).scalar_one():
                    return
            await asyncio.sleep(0.05)


async def test_a_slow_receiver_does_not_hold_up_the_others(
    client: httpx.AsyncClient, container: Container, settings: Settings
) -> None:
    """The sending loop hands each claimed batch to a task and claims the next at once: while
    one endpoint takes 1.5 s to answer, another endpoint's next event still goes out."""
    from app.infra.webhooks.dispatcher import Dispatcher

    auth = await authorized(client)
    fast_poll = settings.model_copy(update={"webhook_poll_seconds": 0.05})
    dispatcher = Dispatcher(container.engine, container.cipher, fast_poll)
    stop = asyncio.Event()
    with receiver(delay=1.5) as slow, receiver() as fast:
        await subscribe(client, auth.app, slow.url, ["product.*"])
        await subscribe(client, auth.app, fast.url, ["product.*"])
        loop = asyncio.create_task(dispatcher.run(stop))
        try:
            await _events(container, auth.shop["id"], 1)
            await _wait_for(lambda: len(fast.received) == 1 and slow.received, 10, "event 1")
            await _events(container, auth.shop["id"], 1, first=1)  # another product
            await _wait_for(lambda: len(fast.received) == 2, 10, "event 2 at the fast receiver")
            assert slow.answered == 0, "event 2 waited for the slow receiver's answer"
        finally:
            stop.set()
            await loop  # the batches in flight finish first
            await dispatcher.close()
        assert slow.answered == 2 and fast.answered == 2


async def test_a_claim_is_not_sent_once_its_lease_could_run_out_mid_attempt(
    client: httpx.AsyncClient, container: Container, settings: Settings
) -> None:
    """One slot for the endpoint, 1.5 s per answer, a 6 s lease and a 2.25 s timeout: of five
    claimed deliveries the first three start in time (by 3.75 s); the last two would start
    when less than a timeout is left of the lease, so they are not sent, leave no attempt and
    are released at once for the next claim. Nothing is in flight twice or arrives twice."""
    from app.infra.webhooks.dispatcher import Dispatcher

    auth = await authorized(client)
    tight = settings.model_copy(
        update={
            "webhook_concurrency": 2,  # one slot per endpoint
            "webhook_lease_seconds": 6,
            "webhook_timeout_seconds": 2.25,
        }
    )
    dispatcher = Dispatcher(container.engine, container.cipher, tight)
    try:
        with receiver(delay=1.5) as rx:
            endpoint = await subscribe(client, auth.app, rx.url, ["product.*"])
            await _events(container, auth.shop["id"], 5)
            assert await dispatcher.fan_out() == 5
            assert await dispatcher.deliver_due() == 5  # claimed
            assert rx.answered == 3
            assert await _statuses(container, endpoint["id"]) == Counter(
                {"succeeded": 3, "pending": 2}
            )
            assert await dispatcher.deliver_due() == 2  # released: no wait for the lease
            assert rx.answered == 5
    finally:
        await dispatcher.close()
    assert await _statuses(container, endpoint["id"]) == Counter({"succeeded": 5})
    ids = Counter(r.headers["webhook-id"] for r in rx.received)
    assert len(ids) == 5 and set(ids.values()) == {1}
    async with container.engine.connect() as conn:
        attempts = await conn.execute(
            sa.select(tables.webhook_attempts.c.attempt).where(
                tables.webhook_attempts.c.endpoint_id == endpoint["id"]
            )
        )
        assert sorted(attempts.scalars()) == [1] * 5  # the lapsed claims left no attempt


async def test_the_per_endpoint_slots_do_not_outlive_their_requests(
    client: httpx.AsyncClient, container: Container
) -> None:
    from app.infra.webhooks.dispatcher import Dispatcher

    auth = await authorized(client)
    dispatcher = Dispatcher(container.engine, container.cipher, container.settings)
    try:
        with receiver() as a, receiver() as b:
            await subscribe(client, auth.app, a.url, ["product.*"])
            await subscribe(client, auth.app, b.url, ["product.*"])
            await _events(container, auth.shop["id"], 3)
            made, sent = await dispatcher.run_once()
            assert (made, sent) == (6, 6) and len(a.received) == len(b.received) == 3
        assert len(dispatcher._slots) == 0
    finally:
        await dispatcher.close()
