"""The background process: webhook dispatch and durable timers (continuous, a task each),
housekeeping (periodic), and the bulk process it starts for bulk import/export jobs
(`app.worker.processes.BulkProcess` running `run_bulk_jobs`)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import os
from datetime import timedelta

from app.container import Container, build_container
from app.domain.catalog.bulk_import import RowValidator
from app.infra.payments.sandbox import SandboxNotifier
from app.infra.webhooks.dispatcher import Dispatcher
from app.settings import Settings
from app.worker.bulk import BulkWorker, bulk_worker
from app.worker.housekeeping import housekeeping
from app.worker.processes import (
    BulkProcess,
    bulk_command,
    parent_gone,
    sleep_unless_stopped,
    stopped_by_signals,
)
from app.worker.timers import TimerRunner, build_registry

log = logging.getLogger("minishop.worker")

#: One chunk's unit of work at a time: the bulk jobs' container has a small pool of its own.
BULK_POOL_SIZE = 2


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
    """Send webhooks and fire due timers continuously (a task each), run housekeeping every
    `interval` seconds, and keep a bulk process running queued bulk jobs (`BulkProcess`);
    until SIGTERM or SIGINT, or, with `parent_pid`, until that process exits.

    With `once`, one pass of each, then return: the bulk jobs queued now run in this process
    first (`validator` checks the lines of their imports; the bulk process has its own)."""
    container = build_container(settings, worker=True)
    timers = timer_runner(container)
    dispatcher = Dispatcher(container.engine, container.cipher, settings)
    try:
        if once:
            await _housekeeping(container, dispatcher)
            await run_bulk_jobs(settings, validator, once=True)
            await dispatcher.run_once()
            await timers.run_due()
            return
        stop = asyncio.Event()
        bulk = BulkProcess(bulk_command(os.getpid()))
        tasks = [
            asyncio.create_task(dispatcher.run(stop)),
            asyncio.create_task(timers.run(stop, settings.worker_poll_seconds)),
            asyncio.create_task(bulk.run(stop)),
        ]
        log.info("worker ready", extra={"timer_kinds": sorted(timers.registry.kinds)})
        try:
            with stopped_by_signals(stop):
                while not stop.is_set():
                    await _housekeeping(container, dispatcher)
                    await sleep_unless_stopped(interval, stop, parent_pid)
                    if parent_gone(parent_pid):
                        log.info(
                            "the serving process is gone; stopping", extra={"parent": parent_pid}
                        )
                        break
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    finally:
        await dispatcher.close()
        await timers.registry.close()
        await container.close()


async def _housekeeping(container: Container, dispatcher: Dispatcher) -> None:
    pruned = await housekeeping(
        container.engine,
        buyer_token_retention=timedelta(days=container.settings.buyer_token_retention_days),
    )
    pruned |= await dispatcher.prune()
    log.info("housekeeping", extra={"pruned": pruned})


async def run_bulk_jobs(
    settings: Settings,
    validator: RowValidator,
    *,
    once: bool = False,
    parent_pid: int | None = None,
) -> None:
    """The bulk process (`minishop bulk-worker`, started by the worker): run the queued bulk
    jobs, then look again every `worker_poll_seconds`, each job claimed with a lease
    (`BulkWorker`); `validator` checks the lines of imports. Stops on SIGTERM or SIGINT, or
    once `parent_pid` is gone, mid-job too: the chunk being written rolls back, and the job
    is taken over once its heartbeat is stale, at the next uncommitted chunk. With `once`,
    runs the jobs queued now, then returns."""
    container = build_container(
        settings.model_copy(update={"db_pool_size": BULK_POOL_SIZE}), worker=True
    )
    # Label batches print PDFs in this process: load the PDF library now, at start-up, not
    # in the middle of the first batch.
    importlib.import_module("app.infra.logistics.labels")
    bulk = bulk_worker(container, validator)
    try:
        if once:
            await _run_queued(bulk)
            return
        stop = asyncio.Event()
        with stopped_by_signals(stop):
            jobs = asyncio.create_task(_poll(bulk, settings.worker_poll_seconds))
            try:
                await sleep_unless_stopped(math.inf, stop, parent_pid)
                if parent_gone(parent_pid):
                    log.info("the worker is gone; stopping", extra={"parent": parent_pid})
            finally:
                jobs.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await jobs
    finally:
        await container.close()


async def _run_queued(bulk: BulkWorker) -> None:
    try:
        ran = await bulk.run_all()
    except Exception:
        # The database is unreachable, say: keep the process, try again next poll.
        log.exception("bulk jobs could not be claimed")
        ran = 0
    if ran:
        log.info("bulk jobs run", extra={"jobs": ran})


async def _poll(bulk: BulkWorker, seconds: float) -> None:
    while True:
        await _run_queued(bulk)
        await asyncio.sleep(seconds)
