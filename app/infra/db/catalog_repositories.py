"""Repositories of the catalog context."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.catalog.qualifications import IndustryQualification, QualificationStatus
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.repositories import _page

_q = tables.industry_qualifications


class SqlQualificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, qualification: IndustryQualification) -> None:
        self.s.add(qualification)

    async def get(self, qualification_id: str) -> IndustryQualification | None:
        return await self.s.get(IndustryQualification, qualification_id)

    async def _keyset(
        self, stmt: sa.Select[IndustryQualification], page: PageRequest
    ) -> Page[IndustryQualification]:
        if page.after:
            stmt = stmt.where(_q.c.id > page.after[0])
        rows = list((await self.s.execute(stmt.order_by(_q.c.id).limit(page.limit + 1))).scalars())
        items, nxt = _page(rows, page, lambda r: (r.id,))
        return Page(items, nxt)

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, *, status: QualificationStatus | None
    ) -> Page[IndustryQualification]:
        stmt = sa.select(IndustryQualification).where(_q.c.shop_id == shop_id)
        if status is not None:
            stmt = stmt.where(_q.c.status == status)
        return await self._keyset(stmt, page)

    async def approved_kinds(self, shop_id: str) -> frozenset[str]:
        res = await self.s.execute(
            sa.select(_q.c.kind)
            .where(_q.c.shop_id == shop_id, _q.c.status == QualificationStatus.APPROVED)
            .distinct()
        )
        return frozenset(res.scalars())

    async def in_review(self, page: PageRequest) -> Page[IndustryQualification]:
        stmt = sa.select(IndustryQualification).where(_q.c.status == QualificationStatus.IN_REVIEW)
        return await self._keyset(stmt, page)
