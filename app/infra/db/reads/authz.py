"""The token's live state behind every provider request: family, grant, app and shop in one
indexed join by the family's primary key."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.authz.model import AppStatus, TokenState
from app.infra.db import tables
from app.infra.db.driver import DriverReader

#: `token_state` for the driver: one indexed join by the family's primary key.
_TOKEN_STATE_SQL = """
SELECT f.revoked_at, g.revoked_at, g.last_used_at, a.status, a.rate_limit_burst,
       a.rate_limit_per_second, f.grant_id, g.shop_id, f.app_id, g.app_id, a.client_id,
       g.scopes, s.suspended_at, s.suspension_reason
FROM token_families f
JOIN grants g ON g.id = f.grant_id
JOIN apps a ON a.id = f.app_id
JOIN shops s ON s.id = g.shop_id
WHERE f.id = $1
"""


def _state(r: Sequence[Any], scopes: frozenset[str]) -> TokenState:
    """A row of either query (the same columns in the same order) as the token's state."""
    return TokenState(
        family_revoked=r[0] is not None,
        grant_revoked=r[1] is not None,
        grant_last_used_at=r[2],
        app_status=AppStatus(r[3]),
        rate_limit_burst=r[4],
        rate_limit_per_second=r[5],
        grant_id=r[6],
        shop_id=r[7],
        app_id=r[8],
        grant_app_id=r[9],
        client_id=r[10],
        grant_scopes=scopes,
        shop_suspended=r[12] is not None,
        shop_suspension_reason=r[13],
    )


class SqlTokenReads:
    def __init__(self, session: Callable[[], AsyncSession], reader: DriverReader) -> None:
        # The session is the unit of work's, made on first use: on PostgreSQL the read
        # needs none.
        self._session = session
        self.reader = reader

    @property
    def s(self) -> AsyncSession:
        return self._session()

    async def token_state(self, family_id: str) -> TokenState | None:
        """Every provider request asks this: on PostgreSQL one prepared statement through the
        driver, outside any transaction unless the request has already begun one."""
        if self.reader.direct:
            r = await self.reader.fetchrow(_TOKEN_STATE_SQL, family_id)
            if r is None:
                return None
            return _state(r, frozenset(r[11].split()))  # the raw SpaceList column
        f, g, a, s = tables.token_families, tables.grants, tables.apps, tables.shops
        stmt = (
            sa.select(
                f.c.revoked_at.label("family_revoked_at"),
                g.c.revoked_at.label("grant_revoked_at"),
                g.c.last_used_at,
                a.c.status,
                a.c.rate_limit_burst,
                a.c.rate_limit_per_second,
                f.c.grant_id,
                g.c.shop_id,
                f.c.app_id,
                g.c.app_id.label("grant_app_id"),
                a.c.client_id,
                g.c.scopes,
                s.c.suspended_at,
                s.c.suspension_reason,
            )
            .select_from(
                f.join(g, g.c.id == f.c.grant_id)
                .join(a, a.c.id == f.c.app_id)
                .join(s, s.c.id == g.c.shop_id)
            )
            .where(f.c.id == family_id)
        )
        row = (await self.s.execute(stmt)).first()
        if row is None:
            return None
        return _state(row, frozenset(row.scopes))
