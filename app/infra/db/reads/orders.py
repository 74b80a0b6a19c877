"""The provider's order reads as plain records: no entities, one statement per read.

A page of orders is one statement on PostgreSQL (through the driver, `DriverReader`): the
page in a CTE, joined to its lines, each order's shipments aggregated beside it. Rows come
back as `OrderRecord`s for the API to serialise once. On SQLite the records are made from
the repository's entities (the same shape). Every statement is scoped by the shop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.orders.model import (
    LINE_RECORD_FIELDS,
    ORDER_RECORD_FIELDS,
    OrderFilter,
    OrderRecord,
    order_record,
)
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.driver import DriverReader
from app.infra.db.paging import after, cut
from app.infra.db.repositories.orders import SqlOrderRepository

_o = tables.orders
_NO = len(ORDER_RECORD_FIELDS)
_NL = len(LINE_RECORD_FIELDS)

# Only constant column names and $n placeholders are formatted into the statements.
_SELECT = ", ".join(
    [f"p.{c}" for c in ORDER_RECORD_FIELDS]
    + [f"l.{c}" for c in LINE_RECORD_FIELDS]
    + ["sh.shipments"]
)
#: Each order's shipments, oldest first, as JSON (null when it has none).
_SHIPMENTS = """
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'id', s.id, 'carrier', s.carrier, 'waybill_no', s.waybill_no,
               'lines', s.lines, 'created_at', s.created_at, 'updated_at', s.updated_at)
           ORDER BY s.id) AS shipments
    FROM shipments s WHERE s.shop_id = $1 AND s.order_id = p.id
) sh ON true
"""
_PAGE_SQL = f"""
WITH page AS (
    SELECT {", ".join(ORDER_RECORD_FIELDS)} FROM orders
    WHERE {{where}}
    ORDER BY {{order}}
    LIMIT {{limit}}
)
SELECT {_SELECT}
FROM page p {_SHIPMENTS}
LEFT JOIN order_lines l ON l.shop_id = p.shop_id AND l.order_id = p.id
ORDER BY {{outer_order}}, l.id
"""  # noqa: S608
_ONE_SQL = f"""
SELECT {_SELECT}
FROM orders p {_SHIPMENTS}
LEFT JOIN order_lines l ON l.shop_id = p.shop_id AND l.order_id = p.id
WHERE p.shop_id = $1 AND p.id = $2
ORDER BY l.id
"""  # noqa: S608


def _time(value: str) -> datetime:
    # jsonb writes a time in the session's zone: the API's are UTC.
    return datetime.fromisoformat(value).astimezone(UTC)


def _group(rows: Sequence[Sequence[Any]]) -> list[OrderRecord]:
    """Rows of order-joined-line into orders, each with its `lines` and `shipments`."""
    out: list[OrderRecord] = []
    current: OrderRecord | None = None
    for r in rows:
        if current is None or current["id"] != r[0]:
            current = dict(zip(ORDER_RECORD_FIELDS, r[:_NO], strict=True))
            current["lines"] = []
            shipments = r[_NO + _NL] or []
            for s in shipments:
                s["created_at"], s["updated_at"] = _time(s["created_at"]), _time(s["updated_at"])
            current["shipments"] = shipments
            out.append(current)
        if r[_NO] is not None:
            current["lines"].append(dict(zip(LINE_RECORD_FIELDS, r[_NO : _NO + _NL], strict=True)))
    return out


def _columns(f: OrderFilter) -> tuple[sa.Column[Any], sa.Column[Any]]:
    return (_o.c.updated_at if f.by_updated else _o.c.created_at, _o.c.id)


def _page_sql(shop_id: str, page: PageRequest, f: OrderFilter) -> tuple[str, list[Any]]:
    """Only the conditions in use, so each shape gets a plan that uses the index."""
    args: list[Any] = [shop_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["shop_id = $1"]
    if f.statuses:
        where.append(f"status = ANY({arg(sorted(int(s) for s in f.statuses))}::int[])")
    for column, start, end in (
        ("created_at", f.created_from, f.created_to),
        ("updated_at", f.updated_from, f.updated_to),
        ("paid_at", f.paid_from, f.paid_to),
    ):
        if start is not None:
            where.append(f"{column} >= {arg(start)}")
        if end is not None:
            where.append(f"{column} < {arg(end)}")
    columns = _columns(f)
    names = ", ".join(c.name for c in columns)
    descending = not f.by_updated
    seen = after(page, columns)
    if seen is not None:
        than = "<" if descending else ">"
        where.append(f"({names}) {than} ({', '.join(arg(v) for v in seen)})")
    way = " DESC" if descending else ""
    order = ", ".join(f"{c.name}{way}" for c in columns)
    outer = ", ".join(f"p.{c.name}{way}" for c in columns)
    limit = arg(page.limit + 1)
    sql = _PAGE_SQL.format(where=" AND ".join(where), order=order, outer_order=outer, limit=limit)
    return sql, args


class SqlOrderReads:
    def __init__(
        self,
        session: Callable[[], AsyncSession],
        reader: DriverReader,
        orders: Callable[[], SqlOrderRepository],
    ) -> None:
        self._session = session
        self.reader = reader
        self._orders = orders

    async def page(self, shop_id: str, page: PageRequest, f: OrderFilter) -> Page[OrderRecord]:
        columns = _columns(f)

        def key(r: OrderRecord) -> tuple[Any, ...]:
            return tuple(r[c.name] for c in columns)

        if self.reader.direct:
            sql, args = _page_sql(shop_id, page, f)
            return cut(_group(await self.reader.fetch(sql, *args)), page, key)
        orders = self._orders()
        result = await orders.list_for_shop(shop_id, page, f)
        shipments = await orders.shipments_of(shop_id, [o.id for o in result.items])
        return Page([order_record(o, shipments[o.id]) for o in result.items], result.next_after)

    async def one(self, shop_id: str, order_id: str) -> OrderRecord | None:
        if self.reader.direct:
            found = _group(await self.reader.fetch(_ONE_SQL, shop_id, order_id))
            return found[0] if found else None
        orders = self._orders()
        order = await orders.get(shop_id, order_id)
        if order is None:
            return None
        return order_record(order, (await orders.shipments_of(shop_id, [order.id]))[order.id])
