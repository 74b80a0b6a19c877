"""The floor: the same reads as the project with no framework logic on top.

Bare FastAPI, one asyncpg pool, orjson. No token, no scope check, no rate limit, no ORM, no
pydantic models: just the rows of `products` and `skus` turned into JSON.

It takes every advantage the project's hot reads take (`app/infra/db/driver.py`), so the
ratio between them measures only what the project adds:

* no reset on release: `asyncpg.Pool` by default sends `RESET ALL` and friends each time a
  connection goes back (one more round trip per request); these connections only ever run
  the floor's own SELECTs outside a transaction, so there is nothing to reset, as in the
  project's read pool. No inactivity timer either (the project's pool has none);
* prepared statements: asyncpg's per-connection statement cache prepares each statement once;
* orjson for `json`/`jsonb` columns (text format, as the project decodes them) and for the
  response body.

    FLOOR_DSN=postgresql://postgres@127.0.0.1:5432/db FLOOR_SHOP_ID=shop_... \
        .venv/bin/python -m uvicorn bench.floor:app --workers 1 --no-access-log

    GET /products/{id}                     one product with its SKUs        (floor-read)
    GET /products?limit=50&after=ISO,ID    a keyset page with SKUs, 1 query (floor-page)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

PRODUCT_COLS = (
    "id",
    "shop_id",
    "title",
    "subtitle",
    "description",
    "images",
    "category_id",
    "brand_id",
    "brand",
    "attributes",
    "condition",
    "regions",
    "out_product_id",
    "status",
    "rejection_reason",
    "ban_reason",
    "submitted_at",
    "reviewed_at",
    "listed_at",
    "created_at",
    "updated_at",
    "version",
)
SKU_COLS = (
    "id",
    "product_id",
    "shop_id",
    "sale_attrs",
    "price",
    "market_price",
    "stock",
    "out_sku_id",
    "barcode",
    "weight_g",
    "low_stock_threshold",
    "updated_at",
    "version",
)
_NP = len(PRODUCT_COLS)
_SELECT = ", ".join([f"p.{c}" for c in PRODUCT_COLS] + [f"s.{c}" for c in SKU_COLS])

READ_SQL = f"""
SELECT {_SELECT}
FROM products p LEFT JOIN skus s ON s.shop_id = p.shop_id AND s.product_id = p.id
WHERE p.shop_id = $1 AND p.id = $2
ORDER BY s.id
"""

_PAGE_SQL = """
WITH page AS (
    SELECT * FROM products
    WHERE shop_id = $1 {after}
    ORDER BY updated_at, id
    LIMIT $2
)
SELECT {select}
FROM page p LEFT JOIN skus s ON s.shop_id = p.shop_id AND s.product_id = p.id
ORDER BY p.updated_at, p.id, s.id
"""
# Two statements rather than `$3 IS NULL OR ...`: a generic plan keeps the keyset condition
# in the index scan.
FIRST_PAGE_SQL = _PAGE_SQL.format(after="", select=_SELECT)
NEXT_PAGE_SQL = _PAGE_SQL.format(after="AND (updated_at, id) > ($3, $4)", select=_SELECT)


async def _init(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
            format="text",
        )


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Replaces the pool's reset query: nothing to undo after a lone SELECT (an open
    transaction would still be rolled back by the pool before this runs)."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get("FLOOR_POOL_SIZE", "10"))
    app.state.pool = await asyncpg.create_pool(
        os.environ["FLOOR_DSN"],
        min_size=size,
        max_size=size,
        init=_init,
        reset=_no_reset,
        max_inactive_connection_lifetime=0,
    )
    app.state.shop_id = os.environ["FLOOR_SHOP_ID"]
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def _group(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Rows of product-joined-SKU into products, each with its `skus` list, in row order."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for r in rows:
        if current is None or current["id"] != r[0]:
            current = dict(zip(PRODUCT_COLS, r[:_NP], strict=True))
            current["skus"] = []
            out.append(current)
        if r[_NP] is not None:
            sku = dict(zip(SKU_COLS, r[_NP:], strict=True))
            sku["currency"] = "CNY"
            current["skus"].append(sku)
    return out


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@app.get("/health")
async def health() -> Response:
    return _json({"status": "ok"})


@app.get("/products/{product_id}")
async def read(product_id: str) -> Response:
    rows = await app.state.pool.fetch(READ_SQL, app.state.shop_id, product_id)
    if not rows:
        raise HTTPException(404)
    return _json(_group(rows)[0])


@app.get("/products")
async def page(limit: int = 50, after: str | None = None) -> Response:
    pool, shop_id = app.state.pool, app.state.shop_id
    if after:
        iso, _, last_id = after.rpartition(",")
        at = datetime.fromisoformat(iso)
        rows = await pool.fetch(NEXT_PAGE_SQL, shop_id, limit, at, last_id)
    else:
        rows = await pool.fetch(FIRST_PAGE_SQL, shop_id, limit)
    items = _group(rows)
    nxt = None
    if len(items) == limit:
        nxt = f"{items[-1]['updated_at'].isoformat()},{items[-1]['id']}"
    return _json({"data": items, "next_cursor": nxt})
