"""Repositories of the order context."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.orders.model import Order, OrderLine
from app.infra.db import tables
from app.infra.db.tenancy import select

_o = tables.orders
_l = tables.order_lines


class SqlOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, order: Order) -> None:
        self.s.add(order)

    async def get(self, shop_id: str, order_id: str, *, lock: bool = False) -> Order | None:
        stmt = select(_o, shop_id, Order).where(_o.c.id == order_id)
        if lock:
            stmt = stmt.with_for_update()
        order: Order | None = (await self.s.execute(stmt)).scalar_one_or_none()
        if order is None:
            return None
        lines = await self.s.execute(
            select(_l, shop_id, OrderLine).where(_l.c.order_id == order_id).order_by(_l.c.id)
        )
        set_committed_value(order, "lines", list(lines.scalars()))
        return order
