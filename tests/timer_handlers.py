"""Test-only timer kinds, registered in worker processes by
`MINISHOP_WORKER_TIMER_MODULES=tests.timer_handlers` (and in-process by `build_registry`).

Each firing writes an audit entry (`test_timer.fired`, target the timer's key) in the
handler's transaction, so a test counts firings with a query. With `TIMER_TEST_SIGNAL_DIR`
set, a worker process announces itself there when its handlers are registered
(`ready-<pid>`), and a `test.slow` timer announces its first attempt (`slow-<key>`, holding
the pid) and then hangs until the test kills the worker.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface
from app.domain.timers.model import Timer
from app.infra.db.uow import SqlUnitOfWork
from app.worker.timers import TimerRegistry

FIRED = "test_timer.fired"
_ACTOR = Actor(type=ActorType.SYSTEM, id="system:timers", surface=Surface.SYSTEM)


def _signal_dir() -> Path | None:
    where = os.environ.get("TIMER_TEST_SIGNAL_DIR")
    return Path(where) if where else None


def _signal(name: str, text: str) -> None:
    where = _signal_dir()
    if where is not None:
        tmp = where / f".{name}.tmp"
        tmp.write_text(text)
        tmp.rename(where / name)  # whole or absent, never half written


async def count(uow: SqlUnitOfWork, timer: Timer) -> None:
    uow.audit.add(
        AuditEntry.record(
            _ACTOR,
            FIRED,
            target_type="timer",
            target_id=timer.key,
            shop_id=timer.shop_id,
            after={"pid": os.getpid(), "attempt": timer.attempts, "payload": timer.payload},
        )
    )


async def slow(uow: SqlUnitOfWork, timer: Timer) -> None:
    """The first attempt hangs (the test SIGKILLs its worker); a later one fires."""
    if timer.attempts == 1:
        await count(uow, timer)  # written in the transaction the kill will undo
        await uow.flush()
        _signal(f"slow-{timer.key}", str(os.getpid()))
        await asyncio.sleep(3600)
    await count(uow, timer)


class Flaky(Exception):
    pass


async def flaky(uow: SqlUnitOfWork, timer: Timer) -> None:
    """Writes, then fails on its first `payload["failures"]` attempts."""
    await count(uow, timer)
    if timer.attempts <= int(timer.payload.get("failures", 0)):
        await uow.flush()
        raise Flaky(f"attempt {timer.attempts} fails")


def register(registry: TimerRegistry) -> None:
    registry.register("test.count", count)
    registry.register("test.slow", slow)
    registry.register("test.flaky", flaky)
    _signal(f"ready-{os.getpid()}", "")
