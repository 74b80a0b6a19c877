"""Repositories of the catalog context."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.catalog.brands import BRAND_AUTHORIZATION
from app.domain.catalog.products import (
    Product,
    ProductFilter,
    ProductStatus,
    RevisionStatus,
    Sku,
)
from app.domain.catalog.qualifications import IndustryQualification, QualificationStatus
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.paging import fetch_page
from app.infra.db.search import contains
from app.infra.db.tenancy import cross_shop, delete, select

_q = tables.industry_qualifications


class SqlQualificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, qualification: IndustryQualification) -> None:
        self.s.add(qualification)

    async def get(self, shop_id: str, qualification_id: str) -> IndustryQualification | None:
        res = await self.s.execute(
            select(_q, shop_id, IndustryQualification).where(_q.c.id == qualification_id)
        )
        return res.scalar_one_or_none()

    async def get_any(self, qualification_id: str) -> IndustryQualification | None:
        """For the platform operator, who reviews every shop's qualifications."""
        stmt = sa.select(IndustryQualification).where(_q.c.id == qualification_id)
        return (await self.s.execute(cross_shop(stmt, "operator_review"))).scalar_one_or_none()

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, *, status: QualificationStatus | None
    ) -> Page[IndustryQualification]:
        stmt = select(_q, shop_id, IndustryQualification)
        if status is not None:
            stmt = stmt.where(_q.c.status == status)
        return await fetch_page(self.s, stmt, page, [_q.c.id])

    async def approved_kinds(self, shop_id: str) -> frozenset[str]:
        res = await self.s.execute(
            select(_q, shop_id, _q.c.kind)
            .where(_q.c.status == QualificationStatus.APPROVED)
            .distinct()
        )
        return frozenset(res.scalars())

    async def authorized_brands(self, shop_id: str) -> frozenset[str]:
        """The brands the shop holds an approved brand authorization for."""
        res = await self.s.execute(
            select(_q, shop_id, _q.c.brand_id)
            .where(
                _q.c.status == QualificationStatus.APPROVED,
                _q.c.kind == BRAND_AUTHORIZATION,
                _q.c.brand_id.is_not(None),
            )
            .distinct()
        )
        return frozenset(res.scalars())

    async def in_review(self, page: PageRequest) -> Page[IndustryQualification]:
        stmt = sa.select(IndustryQualification).where(_q.c.status == QualificationStatus.IN_REVIEW)
        return await fetch_page(self.s, cross_shop(stmt, "operator_review"), page, [_q.c.id])


_p = tables.products
_s = tables.skus


class SqlProductRepository:
    """Every provider query starts from `tenancy.select`: the shop is the tenancy boundary."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, product: Product) -> None:
        self.s.add(product)

    def add_sku(self, sku: Sku) -> None:
        self.s.add(sku)

    async def get(self, shop_id: str, product_id: str) -> Product | None:
        res = await self.s.execute(select(_p, shop_id, Product).where(_p.c.id == product_id))
        return res.scalar_one_or_none()

    async def get_any(self, product_id: str) -> Product | None:
        """For the platform operator, who works across shops."""
        stmt = sa.select(Product).where(_p.c.id == product_id)
        return (await self.s.execute(cross_shop(stmt, "operator_review"))).scalar_one_or_none()

    async def get_by_out_id(self, shop_id: str, out_product_id: str) -> Product | None:
        res = await self.s.execute(
            select(_p, shop_id, Product).where(_p.c.out_product_id == out_product_id)
        )
        return res.scalar_one_or_none()

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, f: ProductFilter
    ) -> Page[Product]:
        stmt = select(_p, shop_id, Product)
        if f.status is not None:
            stmt = stmt.where(_p.c.status == f.status)
        if f.category_ids is not None:
            stmt = stmt.where(_p.c.category_id.in_(f.category_ids))
        if f.out_product_id is not None:
            stmt = stmt.where(_p.c.out_product_id == f.out_product_id)
        if f.updated_since is not None:
            stmt = stmt.where(_p.c.updated_at >= f.updated_since)
        if f.query:
            stmt = stmt.where(contains(_p.c.title, f.query))
        return await fetch_page(self.s, stmt, page, [_p.c.updated_at, _p.c.id])

    async def in_review(self, page: PageRequest) -> Page[Product]:
        """New products in review and live products' revisions in review, by submission."""
        stmt = sa.select(Product).where(
            sa.or_(
                _p.c.status == ProductStatus.IN_REVIEW,
                _p.c.pending_status == RevisionStatus.IN_REVIEW,
            )
        )
        stmt = cross_shop(stmt, "operator_review")
        return await fetch_page(self.s, stmt, page, [_p.c.submitted_at, _p.c.id])

    async def skus_of(self, shop_id: str, product_ids: list[str]) -> dict[str, list[Sku]]:
        """The SKUs of a page of the shop's products in one query."""
        out: dict[str, list[Sku]] = {pid: [] for pid in product_ids}
        if not product_ids:
            return out
        res = await self.s.execute(
            select(_s, shop_id, Sku).where(_s.c.product_id.in_(product_ids)).order_by(_s.c.id)
        )
        for sku in res.scalars():
            out[sku.product_id].append(sku)
        return out

    async def get_sku(self, shop_id: str, product_id: str, sku_id: str) -> Sku | None:
        res = await self.s.execute(
            select(_s, shop_id, Sku).where(_s.c.product_id == product_id, _s.c.id == sku_id)
        )
        return res.scalar_one_or_none()

    async def has_stock(self, shop_id: str, product_id: str) -> bool:
        res = await self.s.execute(
            select(_s, shop_id, sa.func.count()).where(
                _s.c.product_id == product_id, _s.c.stock > 0
            )
        )
        return bool(res.scalar_one())

    async def delete(self, product: Product) -> None:
        await self.s.execute(delete(_s, product.shop_id).where(_s.c.product_id == product.id))
        await self.s.delete(product)

    async def find_sku(
        self, shop_id: str, *, sku_id: str | None = None, out_sku_id: str | None = None
    ) -> Sku | None:
        stmt = select(_s, shop_id, Sku)
        if sku_id is not None:
            stmt = stmt.where(_s.c.id == sku_id)
        if out_sku_id is not None:
            stmt = stmt.where(_s.c.out_sku_id == out_sku_id)
        res = await self.s.execute(stmt)
        return res.scalar_one_or_none()
