"""Repositories of the order context."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.orders.model import CartLine, Order, OrderFilter, OrderLine, Shipment
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.paging import cut, keyset
from app.infra.db.tenancy import cross_shop, select

_o = tables.orders
_l = tables.order_lines
_s = tables.shipments


def _ranges(f: OrderFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.statuses:
        where.append(_o.c.status.in_(sorted(f.statuses)))
    for column, start, end in (
        (_o.c.created_at, f.created_from, f.created_to),
        (_o.c.updated_at, f.updated_from, f.updated_to),
        (_o.c.paid_at, f.paid_from, f.paid_to),
    ):
        if start is not None:
            where.append(column >= start)
        if end is not None:
            where.append(column < end)
    return where


class SqlOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, order: Order) -> None:
        self.s.add(order)

    async def _with_lines(self, shop_id: str, orders: Sequence[Order]) -> None:
        if not orders:
            return
        by_order: dict[str, list[OrderLine]] = defaultdict(list)
        rows = await self.s.execute(
            select(_l, shop_id, OrderLine)
            .where(_l.c.order_id.in_([o.id for o in orders]))
            .order_by(_l.c.order_id, _l.c.id)
        )
        for line in rows.scalars():
            by_order[line.order_id].append(line)
        for order in orders:
            set_committed_value(order, "lines", by_order[order.id])

    async def get(self, shop_id: str, order_id: str, *, lock: bool = False) -> Order | None:
        stmt = select(_o, shop_id, Order).where(_o.c.id == order_id)
        if lock:
            stmt = stmt.with_for_update()
        order: Order | None = (await self.s.execute(stmt)).scalar_one_or_none()
        if order is not None:
            await self._with_lines(shop_id, [order])
        return order

    async def list_for_shop(self, shop_id: str, page: PageRequest, f: OrderFilter) -> Page[Order]:
        stmt = select(_o, shop_id, Order).where(*_ranges(f))
        columns: list[sa.ColumnElement[Any]] = [
            _o.c.updated_at if f.by_updated else _o.c.created_at,
            _o.c.id,
        ]
        rows = list(
            (
                await self.s.execute(keyset(stmt, page, columns, descending=not f.by_updated))
            ).scalars()
        )
        result = cut(
            rows,
            page,
            lambda o: (o.updated_at if f.by_updated else o.created_at, o.id),
        )
        await self._with_lines(shop_id, result.items)
        return result

    async def get_for_buyer(self, buyer_id: str, order_id: str) -> Order | None:
        stmt = sa.select(Order).where(_o.c.buyer_id == buyer_id, _o.c.id == order_id)
        order: Order | None = (
            await self.s.execute(cross_shop(stmt, "buyer_orders"))
        ).scalar_one_or_none()
        if order is not None:
            await self._with_lines(order.shop_id, [order])
        return order

    async def list_for_buyer(
        self, buyer_id: str, page: PageRequest, shop_id: str | None
    ) -> Page[Order]:
        if shop_id is not None:
            stmt = select(_o, shop_id, Order).where(_o.c.buyer_id == buyer_id)
        else:
            stmt = cross_shop(sa.select(Order).where(_o.c.buyer_id == buyer_id), "buyer_orders")
        columns: list[sa.ColumnElement[Any]] = [_o.c.created_at, _o.c.id]
        rows = list((await self.s.execute(keyset(stmt, page, columns, descending=True))).scalars())
        result = cut(rows, page, lambda o: (o.created_at, o.id))
        by_shop: dict[str, list[Order]] = defaultdict(list)
        for order in result.items:
            by_shop[order.shop_id].append(order)
        for shop, of_shop in by_shop.items():
            await self._with_lines(shop, of_shop)
        return result

    def add_shipment(self, shipment: Shipment) -> None:
        self.s.add(shipment)

    async def get_shipment(self, shop_id: str, order_id: str, shipment_id: str) -> Shipment | None:
        stmt = select(_s, shop_id, Shipment).where(
            _s.c.order_id == order_id, _s.c.id == shipment_id
        )
        shipment: Shipment | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return shipment

    async def shipments_of(self, shop_id: str, order_ids: list[str]) -> dict[str, list[Shipment]]:
        out: dict[str, list[Shipment]] = {order_id: [] for order_id in order_ids}
        if not order_ids:
            return out
        rows = await self.s.execute(
            select(_s, shop_id, Shipment)
            .where(_s.c.order_id.in_(order_ids))
            .order_by(_s.c.order_id, _s.c.id)
        )
        for shipment in rows.scalars():
            out[shipment.order_id].append(shipment)
        return out


_c = tables.cart_lines


class SqlCartRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, line: CartLine) -> None:
        self.s.add(line)

    async def lines(self, shop_id: str, account_id: str) -> list[CartLine]:
        stmt = (
            select(_c, shop_id, CartLine)
            .where(_c.c.account_id == account_id)
            .order_by(_c.c.created_at, _c.c.sku_id)
        )
        return list((await self.s.execute(stmt)).scalars())

    async def remove(self, line: CartLine) -> None:
        await self.s.delete(line)
