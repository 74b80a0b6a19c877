"""The background process: webhook dispatch and durable timers (continuous, a task each),
bulk import/export jobs (polled) and housekeeping (periodic)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from app.container import Container, build_container
from app.domain.catalog.bulk_import import RowValidator
from app.infra.payments.sandbox import SandboxNotifier
from app.infra.webhooks.dispatcher import Dispatcher
from app.settings import Settings
from app.worker.bulk import bulk_worker
from app.worker.housekeeping import housekeeping
from app.worker.timers import TimerRunner, build_registry

log = logging.getLogger("minishop.worker")

T = TypeVar("T")

BULK_POOL_SIZE = 2
#: How long a thread that wants the GIL waits before the running one must hand it over
#: (Python's default is 5 ms). While a bulk job keeps its thread busy, every wake-up of the
#: worker's loop (a NOTIFY, an HTTP answer, a timer) can wait this long; 1 ms took the p99 of
#: a 5 ms ticker on the loop during a 20 000-SKU import from 90 ms to 34 ms.
GIL_SWITCH_SECONDS = 0.001


#: How often a worker started by `serve --with-worker` checks that its parent is still alive.
PARENT_POLL_SECONDS = 0.5


def parent_gone(parent_pid: int | None) -> bool:
    """A worker started by `serve` is re-parented when `serve` dies, however it died."""
    return parent_pid is not None and os.getppid() != parent_pid


async def _sleep_unless_orphaned(seconds: float, parent_pid: int | None) -> bool:
    """Sleep `seconds`; return False early when the parent process is gone."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if parent_gone(parent_pid):
            return False
        await asyncio.sleep(min(left, PARENT_POLL_SECONDS))
    return not parent_gone(parent_pid)


class LoopThread:
    """An event loop of its own, run by a daemon thread.

    Bulk jobs run here, with their own container (engine and connections: a driver
    connection belongs to the loop that opened it). Parsing an upload and validating and
    writing its chunks is CPU work of seconds for a large file; on the worker's loop it held
    webhook dispatch and timers back for as long (`webhook_latency_during_bulk_import` in
    `bench/webhooks.py`). On this loop the worker's loop is only ever waiting for the GIL,
    which a busy thread hands over every `sys.getswitchinterval()`.
    """

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on this thread's loop and wait for it without blocking the caller's
        loop; cancelling the caller cancels `coro`."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def timer_runner(container: Container) -> TimerRunner:
    """The timer runner, with the built-in handlers (the sandbox gateway's notifier posting
    to the service's public base URL among them) and those of `worker_timer_modules`."""
    settings = container.settings
    modules = [m.strip() for m in settings.worker_timer_modules.split(",") if m.strip()]
    notifier = SandboxNotifier.over_http(
        settings.public_base_url,
        container.keys.sandbox_payment_secret,
        timeout=settings.webhook_timeout_seconds,
    )
    return TimerRunner(
        container.uow,
        build_registry(modules, sandbox=notifier),
        lease=timedelta(seconds=settings.timer_lease_seconds),
    )


async def run_worker(
    settings: Settings,
    validator: RowValidator,
    *,
    once: bool = False,
    interval: float = 60.0,
    parent_pid: int | None = None,
) -> None:
    """Send webhooks and fire due timers continuously (a task each), run queued bulk jobs
    as they come (polling every `worker_poll_seconds`, on a `LoopThread`) and housekeeping
    every `interval` seconds. With `once`, one pass of each, then return; with `parent_pid`,
    stop when that process exits. `validator` checks the lines of bulk imports."""
    container = build_container(settings, worker=True)
    # One chunk's unit of work at a time: a small pool of its own.
    bulk_container = build_container(
        settings.model_copy(update={"db_pool_size": BULK_POOL_SIZE}), worker=True
    )
    bulk = bulk_worker(bulk_container, validator)
    timers = timer_runner(container)
    dispatcher = Dispatcher(container.engine, container.cipher, settings)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    # Process-wide, so set only once nothing before the `finally` that restores it can fail.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    bulk_loop = LoopThread("minishop-bulk")
    try:
        if not once:
            tasks += [
                asyncio.create_task(dispatcher.run(stop)),
                asyncio.create_task(timers.run(stop, settings.worker_poll_seconds)),
            ]
        log.info("worker ready", extra={"timer_kinds": sorted(timers.registry.kinds)})
        next_housekeeping = 0.0
        while True:
            if time.monotonic() >= next_housekeeping:
                pruned = await housekeeping(container.engine)
                pruned |= await dispatcher.prune()
                log.info("housekeeping", extra={"pruned": pruned})
                next_housekeeping = time.monotonic() + interval
            try:
                ran = await bulk_loop.run(bulk.run_all())
            except Exception:
                # The database is unreachable, say: keep the process, try again next poll.
                log.exception("bulk jobs could not be claimed")
                ran = 0
            if ran:
                log.info("bulk jobs run", extra={"jobs": ran})
            if once:
                await dispatcher.run_once()
                await timers.run_due()
                return
            if not await _sleep_unless_orphaned(settings.worker_poll_seconds, parent_pid):
                log.info("the serving process is gone; stopping", extra={"parent": parent_pid})
                return
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await dispatcher.close()
        await timers.registry.close()
        await container.close()
        try:
            await bulk_loop.run(bulk_container.close())
        finally:
            bulk_loop.close()
            sys.setswitchinterval(switch_interval)
