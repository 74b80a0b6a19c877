"""The worker prunes OAuth artefacts nobody can use any more."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa

from app.domain.clock import utcnow
from app.infra.db import tables
from app.worker import housekeeping
from tests.oauth_support import authorized, get_code


async def test_expired_codes_and_refresh_tokens_are_pruned(
    client: httpx.AsyncClient, container
) -> None:  # type: ignore[no-untyped-def]
    auth = await authorized(client)
    fresh_code, _ = await get_code(auth.merchant, auth.app, shop_id=auth.shop["id"])
    old = utcnow() - timedelta(days=2)
    rt = tables.refresh_tokens
    async with container.engine.begin() as conn:
        family = (
            await conn.execute(
                sa.select(tables.token_families.c.id).where(
                    tables.token_families.c.shop_id == auth.shop["id"]
                )
            )
        ).scalar_one()
        await conn.execute(
            sa.update(tables.oauth_codes)
            .where(tables.oauth_codes.c.used_at.is_not(None))
            .where(tables.oauth_codes.c.shop_id == auth.shop["id"])
            .values(expires_at=old)
        )
        await conn.execute(sa.update(rt).where(rt.c.family_id == family).values(expires_at=old))
    pruned = await housekeeping(container.engine)
    assert pruned["oauth_codes"] >= 1 and pruned["refresh_tokens"] >= 1
    async with container.engine.connect() as conn:
        codes = (
            await conn.execute(
                sa.select(sa.func.count()).where(tables.oauth_codes.c.shop_id == auth.shop["id"])
            )
        ).scalar_one()
        left = (
            await conn.execute(sa.select(sa.func.count()).where(rt.c.family_id == family))
        ).scalar_one()
    assert codes == 1 and left == 0  # the unused, unexpired code stays
    del fresh_code
