"""Repositories of the order context.

On PostgreSQL placing an order reads what it checks (`offers`) and writes the order with its
lines (`add`) through the driver, one statement each: the storefront's hottest write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.catalog.products import ProductStatus
from app.domain.orders.freight import FreightTemplate
from app.domain.orders.model import (
    BookAddress,
    CartLine,
    Destination,
    Offer,
    Offers,
    Order,
    OrderFilter,
    OrderLine,
    OrderStatus,
    Shipment,
    ShopTerms,
)
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import ShopStatus
from app.infra.db import tables
from app.infra.db.driver import OnSessionAndDriver, json_text
from app.infra.db.locks import locked
from app.infra.db.paging import cut, keyset
from app.infra.db.repositories.freight import TEMPLATE_COLUMNS, template_of
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


#: `offers`: the shop's terms and each SKU asked for with its product (a row per SKU found;
#: the shop's row alone, SKU columns null, when none is), and on every row the address of
#: the buyer's book asked for ($3 the account, $4 the address or null for the default; its
#: columns null when there is none, or when $3 is null: no address asked for), then the
#: SKU's weight and its freight template: the product's, else the shop's default (null: none).
#: Planned once per connection (`DriverReader.plan_once`): every lookup is by its key, the
#: product, the address and the template each in a fenced subquery (`OFFSET 0`) so that the
#: plan probes their keys for the few SKUs whatever the shop's size, never hashes a table.
_OFFERS_SQL = f"""
SELECT sh.status, sh.suspended_at, sh.freight_fee, sh.free_shipping_from,
       s.id, s.product_id, s.price, s.sale_attrs, s.out_sku_id,
       p.status, p.regions, p.title, p.images, p.out_product_id,
       a.recipient, a.phone, a.region_code, a.detail,
       s.weight_g, {", ".join(f"ft.{c}" for c in TEMPLATE_COLUMNS)}
FROM shops sh
LEFT JOIN skus s ON s.shop_id = $1 AND s.id = ANY($2::text[])
LEFT JOIN LATERAL (
    SELECT p.status, p.regions, p.title, p.images, p.out_product_id, p.freight_template_id
    FROM products p WHERE p.shop_id = $1 AND p.id = s.product_id OFFSET 0
) p ON true
LEFT JOIN LATERAL (
    SELECT a.recipient, a.phone, a.region_code, a.detail FROM buyer_addresses a
    WHERE a.account_id = $3 AND (a.id = $4 OR ($4::text IS NULL AND a.is_default))
    LIMIT 1
) a ON true
LEFT JOIN LATERAL (
    SELECT t.* FROM freight_templates t
    WHERE t.shop_id = $1 AND t.id = p.freight_template_id
    UNION ALL
    SELECT d.* FROM freight_templates d
    WHERE d.shop_id = $1 AND d.is_default AND p.freight_template_id IS NULL
    LIMIT 1
) ft ON true
WHERE sh.id = $1
"""  # noqa: S608 (constant column names only)
_T = 19  # where the template's columns start
#: The same read for a freight quote: the same joins and rules' columns, without what only an
#: order keeps (the snapshot's title, images, attributes and out ids; the buyer's address).
_QUOTE_SQL = f"""
SELECT sh.status, sh.suspended_at, sh.freight_fee, sh.free_shipping_from,
       s.id, s.product_id, s.price, NULL, NULL,
       p.status, p.regions, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL,
       s.weight_g, {", ".join(f"ft.{c}" for c in TEMPLATE_COLUMNS)}
FROM shops sh
LEFT JOIN skus s ON s.shop_id = $1 AND s.id = ANY($2::text[])
LEFT JOIN products p ON p.shop_id = $1 AND p.id = s.product_id
LEFT JOIN freight_templates ft
       ON ft.shop_id = $1
      AND (ft.id = p.freight_template_id OR (p.freight_template_id IS NULL AND ft.is_default))
WHERE sh.id = $1
"""  # noqa: S608 (constant column names only)
#: `add`: the order and its lines, one statement (the lines' key to their order is checked
#: at its end).
#: A new order and its lines: a deferred write of two parts (one statement with the writes
#: deferred after it, such as its event and its timer).
_ADD_SQL = (
    """
INSERT INTO orders (id, shop_id, buyer_id, status, product_total, freight, discount_total,
                    total, address, buyer_note, merchant_note, created_at, updated_at, version,
                    delivery_method, pickup_point)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10, $11, $12, $13, $14, $21,
        $22::text::jsonb)
""",
    """
INSERT INTO order_lines (id, shop_id, order_id, product_id, sku_id, quantity, unit_price,
                         snapshot, shipped_quantity, aftersale_quantity)
SELECT l.id, $2, $1, l.product_id, l.sku_id, l.quantity, l.unit_price, l.snapshot::jsonb, 0, 0
FROM unnest($15::text[], $16::text[], $17::text[], $18::int[], $19::bigint[], $20::text[])
     AS l(id, product_id, sku_id, quantity, unit_price, snapshot)
""",
)


def _offer(
    sku_id: str,
    product_id: str,
    price: int,
    sale_attrs: dict[str, Any],
    out_sku_id: str | None,
    status: str,
    regions: list[str],
    title: str,
    images: list[str],
    out_product_id: str | None,
    *,
    weight_g: int,
    template: FreightTemplate | None,
) -> Offer:
    return Offer(
        sku_id=sku_id,
        product_id=product_id,
        price=int(price),
        listed=status == ProductStatus.LISTED,
        regions=tuple(regions or ()),
        title=title or "",
        image=images[0] if images else None,
        sale_attrs=sale_attrs or {},
        out_product_id=out_product_id,
        out_sku_id=out_sku_id,
        template=template,
        weight_g=int(weight_g),
    )


def _offers(
    shop_id: str, rows: Sequence[Sequence[Any]], address: Destination | None = None
) -> Offers:
    """From the rows of `_OFFERS_SQL` (the address columns null when not read with them)."""
    if not rows:
        return Offers(None, {}, address)
    first = rows[0]
    status, suspended_at, fee, free_from = first[:4]
    terms = ShopTerms(
        can_sell=status == ShopStatus.OPEN and suspended_at is None,
        freight_fee=int(fee),
        free_shipping_from=None if free_from is None else int(free_from),
    )
    if first[14] is not None:
        address = Destination(*first[14:18])
    # A SKU whose product is gone (never: the key cascades) counts as not found.
    offers = {
        r[4]: _offer(
            *r[4:14],
            weight_g=r[18] or 0,
            template=(
                None
                if r[_T] is None
                else template_of(shop_id, dict(zip(TEMPLATE_COLUMNS, r[_T:], strict=True)))
            ),
        )
        for r in rows
        if r[4] is not None and r[5] is not None
    }
    return Offers(terms, offers, address)


class SqlOrderRepository(OnSessionAndDriver):
    """Orders on the driver where there is one: a freight quote and placing an order never
    open the session."""

    async def add(self, order: Order) -> None:
        if self._driver is None:
            self.s.add(order)
            return
        lines = order.lines
        await self._driver.defer(
            _ADD_SQL,
            order.id,
            order.shop_id,
            order.buyer_id,
            int(order.status),
            order.product_total,
            order.freight,
            order.discount_total,
            order.total,
            json_text(order.address),
            order.buyer_note,
            order.merchant_note,
            order.created_at,
            order.updated_at,
            order.version,
            [x.id for x in lines],
            [x.product_id for x in lines],
            [x.sku_id for x in lines],
            [x.quantity for x in lines],
            [x.unit_price for x in lines],
            [json_text(x.snapshot) for x in lines],
            order.delivery_method.value,
            None if order.pickup_point is None else json_text(order.pickup_point),
        )

    async def offers(
        self,
        shop_id: str,
        sku_ids: list[str],
        address: BookAddress | None = None,
        *,
        snapshot: bool = True,
    ) -> Offers:
        if self._driver is not None and not snapshot:
            return _offers(shop_id, await self._driver.fetch(_QUOTE_SQL, shop_id, sku_ids))
        if self._driver is not None:
            # In the transaction (begun now if the request has not: placing an order reads
            # then locks and writes), planned once per connection.
            account_id, address_id = (
                (address.account_id, address.address_id) if address else (None, None)
            )
            await self._driver.plan_once()
            rows = await self._driver.fetch(_OFFERS_SQL, shop_id, sku_ids, account_id, address_id)
            return _offers(shop_id, rows)
        sh, sk, p, ft = tables.shops, tables.skus, tables.products, tables.freight_templates
        stmt = (
            sa.select(
                sh.c.status,
                sh.c.suspended_at,
                sh.c.freight_fee,
                sh.c.free_shipping_from,
                sk.c.id,
                sk.c.product_id,
                sk.c.price,
                sk.c.sale_attrs,
                sk.c.out_sku_id,
                p.c.status,
                p.c.regions,
                p.c.title,
                p.c.images,
                p.c.out_product_id,
                *(sa.null() for _ in range(4)),  # the address, read on its own here
                sk.c.weight_g,
                *(ft.c[c] for c in TEMPLATE_COLUMNS),
            )
            .select_from(
                sh.outerjoin(sk, sa.and_(sk.c.shop_id == shop_id, sk.c.id.in_(sku_ids)))
                .outerjoin(p, sa.and_(p.c.shop_id == shop_id, p.c.id == sk.c.product_id))
                .outerjoin(
                    ft,
                    sa.and_(
                        ft.c.shop_id == shop_id,
                        sa.or_(
                            ft.c.id == p.c.freight_template_id,
                            sa.and_(p.c.freight_template_id.is_(None), ft.c.is_default.is_(True)),
                        ),
                    ),
                )
            )
            .where(sh.c.id == shop_id)
        )
        found = None
        if address is not None:
            a = tables.buyer_addresses
            which = (
                a.c.is_default.is_(True)
                if address.address_id is None
                else a.c.id == address.address_id
            )
            row = (
                await self.s.execute(
                    sa.select(a.c.recipient, a.c.phone, a.c.region_code, a.c.detail).where(
                        a.c.account_id == address.account_id, which
                    )
                )
            ).one_or_none()
            found = None if row is None else Destination(*row)
        return _offers(shop_id, list((await self.s.execute(stmt)).all()), found)

    async def _with_lines(
        self, shop_id: str, orders: Sequence[Order], *, fresh: bool = False
    ) -> None:
        """`fresh`: the lines of locked orders, refreshed from the database (their order's
        lock covers them: every change of a line takes it first)."""
        if not orders:
            return
        by_order: dict[str, list[OrderLine]] = defaultdict(list)
        stmt = (
            select(_l, shop_id, OrderLine)
            .where(_l.c.order_id.in_([o.id for o in orders]))
            .order_by(_l.c.order_id, _l.c.id)
        )
        if fresh:
            stmt = stmt.execution_options(populate_existing=True)
        rows = await self.s.execute(stmt)
        for line in rows.scalars():
            by_order[line.order_id].append(line)
        for order in orders:
            set_committed_value(order, "lines", by_order[order.id])

    async def lock_many(self, shop_id: str, order_ids: list[str]) -> dict[str, Order]:
        if not order_ids:
            return {}
        stmt = locked(select(_o, shop_id, Order).where(_o.c.id.in_(order_ids)).order_by(_o.c.id))
        orders = list((await self.s.execute(stmt)).scalars())
        await self._with_lines(shop_id, orders, fresh=True)
        return {o.id: o for o in orders}

    async def get(self, shop_id: str, order_id: str, *, lock: bool = False) -> Order | None:
        stmt = select(_o, shop_id, Order).where(_o.c.id == order_id)
        if lock:
            stmt = locked(stmt)
        order: Order | None = (await self.s.execute(stmt)).scalar_one_or_none()
        if order is not None:
            await self._with_lines(shop_id, [order], fresh=lock)
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

    async def by_pickup_code(self, shop_id: str, code: str, *, lock: bool = False) -> Order | None:
        # The partial unique index's predicate, so the index finds it.
        stmt = select(_o, shop_id, Order).where(
            _o.c.pickup_code == code,
            _o.c.pickup_code.is_not(None),
            _o.c.status < OrderStatus.COMPLETED,
        )
        order: Order | None = (
            await self.s.execute(locked(stmt) if lock else stmt)
        ).scalar_one_or_none()
        if order is not None:
            await self._with_lines(shop_id, [order], fresh=lock)
        return order

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
