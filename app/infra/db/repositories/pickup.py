"""Repositories of in-store pickup: a shop's pickup points and its wrong-code counter; every
statement starts from the tenancy builder or names the shop."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.orders.pickup import MAX_PICKUP_POINTS, PickupPoint, PickupThrottle
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.locks import locked
from app.infra.db.paging import fetch_page
from app.infra.db.tenancy import select

_p = tables.pickup_points
_t = tables.pickup_code_throttles


class SqlPickupPointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, point: PickupPoint) -> None:
        self.s.add(point)

    async def get(self, shop_id: str, point_id: str, *, lock: bool = False) -> PickupPoint | None:
        stmt = select(_p, shop_id, PickupPoint).where(_p.c.id == point_id)
        found: PickupPoint | None = (
            await self.s.execute(locked(stmt) if lock else stmt)
        ).scalar_one_or_none()
        return found

    async def list_page(self, shop_id: str, page: PageRequest) -> Page[PickupPoint]:
        return await fetch_page(self.s, select(_p, shop_id, PickupPoint), page, [_p.c.id])

    async def enabled(self, shop_id: str) -> list[PickupPoint]:
        stmt = (
            select(_p, shop_id, PickupPoint)
            .where(_p.c.enabled.is_(True))
            .order_by(_p.c.id)
            .limit(MAX_PICKUP_POINTS)
        )
        return list((await self.s.execute(stmt)).scalars())

    async def count(self, shop_id: str) -> int:
        return int((await self.s.execute(select(_p, shop_id, sa.func.count()))).scalar_one())

    async def delete(self, point: PickupPoint) -> None:
        await self.s.delete(point)


class SqlPickupThrottleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def lock(self, shop_id: str, now: datetime) -> PickupThrottle:
        stmt = locked(sa.select(PickupThrottle).where(_t.c.shop_id == shop_id))
        found: PickupThrottle | None = (await self.s.execute(stmt)).scalar_one_or_none()
        if found is not None:
            return found
        # The shop's first verification: its row, unless a concurrent one made it first.
        values = {"shop_id": shop_id, "window_started_at": now, "failures": 0}
        insert = (
            postgresql.insert(_t)
            if self.s.get_bind().dialect.name == "postgresql"
            else sqlite.insert(_t)
        )
        await self.s.execute(insert.values(**values).on_conflict_do_nothing())
        made: PickupThrottle = (await self.s.execute(stmt)).scalar_one()
        return made
