"""The background process: webhook dispatch (continuous, its own task), bulk import/export
jobs (polled) and housekeeping (periodic)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.v1.schemas.bulk import SchemaRowValidator
from app.container import Container, build_container
from app.domain.clock import utcnow
from app.infra.bulk_worker import BulkWorker
from app.infra.db import tables
from app.infra.webhooks.dispatcher import Dispatcher
from app.settings import Settings

log = logging.getLogger("minishop.worker")


async def housekeeping(container_engine: AsyncEngine) -> dict[str, int]:
    now = utcnow()
    async with container_engine.begin() as conn:
        keys = await conn.execute(
            sa.delete(tables.idempotency_keys).where(tables.idempotency_keys.c.expires_at < now)
        )
        sessions = await conn.execute(
            sa.delete(tables.sessions).where(tables.sessions.c.expires_at < now)
        )
        # Codes live minutes; keep a day of them so a late replay still finds (and revokes)
        # the family it started.
        codes = await conn.execute(
            sa.delete(tables.oauth_codes).where(
                tables.oauth_codes.c.expires_at < now - timedelta(days=1)
            )
        )
        refresh = await conn.execute(
            sa.delete(tables.refresh_tokens).where(tables.refresh_tokens.c.expires_at < now)
        )
    return {
        "idempotency_keys": int(keys.rowcount or 0),
        "sessions": int(sessions.rowcount or 0),
        "oauth_codes": int(codes.rowcount or 0),
        "refresh_tokens": int(refresh.rowcount or 0),
    }


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


def bulk_worker(
    container: Container,
    *,
    worker_id: str | None = None,
    stale_after: timedelta | None = None,
    chunk_rows: int | None = None,
) -> BulkWorker:
    """The bulk job runner, with the public schemas as the row validator."""
    settings = container.settings
    return BulkWorker(
        container.uow,
        SchemaRowValidator(),
        chunk_rows=chunk_rows or settings.bulk_chunk_rows,
        stale_after=stale_after or timedelta(seconds=settings.bulk_stale_seconds),
        worker_id=worker_id,
    )


async def run_worker(
    settings: Settings,
    *,
    once: bool = False,
    interval: float = 60.0,
    parent_pid: int | None = None,
) -> None:
    """Send webhooks continuously (a task of its own), run queued bulk jobs as they come
    (polling every `worker_poll_seconds`) and housekeeping every `interval` seconds. With
    `once`, one pass of each, then return; with `parent_pid`, stop when that process exits."""
    container = build_container(settings, worker=True)
    bulk = bulk_worker(container)
    dispatcher = Dispatcher(container.engine, container.cipher, settings)
    stop = asyncio.Event()
    sender = None if once else asyncio.create_task(dispatcher.run(stop))
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
                return
            if not await _sleep_unless_orphaned(settings.worker_poll_seconds, parent_pid):
                log.info("the serving process is gone; stopping", extra={"parent": parent_pid})
                return
    finally:
        stop.set()
        if sender is not None:
            await sender
        await dispatcher.close()
        await container.close()
