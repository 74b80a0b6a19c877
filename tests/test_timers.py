"""Durable timers in one process: the port's idempotency by (kind, key), cancellation in the
scheduling transaction, a claim voided by a reschedule, and a failing handler (rolled back
with its timer, retried with backoff, attempts counted). Worker processes: test_timer_workers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.worker.timers import TimerRunner, build_registry
from tests.timer_handlers import FIRED

_t = tables.timers


def _runner(container: Container, **kw: Any) -> TimerRunner:
    return TimerRunner(
        container.uow,
        build_registry(["tests.timer_handlers"]),
        lease=kw.pop("lease", timedelta(seconds=30)),
        **kw,
    )


def _key(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}"


async def _fired(container: Container, key: str) -> list[dict[str, Any]]:
    a = tables.audit_log
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(a.c.after).where(a.c.action == FIRED, a.c.target_id == key).order_by(a.c.id)
        )
        return [dict(r.after) for r in rows]


async def _timer(container: Container, key: str) -> Any:
    async with container.engine.connect() as conn:
        return (await conn.execute(sa.select(_t).where(_t.c.key == key))).one_or_none()


async def test_a_timer_scheduled_and_cancelled_in_one_transaction_never_fires(
    container: Container,
) -> None:
    cancelled, kept = _key("cancelled"), _key("kept")
    now = utcnow()
    async with container.uow() as uow:
        await uow.timers.schedule("test.count", cancelled, now - timedelta(seconds=1))
        await uow.timers.schedule("test.count", kept, now)
        assert await uow.timers.cancel("test.count", cancelled)
        await uow.commit()
    await _runner(container).run_due()
    assert len(await _fired(container, kept)) == 1  # the worker did run
    assert await _fired(container, cancelled) == []
    assert await _timer(container, cancelled) is None
    async with container.uow() as uow:  # nothing left to cancel
        assert not await uow.timers.cancel("test.count", cancelled)


async def test_scheduling_again_replaces_the_pending_timer_and_arms_a_fired_one_anew(
    container: Container,
) -> None:
    key = _key("again")
    now = utcnow()
    async with container.uow() as uow:
        await uow.timers.schedule("test.count", key, now + timedelta(hours=1), {"n": 1})
        await uow.commit()
    runner = _runner(container)
    await runner.run_due()
    assert await _fired(container, key) == []  # not due yet
    async with container.uow() as uow:  # same name: one timer, the new time and payload
        await uow.timers.schedule("test.count", key, now, {"n": 2})
        await uow.commit()
    await runner.run_due()
    fired = await _fired(container, key)
    assert [f["payload"] for f in fired] == [{"n": 2}]
    row = await _timer(container, key)
    assert row.status == "done" and row.attempts == 1 and row.fired_at is not None
    async with container.uow() as uow:  # it fired: scheduled again, it fires again
        await uow.timers.schedule("test.count", key, now, {"n": 3})
        await uow.commit()
    row = await _timer(container, key)
    assert (row.status, row.attempts, row.fired_at) == ("pending", 0, None)
    await runner.run_due()
    assert [f["payload"] for f in await _fired(container, key)] == [{"n": 2}, {"n": 3}]
    row = await _timer(container, key)
    assert row.status == "done" and row.payload == {"n": 3}


async def test_a_reschedule_voids_a_claim_taken_before_it(container: Container) -> None:
    key = _key("voided")
    now = utcnow()
    async with container.uow() as uow:
        await uow.timers.schedule("test.count", key, now)
        await uow.commit()
    runner = _runner(container)
    claimed = [t for t in await runner.claim() if t.key == key]
    assert len(claimed) == 1
    async with container.uow() as uow:  # the order was paid meanwhile: push it back
        await uow.timers.schedule("test.count", key, now + timedelta(hours=1))
        await uow.commit()
    assert not await runner.fire(claimed[0])
    assert await _fired(container, key) == []
    row = await _timer(container, key)
    assert row.status == "pending" and row.lease_token is None


async def test_a_failing_handler_rolls_back_with_its_timer_and_is_retried_with_backoff(
    container: Container,
) -> None:
    key = _key("flaky")
    async with container.uow() as uow:
        await uow.timers.schedule("test.flaky", key, utcnow(), {"failures": 2})
        await uow.commit()
    runner = _runner(container, first_backoff=timedelta(0))
    for attempt in (1, 2):
        before = utcnow()
        assert await runner.run_due() == 0
        row = await _timer(container, key)
        assert row.status == "pending" and row.attempts == attempt
        assert row.last_error == f"Flaky: attempt {attempt} fails"
        assert row.due_at >= before and row.lease_token is None
        assert await _fired(container, key) == []  # the handler's write rolled back too
    assert await runner.run_due() >= 1
    row = await _timer(container, key)
    assert row.status == "done" and row.attempts == 3 and row.last_error is None
    assert [f["attempt"] for f in await _fired(container, key)] == [3]


async def test_retries_back_off_and_a_timer_gives_up_after_its_last_attempt(
    container: Container,
) -> None:
    from app.domain.timers.model import MAX_ATTEMPTS, backoff

    assert [backoff(n, timedelta(seconds=5)).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(100) == timedelta(hours=1)
    key = _key("hopeless")
    async with container.uow() as uow:
        await uow.timers.schedule("test.flaky", key, utcnow(), {"failures": 10_000})
        await uow.commit()
    async with container.engine.begin() as conn:  # its last attempt is next
        await conn.execute(sa.update(_t).where(_t.c.key == key).values(attempts=MAX_ATTEMPTS - 1))
    runner = _runner(container)
    before = utcnow()
    await runner.run_due()
    row = await _timer(container, key)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert row.due_at < before  # not moved: it will not be claimed again
    assert await runner.run_due() == 0 and await _fired(container, key) == []


async def test_a_first_failure_waits_its_backoff(container: Container) -> None:
    key = _key("backoff")
    async with container.uow() as uow:
        await uow.timers.schedule("test.flaky", key, utcnow(), {"failures": 1})
        await uow.commit()
    before = utcnow()
    await _runner(container, first_backoff=timedelta(minutes=5)).run_due()
    row = await _timer(container, key)
    assert row.attempts == 1 and row.due_at >= before + timedelta(minutes=5)
