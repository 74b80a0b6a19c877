"""Bulk jobs run in a process of their own, which `minishop worker` starts, watches and stops:
webhook dispatch goes on while that process is stuck mid-job, a bulk process that dies is
replaced (its job taken over, nothing lost) and none outlives its worker."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.container import Container
from app.infra.db import tables
from app.settings import Settings
from app.worker.processes import BULK_NICENESS
from tests.bulk_support import CSV, product_lines, to_csv, upload
from tests.event_support import product_updated
from tests.live_server import REPO, children, running, venv_python, wait_for_exit
from tests.own_database import own_database
from tests.product_support import provider
from tests.webhook_support import receiver, subscribe

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")

_j = tables.bulk_jobs

#: A database of this module's own (tests/own_database.py): the worker processes take up
#: only this module's work, none left behind by the tests before on this xdist worker.
database_url, is_postgres, settings, container, app = own_database()


@contextmanager
def worker(settings: Settings, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`minishop worker` in a process group of its own (with its bulk process)."""
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")},
        "MINISHOP_ENV": "test",
        "MINISHOP_VAR_DIR": str(settings.var_dir),
        "MINISHOP_DATABASE_URL": settings.database_url,
        "MINISHOP_WEBHOOK_ALLOW_PRIVATE": "true",
        "MINISHOP_WEBHOOK_ALLOWED_PORTS": "1024-65535",
        "MINISHOP_WORKER_POLL_SECONDS": "0.1",
        "MINISHOP_LOG_LEVEL": "INFO",
        **env,
    }
    log = settings.var_dir / f"worker-{os.urandom(4).hex()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [venv_python(), "-m", "app", "worker", "--interval", "3600"],
            cwd=REPO,
            env=environ,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    except BaseException as e:
        # What the worker and its bulk process said: why a wait timed out, if they know.
        e.add_note(f"worker log ({log}):\n{log.read_text(errors='replace')[-4000:]}")
        raise
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


async def _until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return found


async def _bulk_process(worker_pid: int, other_than: int | None = None) -> int:
    """The worker's one bulk process (`minishop bulk-worker`), once it has started."""

    async def started() -> int | None:
        found = [c for c in children(worker_pid) if c != other_than and running(c)]
        assert len(found) <= 1, found
        return found[0] if found else None

    return int(await _until(started, "the worker's bulk process"))


async def _job(container: Container, shop_id: str, job_id: str) -> Any:
    async with container.engine.connect() as conn:
        q = sa.select(_j).where(_j.c.shop_id == shop_id, _j.c.id == job_id)
        return (await conn.execute(q)).one()


def _holds_no_sqlite_lock(settings: Settings) -> bool:
    """Whether dispatch could run now (SQLite: the frozen process holds no transaction, all
    of which take the write lock, nor any lock of the shared WAL index that readers need,
    as a connection opening or a checkpoint may briefly hold). A fresh connection, as the
    worker's pool may open, writes and reads the tables dispatch uses, without waiting.
    PostgreSQL: dispatch takes no lock a bulk job holds."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        return True
    try:
        probe = sqlite3.connect(str(url.database), timeout=0, isolation_level=None)
    except sqlite3.OperationalError:
        return False
    try:
        probe.execute("BEGIN IMMEDIATE")
        for table in ("outbox_events", "webhook_deliveries", "webhook_endpoints"):
            probe.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


async def _freeze(pid: int, settings: Settings) -> None:
    """SIGSTOP `pid` at a moment it is not in a transaction: stuck mid-job, it never yields,
    the worst a job could do to a loop or a GIL it shared with dispatch."""
    for _ in range(500):
        os.kill(pid, signal.SIGSTOP)
        if _holds_no_sqlite_lock(settings):
            return
        os.kill(pid, signal.SIGCONT)
        await asyncio.sleep(0.002)
    raise AssertionError("the bulk process was always in a transaction")


async def test_dispatch_goes_on_while_the_bulk_process_is_stuck_and_a_dead_one_is_replaced(
    client: httpx.AsyncClient, container: Container, settings: Settings
) -> None:
    p = await provider(client)
    # Long enough (3 000 lines in 5-line chunks) to be seen under way on a busy machine.
    rows = [r for i in range(1500) for r in product_lines(f"bp{i:04d}", sizes=("S", "M"))]
    env = {
        # Small chunks: many commits, so the job is still running when it is frozen and killed.
        "MINISHOP_BULK_CHUNK_ROWS": "5",
        # The job of a killed bulk process is taken over 2 s after its last heartbeat.
        "MINISHOP_BULK_STALE_SECONDS": "2",
    }
    with receiver() as rx, worker(settings, **env) as proc:
        await subscribe(client, p.auth.app, rx.url, ["product.*"])
        bulk = await _bulk_process(proc.pid)
        # Queued once the bulk process is up and watched: queued before, a fast machine saw
        # the whole job done before the first look.
        r = await upload(p, to_csv(rows), CSV)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]

        async def importing() -> Any:
            job = await _job(container, p.shop_id, job_id)
            return job.status == "running" and job.processed >= 20 and job

        job = await _until(importing, "the import to be under way")
        # The job runs in the bulk process, not in the worker, and yields the CPU to it.
        assert f":{bulk}:" in job.worker_id and f":{proc.pid}:" not in job.worker_id
        niceness = os.getpriority(os.PRIO_PROCESS, bulk) - os.getpriority(os.PRIO_PROCESS, proc.pid)
        assert niceness == BULK_NICENESS

        await _freeze(bulk, settings)
        # What it sent before it stopped (PostgreSQL: a COMMIT already on the wire) lands a
        # moment later: the count it is frozen at is the one that then holds still.
        frozen_at = (await _job(container, p.shop_id, job_id)).processed
        while True:
            await asyncio.sleep(0.3)
            now = (await _job(container, p.shop_id, job_id)).processed
            if now == frozen_at:
                break
            frozen_at = now
        async with container.uow() as uow:
            for i in range(3):
                await uow.outbox.add(product_updated(p.shop_id, f"prod_stuck{i}"))
            await uow.commit()

        async def delivered() -> bool:
            return len(rx.received) >= 3

        await _until(delivered, "the deliveries while the bulk process is stuck", 60)
        stuck = await _job(container, p.shop_id, job_id)
        assert (stuck.status, stuck.processed) == ("running", frozen_at)
        assert {b["data"]["product_id"] for b in rx.bodies()} == {
            f"prod_stuck{i}" for i in range(3)
        }

        # Killed mid-job, the bulk process is replaced; the new one takes the job over.
        os.kill(bulk, signal.SIGKILL)
        replacement = await _bulk_process(proc.pid, other_than=bulk)

        async def finished() -> Any:
            job = await _job(container, p.shop_id, job_id)
            return job.status not in ("queued", "running") and job

        job = await _until(finished, "the job to finish")
        assert (job.status, job.attempts) == ("succeeded", 2)
        assert f":{replacement}:" in job.worker_id
        assert (job.processed, job.succeeded, job.failed) == (len(rows), len(rows), 0)
        assert (job.products_created, job.skus_created) == (len(rows) // 2, len(rows))
        async with container.engine.connect() as conn:
            skus = await conn.execute(
                sa.select(sa.func.count()).where(tables.skus.c.shop_id == p.shop_id)
            )
            assert skus.scalar_one() == len(rows)  # no line applied twice

        # Stopped (SIGTERM, as `serve` or docker stops it), the worker stops its bulk process.
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
        assert not running(replacement), "the bulk process outlived its worker"


async def test_the_bulk_process_exits_when_its_worker_is_killed(settings: Settings) -> None:
    with worker(settings) as proc:
        bulk = await _bulk_process(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the worker only: no chance to stop its child
        proc.wait(timeout=10)
        assert await asyncio.to_thread(wait_for_exit, bulk, 30)
        assert not running(bulk)
