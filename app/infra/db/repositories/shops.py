"""Repositories of shops, their qualification files and their members."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Member, Qualification, Shop, ShopStatus, SubjectType
from app.domain.shops.permissions import Role
from app.infra.db import tables
from app.infra.db.locks import locked
from app.infra.db.paging import fetch_page
from app.infra.db.tenancy import cross_shop, select


class SqlShopRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, shop: Shop) -> None:
        self.s.add(shop)

    async def get(self, shop_id: str) -> Shop | None:
        return await self.s.get(Shop, shop_id)

    async def count_owned(self, account_id: str, subject_types: tuple[SubjectType, ...]) -> int:
        s, m = tables.shops, tables.shop_members
        stmt = (
            sa.select(sa.func.count())
            .select_from(m.join(s, s.c.id == m.c.shop_id))
            .where(
                m.c.account_id == account_id,
                m.c.role == Role.OWNER,
                s.c.subject_type.in_(subject_types),
            )
        )
        stmt = cross_shop(stmt, "account_shops")
        return int((await self.s.execute(stmt)).scalar_one())

    async def list_for_account(
        self, account_id: str, page: PageRequest
    ) -> Page[tuple[Shop, Member]]:
        m = tables.shop_members
        stmt = (
            sa.select(Shop, Member)
            .join(Member, tables.shops.c.id == m.c.shop_id)
            .where(m.c.account_id == account_id)
        )
        stmt = cross_shop(stmt, "account_shops")
        return await fetch_page(self.s, stmt, page, [tables.shops.c.id], key=lambda r: (r[0].id,))

    async def list_by_status(
        self, status: ShopStatus, page: PageRequest, *, suspended: bool | None = None
    ) -> Page[Shop]:
        s = tables.shops
        stmt = sa.select(Shop).where(s.c.status == status)
        if suspended is not None:
            stmt = stmt.where(
                s.c.suspended_at.is_not(None) if suspended else s.c.suspended_at.is_(None)
            )
        return await fetch_page(self.s, stmt, page, [s.c.id])

    async def review_queue(self, page: PageRequest) -> Page[Shop]:
        """Oldest submission first, on the (status, submitted_at, id) index."""
        s = tables.shops
        stmt = sa.select(Shop).where(s.c.status == ShopStatus.IN_REVIEW)
        return await fetch_page(self.s, stmt, page, [s.c.submitted_at, s.c.id])

    async def get_qualification(self, shop_id: str) -> Qualification | None:
        return await self.s.get(Qualification, shop_id)

    def add_qualification(self, qualification: Qualification) -> None:
        self.s.add(qualification)


class SqlMemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, member: Member) -> None:
        self.s.add(member)

    async def get(self, shop_id: str, account_id: str) -> Member | None:
        return await self.s.get(Member, (shop_id, account_id))

    async def delete(self, member: Member) -> None:
        await self.s.delete(member)

    async def list_page(self, shop_id: str, page: PageRequest) -> Page[Member]:
        m = tables.shop_members
        stmt = select(m, shop_id, Member)
        return await fetch_page(self.s, stmt, page, [m.c.account_id])

    async def lock_owners(self, shop_id: str) -> list[Member]:
        m = tables.shop_members
        stmt = locked(
            select(m, shop_id, Member).where(m.c.role == Role.OWNER).order_by(m.c.account_id)
        )
        return list((await self.s.execute(stmt)).scalars())
