"""The background process: housekeeping today; webhook dispatch and bulk jobs join it later."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.container import build_container
from app.domain.clock import utcnow
from app.infra.db import tables
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


async def run_worker(settings: Settings, *, once: bool = False, interval: float = 60.0) -> None:
    container = build_container(settings)
    try:
        while True:
            pruned = await housekeeping(container.engine)
            log.info("housekeeping", extra={"pruned": pruned})
            if once:
                return
            await asyncio.sleep(interval)
    finally:
        await container.close()
