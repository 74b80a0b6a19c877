"""Refunds of after-sales (every statement names its shop)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.aftersales.refunds import Refund
from app.infra.db import tables
from app.infra.db.locks import locked
from app.infra.db.tenancy import select

_r = tables.refunds


class SqlRefundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, refund: Refund) -> None:
        self.s.add(refund)

    async def get(self, shop_id: str, refund_id: str, *, lock: bool = False) -> Refund | None:
        stmt = select(_r, shop_id, Refund).where(_r.c.id == refund_id)
        if lock:
            stmt = locked(stmt)
        found: Refund | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found

    async def of_order(self, shop_id: str, order_id: str) -> list[Refund]:
        stmt = select(_r, shop_id, Refund).where(_r.c.order_id == order_id).order_by(_r.c.id)
        return list((await self.s.execute(stmt)).scalars())
