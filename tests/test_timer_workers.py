"""Real `minishop worker` processes firing durable timers: three at once fire 500 due timers
exactly once each, and a worker SIGKILLed mid-handler loses none (another takes its timer
over once the lease runs out). PostgreSQL runs three workers; SQLite, whose guarantee is for
one worker process at a time, runs one (and, after the kill, its successor).

The test kinds come from `tests/timer_handlers.py` (`MINISHOP_WORKER_TIMER_MODULES`); each
worker says it is ready, and the slow handler that it has started, with a file in a signal
directory: the test waits for those, never for a fixed time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.settings import Settings
from tests.live_server import REPO, venv_python
from tests.own_database import own_database
from tests.timer_handlers import FIRED

_t = tables.timers
_a = tables.audit_log

#: A database of this module's own (tests/own_database.py): the worker processes take up
#: only this module's work, none left behind by the tests before on this xdist worker.
database_url, is_postgres, settings, container, app = own_database()


@contextmanager
def workers(
    settings: Settings, signals: Path, n: int, **env: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")},
        "MINISHOP_ENV": "test",
        "MINISHOP_VAR_DIR": str(settings.var_dir),
        "MINISHOP_DATABASE_URL": settings.database_url,
        "MINISHOP_LOG_LEVEL": "WARNING",
        "MINISHOP_WORKER_TIMER_MODULES": "tests.timer_handlers",
        "MINISHOP_WORKER_POLL_SECONDS": "0.05",
        "TIMER_TEST_SIGNAL_DIR": str(signals),
        **env,
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            procs.append(
                subprocess.Popen(
                    [venv_python(), "-m", "app", "worker", "--interval", "3600"],
                    cwd=REPO,
                    env=environ,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


async def _until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _ready(signals: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    async def all_ready() -> bool:
        for p in procs:
            assert p.poll() is None, f"worker {p.pid} exited with {p.returncode}"
        return all((signals / f"ready-{p.pid}").exists() for p in procs)

    await _until(all_ready, 120, "the workers to be ready")


async def _schedule(container: Container, kind: str, keys: list[str]) -> None:
    now = utcnow()
    async with container.uow() as uow:
        for key in keys:
            await uow.timers.schedule(kind, key, now, {"key": key})
        await uow.commit()


async def _done(container: Container, keys: list[str]) -> int:
    async with container.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).where(_t.c.key.in_(keys), _t.c.status == "done")
                )
            ).scalar_one()
        )


async def _firings(container: Container, keys: list[str]) -> tuple[Counter[str], set[int]]:
    """How many times each key fired (committed), and by which worker processes."""
    async with container.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(_a.c.target_id, _a.c.after).where(
                    _a.c.action == FIRED, _a.c.target_id.in_(keys)
                )
            )
        ).all()
    return Counter(r.target_id for r in rows), {r.after["pid"] for r in rows}


async def test_500_due_timers_fire_exactly_once_across_workers(
    container: Container, settings: Settings, is_postgres: bool, tmp_path: Path
) -> None:
    n = 3 if is_postgres else 1
    run = uuid.uuid4().hex[:8]
    keys = [f"many-{run}-{i:03d}" for i in range(500)]
    with workers(settings, tmp_path, n) as procs:
        await _ready(tmp_path, procs)
        await _schedule(container, "test.count", keys)  # due now, while all n are polling

        async def all_done() -> bool:
            return await _done(container, keys) == len(keys)

        await _until(all_done, 180, "every timer to fire")
    fired, pids = await _firings(container, keys)
    assert fired == Counter(dict.fromkeys(keys, 1))
    assert pids <= {p.pid for p in procs}
    if is_postgres:
        assert len(pids) >= 2, "one worker took every timer: the claim was not contended"
    async with container.engine.connect() as conn:
        attempts = (
            await conn.execute(sa.select(_t.c.attempts).where(_t.c.key.in_(keys)))
        ).scalars()
        assert set(attempts) == {1}


async def test_a_worker_killed_mid_handler_loses_no_timer(
    container: Container, settings: Settings, is_postgres: bool, tmp_path: Path
) -> None:
    n = 3 if is_postgres else 1
    run = uuid.uuid4().hex[:8]
    slow = f"slow-{run}"
    others = [f"other-{run}-{i:02d}" for i in range(30)]
    env = {"MINISHOP_TIMER_LEASE_SECONDS": "2"}
    with ExitStack() as stack:
        procs = stack.enter_context(workers(settings, tmp_path, n, **env))
        await _ready(tmp_path, procs)
        started = time.monotonic()
        # The slow one first (earliest due), so it sits in the batch of the worker that
        # claims first, with others behind it that this worker will never reach.
        async with container.uow() as uow:
            await uow.timers.schedule("test.slow", slow, utcnow() - timedelta(seconds=1))
            await uow.commit()
        await _schedule(container, "test.count", others)
        marker = tmp_path / f"slow-{slow}"

        async def slow_started() -> bool:
            return marker.exists()

        await _until(slow_started, 120, "the slow handler to start")
        victim = next(p for p in procs if p.pid == int(marker.read_text()))
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        if not is_postgres:  # SQLite: one worker at a time; its successor takes over
            stack.enter_context(workers(settings, tmp_path, 1, **env))

        async def all_done() -> bool:
            return await _done(container, [slow, *others]) == 1 + len(others)

        await _until(all_done, 180, "every timer to fire after the kill")
        # The slow timer waited for its lease (2 s). The lease runs from the claim's clock
        # reading, which may come a moment before `started`: the worker reads the clock, then
        # waits to begin its claim while this test's transaction (the schedule) holds SQLite's
        # write lock. Hence a margin, well short of the lease.
        assert time.monotonic() - started >= 1.5
    fired, pids = await _firings(container, [slow, *others])
    assert fired == Counter(dict.fromkeys([slow, *others], 1))
    assert victim.pid not in pids  # what the killed handler wrote was rolled back
    async with container.engine.connect() as conn:
        row = (await conn.execute(sa.select(_t).where(_t.c.key == slow))).one()
    assert row.status == "done" and row.attempts == 2  # the killed attempt counted
