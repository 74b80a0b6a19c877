"""The after-sales repository: every statement names its shop (the tenancy builder), but the
buyer's own, which spans shops on purpose."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.aftersales.model import AfterSale
from app.domain.aftersales.ports import AfterSaleFilter
from app.domain.aftersales.settings import AfterSaleSettings
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.locks import locked
from app.infra.db.paging import cut, keyset
from app.infra.db.tenancy import cross_shop, select

_a = tables.aftersales


class SqlAfterSaleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, aftersale: AfterSale) -> None:
        self.s.add(aftersale)

    async def get(self, shop_id: str, aftersale_id: str, *, lock: bool = False) -> AfterSale | None:
        stmt = select(_a, shop_id, AfterSale).where(_a.c.id == aftersale_id)
        if lock:
            stmt = locked(stmt)
        found: AfterSale | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found

    async def of_order(self, shop_id: str, order_id: str) -> list[AfterSale]:
        stmt = select(_a, shop_id, AfterSale).where(_a.c.order_id == order_id).order_by(_a.c.id)
        return list((await self.s.execute(stmt)).scalars())

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, f: AfterSaleFilter
    ) -> Page[AfterSale]:
        where: list[sa.ColumnElement[bool]] = []
        if f.statuses:
            where.append(_a.c.status.in_(sorted(s.value for s in f.statuses)))
        if f.order_id is not None:
            where.append(_a.c.order_id == f.order_id)
        if f.created_from is not None:
            where.append(_a.c.created_at >= f.created_from)
        if f.created_to is not None:
            where.append(_a.c.created_at < f.created_to)
        if f.updated_since is not None:
            where.append(_a.c.updated_at >= f.updated_since)
        stmt = select(_a, shop_id, AfterSale).where(*where)
        columns: list[sa.ColumnElement[Any]] = [
            _a.c.updated_at if f.by_updated else _a.c.created_at,
            _a.c.id,
        ]
        rows = list(
            (
                await self.s.execute(keyset(stmt, page, columns, descending=not f.by_updated))
            ).scalars()
        )
        return cut(
            rows,
            page,
            (lambda a: (a.updated_at, a.id)) if f.by_updated else (lambda a: (a.created_at, a.id)),
        )

    async def get_for_buyer(self, buyer_id: str, aftersale_id: str) -> AfterSale | None:
        stmt = sa.select(AfterSale).where(_a.c.buyer_id == buyer_id, _a.c.id == aftersale_id)
        found: AfterSale | None = (
            await self.s.execute(cross_shop(stmt, "buyer_aftersales"))
        ).scalar_one_or_none()
        return found

    async def list_for_buyer(self, buyer_id: str, page: PageRequest) -> Page[AfterSale]:
        stmt = cross_shop(sa.select(AfterSale).where(_a.c.buyer_id == buyer_id), "buyer_aftersales")
        columns: list[sa.ColumnElement[Any]] = [_a.c.created_at, _a.c.id]
        rows = list((await self.s.execute(keyset(stmt, page, columns, descending=True))).scalars())
        return cut(rows, page, lambda a: (a.created_at, a.id))


class SqlAfterSaleSettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, settings: AfterSaleSettings) -> None:
        self.s.add(settings)

    async def get(self, shop_id: str, *, lock: bool = False) -> AfterSaleSettings | None:
        t = tables.aftersale_settings
        stmt = select(t, shop_id, AfterSaleSettings)
        if lock:
            stmt = locked(stmt)
        found: AfterSaleSettings | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found
