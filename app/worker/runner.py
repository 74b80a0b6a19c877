"""The background process: webhook dispatch and durable timers (continuous, a task each),
bulk import/export jobs (polled) and housekeeping (periodic)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import timedelta

from app.container import Container, build_container
from app.domain.catalog.bulk_import import RowValidator
from app.infra.webhooks.dispatcher import Dispatcher
from app.settings import Settings
from app.worker.bulk import bulk_worker
from app.worker.housekeeping import housekeeping
from app.worker.timers import TimerRunner, build_registry

log = logging.getLogger("minishop.worker")


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


def timer_runner(container: Container) -> TimerRunner:
    """The timer runner, with the built-in handlers and those of `worker_timer_modules`."""
    settings = container.settings
    modules = [m.strip() for m in settings.worker_timer_modules.split(",") if m.strip()]
    return TimerRunner(
        container.uow,
        build_registry(modules),
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
    as they come (polling every `worker_poll_seconds`) and housekeeping every `interval`
    seconds. With `once`, one pass of each, then return; with `parent_pid`, stop when that
    process exits. `validator` checks the lines of bulk imports."""
    container = build_container(settings, worker=True)
    bulk = bulk_worker(container, validator)
    timers = timer_runner(container)
    dispatcher = Dispatcher(container.engine, container.cipher, settings)
    stop = asyncio.Event()
    tasks = (
        []
        if once
        else [
            asyncio.create_task(dispatcher.run(stop)),
            asyncio.create_task(timers.run(stop, settings.worker_poll_seconds)),
        ]
    )
    log.info("worker ready", extra={"timer_kinds": sorted(timers.registry.kinds)})
    try:
        next_housekeeping = 0.0
        while True:
            if time.monotonic() >= next_housekeeping:
                pruned = await housekeeping(container.engine)
                pruned |= await dispatcher.prune()
                log.info("housekeeping", extra={"pruned": pruned})
                next_housekeeping = time.monotonic() + interval
            try:
                ran = await bulk.run_all()
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
        await container.close()
