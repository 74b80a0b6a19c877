"""Periodic clean-up: expired keys, sessions, codes and tokens, and old finished timers."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.clock import utcnow
from app.domain.timers.model import TimerStatus
from app.infra.db import tables
from app.infra.db.results import rowcount

#: Fired and failed timers are kept this long (what fired when, and why one failed).
TIMER_RETENTION = timedelta(days=7)


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
        t = tables.timers
        timers = await conn.execute(
            sa.delete(t).where(
                t.c.status != TimerStatus.PENDING, t.c.updated_at < now - TIMER_RETENTION
            )
        )
    return {
        "idempotency_keys": rowcount(keys),
        "sessions": rowcount(sessions),
        "oauth_codes": rowcount(codes),
        "refresh_tokens": rowcount(refresh),
        "timers": rowcount(timers),
    }
