"""Bulk jobs run off the worker's event loop: a job busy for a while does not hold back
webhook dispatch and timers, which share that loop."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from app.api.schemas.bulk import SchemaRowValidator
from app.settings import Settings
from app.worker import run_worker
from app.worker.bulk import BulkWorker
from app.worker.runner import GIL_SWITCH_SECONDS

BUSY_SECONDS = 0.6


async def test_a_busy_bulk_job_does_not_block_the_workers_loop(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran_on: list[threading.Thread] = []
    switch: list[float] = []
    before = sys.getswitchinterval()

    async def busy_run_all(self: BulkWorker) -> int:
        # What parsing a large upload does to a loop: no await for a long while.
        ran_on.append(threading.current_thread())
        switch.append(sys.getswitchinterval())
        time.sleep(BUSY_SECONDS)
        return 0

    monkeypatch.setattr(BulkWorker, "run_all", busy_run_all)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticks = asyncio.create_task(ticker())
    try:
        await run_worker(settings, SchemaRowValidator(), once=True, interval=3600)
    finally:
        done.set()
        await ticks
    assert ran_on and ran_on[0] is not threading.current_thread()
    assert ran_on[0].name == "minishop-bulk"
    # The loop went on ticking while the job was busy (a blocked loop shows one long gap).
    assert sum(gaps) >= BUSY_SECONDS
    assert max(gaps) < BUSY_SECONDS / 2, max(gaps)
    # The busy thread hands the GIL over sooner while the worker runs, and only then.
    assert switch == [GIL_SWITCH_SECONDS]
    assert sys.getswitchinterval() == before
