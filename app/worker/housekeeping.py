"""Periodic clean-up: expired keys, sessions, codes and tokens (the providers' and the
buyers'), and old finished timers."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.clock import utcnow
from app.domain.timers.model import TimerStatus
from app.infra.db import tables
from app.infra.db.results import rowcount
from app.infra.db.tenancy import cross_shop

#: Fired and failed timers are kept this long (what fired when, and why one failed).
TIMER_RETENTION = timedelta(days=7)


#: Revoked or spent buyer logins are kept this long unless the settings say otherwise
#: (`buyer_token_retention_days`).
BUYER_TOKEN_RETENTION = timedelta(days=7)


def _dead_buyer_families(cutoff: datetime) -> sa.Select[tuple[str]]:
    """Buyer token families nobody can use any more since before `cutoff`: revoked then, or
    made before it with every refresh token expired by then (their access tokens, minted
    with those refresh tokens and shorter-lived, are long expired too)."""
    bf, brt = tables.buyer_token_families, tables.buyer_refresh_tokens
    live_token = sa.exists().where(brt.c.family_id == bf.c.id, brt.c.expires_at >= cutoff)
    return sa.select(bf.c.id).where(
        sa.or_(bf.c.revoked_at < cutoff, sa.and_(bf.c.created_at < cutoff, ~live_token))
    )


async def _prune_buyer_tokens(conn: AsyncConnection, cutoff: datetime) -> tuple[int, int]:
    """Dead families with all their refresh tokens, then the refresh tokens of live families
    expired before `cutoff` (rotated ones among them: a reuse that late is refused as
    unknown rather than revoking the family). A family is dead only once none of its tokens
    can be exchanged, so no refresh adds a token to it meanwhile."""
    bf, brt = tables.buyer_token_families, tables.buyer_refresh_tokens
    dead = _dead_buyer_families(cutoff)
    tokens = rowcount(await conn.execute(sa.delete(brt).where(brt.c.family_id.in_(dead))))
    tokens += rowcount(await conn.execute(sa.delete(brt).where(brt.c.expires_at < cutoff)))
    families = rowcount(await conn.execute(sa.delete(bf).where(bf.c.id.in_(dead))))
    return families, tokens


async def housekeeping(
    container_engine: AsyncEngine, *, buyer_token_retention: timedelta = BUYER_TOKEN_RETENTION
) -> dict[str, int]:
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
        buyer_families, buyer_tokens = await _prune_buyer_tokens(conn, now - buyer_token_retention)
        j, f, fp = tables.bulk_jobs, tables.bulk_job_files, tables.bulk_job_file_parts
        expired = sa.select(j.c.shop_id, j.c.id).where(j.c.expires_at < now)
        await conn.execute(
            cross_shop(
                sa.delete(fp).where(sa.tuple_(fp.c.shop_id, fp.c.job_id).in_(expired)),
                "expired_files",
            )
        )
        files = await conn.execute(
            cross_shop(
                sa.delete(f).where(sa.tuple_(f.c.shop_id, f.c.job_id).in_(expired)),
                "expired_files",
            )
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
        "buyer_token_families": buyer_families,
        "buyer_refresh_tokens": buyer_tokens,
        "timers": rowcount(timers),
        "expired_files": rowcount(files),
    }
