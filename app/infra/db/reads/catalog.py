"""The product reads as plain rows: no entities, one statement per read.

A product with its SKUs is one join (a page is one statement too: the page of products in a
CTE, joined to their SKUs), returned as `ProductRecord`s — column values by name, the SKUs
under `skus` — for the API to serialise once. On PostgreSQL the statements go to the driver
(`DriverReader`: prepared once per connection, no transaction for a read-only request); on
SQLite the same statements are built with SQLAlchemy Core. Both are scoped by the shop, as
every provider query is.

The storefront reads the same records (`list_listed`: a shop's listed products, newest
listing first); what a buyer may see of them is the API's to pick.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.catalog.products import (
    PRODUCT_RECORD_FIELDS,
    SKU_RECORD_FIELDS,
    ProductFilter,
    ProductStatus,
)
from app.domain.catalog.products import ProductRecord as Record
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.driver import DriverReader
from app.infra.db.paging import after, cut, keyset
from app.infra.db.search import contains, pattern
from app.infra.db.tenancy import join_on, select

_p = tables.products
_s = tables.skus
_NP = len(PRODUCT_RECORD_FIELDS)


@dataclass(frozen=True)
class _Order:
    """The order of a page of products, whose columns are its cursor too."""

    columns: tuple[sa.Column[Any], ...]
    descending: bool = False

    @property
    def names(self) -> str:
        return ", ".join(c.name for c in self.columns)

    def sql(self, prefix: str = "") -> str:
        """The ORDER BY list, its columns named with `prefix`."""
        way = " DESC" if self.descending else ""
        return ", ".join(f"{prefix}{c.name}{way}" for c in self.columns)

    def key(self, r: Record) -> tuple[Any, ...]:
        return tuple(r[c.name] for c in self.columns)


#: The provider's list: oldest change first, so `updated_since` plus the cursor is a sync.
_BY_CHANGE = _Order((_p.c.updated_at, _p.c.id))
#: The storefront's: newest listing first (an index on (shop_id, status, listed_at, id)).
_NEWEST_LISTED = _Order((_p.c.listed_at, _p.c.id), descending=True)
_LISTED = ProductFilter(status=ProductStatus.LISTED)

_SELECT = ", ".join(
    [f"p.{c}" for c in PRODUCT_RECORD_FIELDS] + [f"s.{c}" for c in SKU_RECORD_FIELDS]
)
# Only constant column names and $n placeholders are formatted into the statements.
_ONE_SQL = f"""
SELECT {_SELECT}
FROM products p LEFT JOIN skus s ON s.shop_id = p.shop_id AND s.product_id = p.id
WHERE p.shop_id = $1 AND p.{{key}} = $2
ORDER BY s.id
"""  # noqa: S608
_BY_ID_SQL = _ONE_SQL.format(key="id")
_BY_OUT_ID_SQL = _ONE_SQL.format(key="out_product_id")
_PAGE_SQL = f"""
WITH page AS (
    SELECT * FROM products
    WHERE {{where}}
    ORDER BY {{order}}
    LIMIT {{limit}}
)
SELECT {_SELECT}
FROM page p LEFT JOIN skus s ON s.shop_id = p.shop_id AND s.product_id = p.id
ORDER BY {{outer_order}}, s.id
"""  # noqa: S608


def _group(rows: Sequence[Sequence[Any]]) -> list[Record]:
    """Rows of product-joined-SKU into products, each with its `skus`, in row order."""
    out: list[Record] = []
    current: Record | None = None
    for r in rows:
        if current is None or current["id"] != r[0]:
            current = dict(zip(PRODUCT_RECORD_FIELDS, r[:_NP], strict=True))
            current["skus"] = []
            out.append(current)
        if r[_NP] is not None:
            current["skus"].append(dict(zip(SKU_RECORD_FIELDS, r[_NP:], strict=True)))
    return out


class SqlProductReads:
    def __init__(self, session: Callable[[], AsyncSession], reader: DriverReader) -> None:
        self._session = session
        self.reader = reader

    @property
    def s(self) -> AsyncSession:
        return self._session()

    async def get(self, shop_id: str, product_id: str) -> Record | None:
        return await self._one(_BY_ID_SQL, _p.c.id, shop_id, product_id)

    async def get_by_out_id(self, shop_id: str, out_product_id: str) -> Record | None:
        return await self._one(_BY_OUT_ID_SQL, _p.c.out_product_id, shop_id, out_product_id)

    async def _one(self, sql: str, key: Any, shop_id: str, value: str) -> Record | None:
        if self.reader.direct:
            rows: Sequence[Sequence[Any]] = await self.reader.fetch(sql, shop_id, value)
        else:
            stmt = (
                select(_p, shop_id, *_columns(_p), *_columns(_s, SKU_RECORD_FIELDS))
                .select_from(_p.outerjoin(_s, join_on(_s, _p, (_s.c.product_id, _p.c.id))))
                .where(key == value)
                .order_by(_s.c.id)
            )
            rows = list((await self.s.execute(stmt)).all())
        found = _group(rows)
        return found[0] if found else None

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, f: ProductFilter
    ) -> Page[Record]:
        return await self._page(shop_id, page, f, _BY_CHANGE)

    async def list_listed(self, shop_id: str, page: PageRequest) -> Page[Record]:
        return await self._page(shop_id, page, _LISTED, _NEWEST_LISTED)

    async def _page(
        self, shop_id: str, page: PageRequest, f: ProductFilter, order: _Order
    ) -> Page[Record]:
        if self.reader.direct:
            sql, args = _page_sql(shop_id, page, f, order)
            return cut(_group(await self.reader.fetch(sql, *args)), page, order.key)
        conditions: list[Any] = []
        if f.status is not None:
            conditions.append(_p.c.status == f.status)
        if f.category_ids is not None:
            conditions.append(_p.c.category_id.in_(f.category_ids))
        if f.out_product_id is not None:
            conditions.append(_p.c.out_product_id == f.out_product_id)
        if f.updated_since is not None:
            conditions.append(_p.c.updated_at >= f.updated_since)
        if f.query:
            conditions.append(contains(_p.c.title, f.query))
        cte = keyset(
            select(_p, shop_id).where(*conditions),
            page,
            order.columns,
            descending=order.descending,
        ).subquery("page")
        outer = [cte.c[c.name] for c in order.columns]
        stmt = (
            sa.select(*_columns(cte), *_columns(_s, SKU_RECORD_FIELDS))
            .select_from(cte.outerjoin(_s, join_on(_s, cte, (_s.c.product_id, cte.c.id))))
            .order_by(*(c.desc() if order.descending else c for c in outer), _s.c.id)
        )
        return cut(_group(list((await self.s.execute(stmt)).all())), page, order.key)


def _columns(
    source: Any, names: tuple[str, ...] = PRODUCT_RECORD_FIELDS
) -> list[sa.ColumnElement[Any]]:
    return [source.c[name] for name in names]


def _page_sql(
    shop_id: str, page: PageRequest, f: ProductFilter, order: _Order
) -> tuple[str, list[Any]]:
    """Only the conditions in use, so each shape gets a plan that uses the index."""
    args: list[Any] = [shop_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["shop_id = $1"]
    if f.status is not None:
        where.append(f"status = {arg(f.status.value)}")
    if f.category_ids is not None:
        where.append(f"category_id = ANY({arg(list(f.category_ids))})")
    if f.out_product_id is not None:
        where.append(f"out_product_id = {arg(f.out_product_id)}")
    if f.updated_since is not None:
        where.append(f"updated_at >= {arg(f.updated_since)}")
    if f.query:
        where.append(f"lower(title) LIKE {arg(pattern(f.query))} ESCAPE '\\'")
    seen = after(page, order.columns)
    if seen is not None:
        than = "<" if order.descending else ">"
        where.append(f"({order.names}) {than} ({', '.join(arg(v) for v in seen)})")
    limit = arg(page.limit + 1)
    sql = _PAGE_SQL.format(
        where=" AND ".join(where), order=order.sql(), outer_order=order.sql("p."), limit=limit
    )
    return sql, args
