"""Repositories of buyers' storefront tokens and of their addresses (account-level rows)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.buyers.model import BuyerRefreshToken, BuyerTokenFamily
from app.domain.clock import utcnow
from app.domain.orders.addresses import Address
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.driver import Exists, OnSessionAndDriver, text_literal
from app.infra.db.paging import fetch_page
from app.infra.db.results import rowcount

_FAMILY_OWNER_SQL = """
SELECT account_id FROM buyer_token_families WHERE id = $1 AND revoked_at IS NULL
"""
#: The family is the account's and live: `_FAMILY_OWNER_SQL`'s answer, compared.
_LIVE_FAMILY_SQL = f"SELECT 1 FROM ({_FAMILY_OWNER_SQL.strip()}) f WHERE f.account_id = $2"  # noqa: S608


def live_buyer_family(family_id: str, account_id: str) -> Exists:
    """A buyer's login (token family) is the account's and not revoked: what `family_owner`
    checks, as a condition another statement holds under (`IdempotencyStore.claim`)."""
    return Exists(
        "buyer_family",
        "text, text",
        _LIVE_FAMILY_SQL,
        (family_id, account_id),
        (text_literal(family_id), text_literal(account_id)),
    )


class SqlBuyerTokenRepository(OnSessionAndDriver):
    async def family_owner(self, family_id: str) -> str | None:
        if self._driver is not None:
            row = await self._driver.fetchrow(_FAMILY_OWNER_SQL, family_id)
            return None if row is None else str(row[0])
        f = tables.buyer_token_families
        res = await self.s.execute(
            sa.select(f.c.account_id).where(f.c.id == family_id, f.c.revoked_at.is_(None))
        )
        return res.scalar_one_or_none()

    def add_family(self, family: BuyerTokenFamily) -> None:
        self.s.add(family)

    async def get_family(self, family_id: str) -> BuyerTokenFamily | None:
        # populate_existing: a revocation written by a statement in this unit of work shows.
        return await self.s.get(BuyerTokenFamily, family_id, populate_existing=True)

    async def revoke_family(self, family_id: str, reason: str) -> None:
        f = tables.buyer_token_families
        await self.s.execute(
            sa.update(f)
            .where(f.c.id == family_id, f.c.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    def add_refresh(self, token: BuyerRefreshToken) -> None:
        self.s.add(token)

    async def get_refresh(self, token_hash: str) -> BuyerRefreshToken | None:
        res = await self.s.execute(
            sa.select(BuyerRefreshToken).where(
                tables.buyer_refresh_tokens.c.token_hash == token_hash
            )
        )
        return res.scalar_one_or_none()

    async def rotate_refresh(self, token_id: str, when: datetime) -> bool:
        r = tables.buyer_refresh_tokens
        res = await self.s.execute(
            sa.update(r)
            .where(r.c.id == token_id, r.c.rotated_at.is_(None))
            .values(rotated_at=when)
            .execution_options(synchronize_session=False)
        )
        return rowcount(res) == 1


class SqlAddressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, address: Address) -> None:
        self.s.add(address)

    async def get(self, account_id: str, address_id: str) -> Address | None:
        a = tables.buyer_addresses
        res = await self.s.execute(
            sa.select(Address).where(a.c.account_id == account_id, a.c.id == address_id)
        )
        return res.scalar_one_or_none()

    async def list_page(self, account_id: str, page: PageRequest) -> Page[Address]:
        a = tables.buyer_addresses
        stmt = sa.select(Address).where(a.c.account_id == account_id)
        return await fetch_page(self.s, stmt, page, [a.c.id])

    async def count(self, account_id: str) -> int:
        a = tables.buyer_addresses
        stmt = sa.select(sa.func.count()).select_from(a).where(a.c.account_id == account_id)
        return int((await self.s.execute(stmt)).scalar_one())

    async def get_default(self, account_id: str) -> Address | None:
        a = tables.buyer_addresses
        res = await self.s.execute(
            sa.select(Address).where(a.c.account_id == account_id, a.c.is_default.is_(True))
        )
        return res.scalar_one_or_none()

    async def newest(self, account_id: str) -> Address | None:
        a = tables.buyer_addresses
        res = await self.s.execute(
            sa.select(Address).where(a.c.account_id == account_id).order_by(a.c.id.desc()).limit(1)
        )
        return res.scalar_one_or_none()

    async def delete(self, address: Address) -> None:
        await self.s.delete(address)
