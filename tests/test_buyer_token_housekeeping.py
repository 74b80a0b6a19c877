"""`minishop worker --once` prunes buyers' storefront logins nobody can use any more: token
families revoked, or whose refresh tokens all expired, longer ago than
`MINISHOP_BUYER_TOKEN_RETENTION_DAYS`, with their refresh tokens, and expired refresh tokens
of live families; it keeps everything younger, and a logged-in buyer stays logged in.

On a database of the module's own: the worker process takes up whatever earlier tests left
queued on the shared one (see tests/own_database.py)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.settings import Settings
from tests import factories as f
from tests.own_database import own_database
from tests.test_cli import env_for, run_cli

database_url, is_postgres, settings, container, app = own_database()

RETENTION_DAYS = 3


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


async def _family(
    conn: AsyncConnection,
    account_id: str,
    *,
    created_at: datetime,
    revoked_at: datetime | None = None,
    token_expiries: tuple[datetime, ...] = (),
) -> tuple[str, list[str]]:
    """A family of `account_id` with one refresh token per expiry (all but the last rotated)."""
    family = _id("bfam")
    await conn.execute(
        sa.insert(tables.buyer_token_families).values(
            id=family,
            account_id=account_id,
            created_at=created_at,
            revoked_at=revoked_at,
            revoked_reason="logout" if revoked_at else None,
        )
    )
    tokens = []
    for i, expires_at in enumerate(token_expiries):
        token = _id("brt")
        await conn.execute(
            sa.insert(tables.buyer_refresh_tokens).values(
                id=token,
                token_hash=secrets.token_hex(32),
                family_id=family,
                created_at=created_at,
                expires_at=expires_at,
                rotated_at=created_at if i < len(token_expiries) - 1 else None,
            )
        )
        tokens.append(token)
    return family, tokens


async def _left(container: Container) -> tuple[set[str], set[str]]:
    bf, brt = tables.buyer_token_families, tables.buyer_refresh_tokens
    async with container.engine.connect() as conn:
        families = set((await conn.execute(sa.select(bf.c.id))).scalars())
        tokens = set((await conn.execute(sa.select(brt.c.id))).scalars())
    return families, tokens


async def test_worker_once_prunes_dead_buyer_logins_and_keeps_live_ones(
    settings: Settings, container: Container, client: httpx.AsyncClient
) -> None:
    b = await f.buyer(client)
    now = utcnow()
    long_ago = now - timedelta(days=RETENTION_DAYS + 1)
    lately = now - timedelta(days=RETENTION_DAYS - 1)
    month_ago = now - timedelta(days=40)
    async with container.engine.begin() as conn:
        # Gone: revoked before the retention; spent (every token expired) before it.
        revoked_old = await _family(
            conn,
            b.id,
            created_at=month_ago,
            revoked_at=long_ago,
            token_expiries=(now + timedelta(days=9),),
        )
        spent_old = await _family(
            conn,
            b.id,
            created_at=month_ago,
            token_expiries=(long_ago - timedelta(days=1), long_ago),
        )
        # Kept: revoked lately; spent lately; live, with a token of its expired long ago.
        revoked_lately = await _family(
            conn, b.id, created_at=month_ago, revoked_at=lately, token_expiries=(lately,)
        )
        spent_lately = await _family(conn, b.id, created_at=month_ago, token_expiries=(lately,))
        live = await _family(
            conn, b.id, created_at=month_ago, token_expiries=(long_ago, now + timedelta(days=20))
        )
    families_before, tokens_before = await _left(container)

    done = run_cli(
        {**env_for(settings), "MINISHOP_BUYER_TOKEN_RETENTION_DAYS": str(RETENTION_DAYS)},
        "worker",
        "--once",
    )
    assert done.returncode == 0, done.stderr

    families, tokens = await _left(container)
    gone_families = {revoked_old[0], spent_old[0]}
    gone_tokens = {*revoked_old[1], *spent_old[1], live[1][0]}
    assert families == families_before - gone_families
    assert tokens == tokens_before - gone_tokens
    assert {revoked_lately[0], spent_lately[0], live[0]} <= families
    assert {*revoked_lately[1], *spent_lately[1], live[1][1]} <= tokens

    # The buyer logged in through the token endpoint is untouched: its access token works,
    # its refresh token rotates.
    r = await client.get("/v1/storefront/addresses", headers=b.h)
    assert r.status_code == 200, r.text
    r = await client.post(
        "/v1/storefront/token",
        json={"grant_type": "refresh_token", "refresh_token": b.refresh_token},
    )
    assert r.status_code == 200, r.text

    # Nothing left to prune: a second pass removes nothing.
    families_before, tokens_before = await _left(container)
    done = run_cli(
        {**env_for(settings), "MINISHOP_BUYER_TOKEN_RETENTION_DAYS": str(RETENTION_DAYS)},
        "worker",
        "--once",
    )
    assert done.returncode == 0, done.stderr
    assert await _left(container) == (families_before, tokens_before)
