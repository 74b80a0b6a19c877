"""The orders floor: placing an order and reading a page of orders with no framework logic.

Bare FastAPI, one asyncpg pool, orjson; the same tables, keys (`(shop_id, id)`) and ids
(`app.domain.ids.new_id`) as the project. It takes every advantage the project's driver
path takes (as `bench/floor.py` does): no reset round trip when a connection goes back to
the pool, no inactivity timer, statements prepared once per connection (asyncpg's cache),
orjson for `json`/`jsonb` and for the body; the same pool size as the project's default.

    FLOOR_DSN=postgresql://postgres@127.0.0.1:5432/db FLOOR_BUYER_ID=acct_... \
        .venv/bin/python -m uvicorn bench.order_floor:app --workers 1 --no-access-log

    POST /orders  {"shop_id", "items": [{"sku_id", "quantity"}, ...]}       (floor-order)
        one transaction: each SKU locked and decremented in id order by a conditional UPDATE
        that also reads what the line snapshots (price, title, image, attributes), the order
        inserted with the shop's flat freight computed in the same statement, its lines in
        one INSERT, its `order.created` outbox row; commit. 201 with the order's id and
        total, 409 when a SKU is short (nothing changed).
    GET /orders?shop_id=...&limit=50                                      (floor-order-list)
        the shop's newest orders with their lines: one statement (the page in a CTE joined
        to its lines), rows to JSON.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.domain.ids import new_id
from bench.floor import _init, _no_reset

ORDER_COLS = (
    "id",
    "shop_id",
    "buyer_id",
    "status",
    "product_total",
    "freight",
    "discount_total",
    "total",
    "address",
    "buyer_note",
    "merchant_note",
    "cancel_reason",
    "cancel_note",
    "received_by",
    "paid_at",
    "shipped_at",
    "received_at",
    "completed_at",
    "cancelled_at",
    "closed_at",
    "created_at",
    "updated_at",
    "version",
)
LINE_COLS = (
    "id",
    "order_id",
    "product_id",
    "sku_id",
    "quantity",
    "unit_price",
    "snapshot",
    "shipped_quantity",
    "aftersale_quantity",
)
_NO = len(ORDER_COLS)

TAKE_SQL = """
UPDATE skus s SET stock = s.stock - $3, version = s.version + 1, updated_at = $4
FROM products p
WHERE s.shop_id = $1 AND s.id = $2 AND s.stock >= $3
  AND p.shop_id = s.shop_id AND p.id = s.product_id AND p.status = 'listed'
RETURNING s.product_id, s.price, s.sale_attrs, s.out_sku_id, p.title, p.images,
          p.out_product_id
"""
ORDER_SQL = """
INSERT INTO orders (id, shop_id, buyer_id, status, product_total, freight, discount_total,
                    total, address, created_at, updated_at, version)
SELECT $2, sh.id, $3, 10, $4, f.fee, 0, $4 + f.fee, $5, $6, $6, 1
FROM shops sh,
     LATERAL (SELECT CASE WHEN sh.free_shipping_from IS NOT NULL
                           AND $4 >= sh.free_shipping_from THEN 0
                          ELSE sh.freight_fee END AS fee) f
WHERE sh.id = $1
RETURNING total
"""
LINES_SQL = """
INSERT INTO order_lines (id, shop_id, order_id, product_id, sku_id, quantity, unit_price,
                         snapshot, shipped_quantity, aftersale_quantity)
SELECT l.id, $1, $2, l.product_id, l.sku_id, l.quantity, l.unit_price, l.snapshot, 0, 0
FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::jsonb[])
     AS l(id, product_id, sku_id, quantity, unit_price, snapshot)
"""
OUTBOX_SQL = """
INSERT INTO outbox_events (id, type, shop_id, resource_id, data, created_at, sequence)
VALUES ($1, 'order.created', $2, $3, $4, $5, 1)
"""
PAGE_SQL = f"""
WITH page AS (
    SELECT * FROM orders WHERE shop_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
)
SELECT {", ".join([f"o.{c}" for c in ORDER_COLS] + [f"l.{c}" for c in LINE_COLS])}
FROM page o LEFT JOIN order_lines l ON l.shop_id = o.shop_id AND l.order_id = o.id
ORDER BY o.created_at DESC, o.id DESC, l.id
"""

#: The freight quote's one read: the shop's flat freight and each SKU's price and product.
QUOTE_SQL = """
SELECT sh.freight_fee, sh.free_shipping_from, s.id, s.price, p.status, p.regions
FROM shops sh
LEFT JOIN skus s ON s.shop_id = $1 AND s.id = ANY($2::text[])
LEFT JOIN products p ON p.shop_id = $1 AND p.id = s.product_id
WHERE sh.id = $1
"""

ADDRESS = {
    "recipient": "王芳",
    "phone": "13800138000",
    "region_code": "440305",
    "province": "广东省",
    "city": "深圳市",
    "district": "南山区",
    "detail": "科技园南区深南大道10000号 2栋 1801",
}


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
    app.state.buyer_id = os.environ["FLOOR_BUYER_ID"]
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@app.get("/health")
async def health() -> Response:
    return _json({"status": "ok"})


class _Short(Exception):
    pass


@app.post("/orders")
async def place(request: Request) -> Response:
    body = orjson.loads(await request.body())
    shop_id: str = body["shop_id"]
    wanted: dict[str, int] = {}
    for item in body["items"]:
        wanted[item["sku_id"]] = wanted.get(item["sku_id"], 0) + int(item["quantity"])
    now = datetime.now(UTC)
    order_id = new_id("order")
    ids, products, skus, quantities, prices, snapshots = [], [], [], [], [], []
    try:
        async with app.state.pool.acquire() as conn, conn.transaction():
            for sku_id in sorted(wanted):  # one lock order for every order: no deadlock
                row = await conn.fetchrow(TAKE_SQL, shop_id, sku_id, wanted[sku_id], now)
                if row is None:
                    raise _Short(sku_id)
                ids.append(new_id("oline"))
                products.append(row["product_id"])
                skus.append(sku_id)
                quantities.append(wanted[sku_id])
                prices.append(row["price"])
                snapshots.append(
                    {
                        "title": row["title"],
                        "image": row["images"][0] if row["images"] else None,
                        "sale_attrs": row["sale_attrs"],
                        "out_product_id": row["out_product_id"],
                        "out_sku_id": row["out_sku_id"],
                    }
                )
            product_total = sum(p * q for p, q in zip(prices, quantities, strict=True))
            total = await conn.fetchval(
                ORDER_SQL, shop_id, order_id, app.state.buyer_id, product_total, ADDRESS, now
            )
            await conn.execute(
                LINES_SQL, shop_id, order_id, ids, products, skus, quantities, prices, snapshots
            )
            data = {
                "shop_id": shop_id,
                "order_id": order_id,
                "status": 10,
                "total": total,
                "sequence": 1,
            }
            await conn.execute(OUTBOX_SQL, new_id("evt"), shop_id, order_id, data, now)
    except _Short as e:
        return _json({"code": "out_of_stock", "sku_id": str(e)}, 409)
    return _json({"id": order_id, "status": 10, "total": total}, 201)


@app.post("/shops/{shop_id}/freight-quote")
async def quote(shop_id: str, request: Request) -> Response:
    """The floor of the storefront's freight quote: the same read, flat freight, JSON."""
    body = orjson.loads(await request.body())
    wanted: dict[str, int] = {}
    for item in body["items"]:
        wanted[item["sku_id"]] = wanted.get(item["sku_id"], 0) + int(item["quantity"])
    rows = await app.state.pool.fetch(QUOTE_SQL, shop_id, list(wanted))
    if not rows:
        return _json({"code": "shop_not_found"}, 404)
    province = body["region_code"][:2]
    total, unsold = 0, []
    for r in rows:
        if r["id"] is None:
            continue
        total += r["price"] * wanted[r["id"]]
        if r["regions"] and province not in r["regions"]:
            unsold.append(r["id"])
    fee, free_from = rows[0]["freight_fee"], rows[0]["free_shipping_from"]
    freight = 0 if free_from is not None and total >= free_from else fee
    return _json(
        {
            "deliverable": not unsold,
            "freight": None if unsold else freight,
            "currency": "CNY",
            "product_total": total,
            "not_deliverable_sku_ids": unsold,
        }
    )


@app.get("/orders")
async def page(shop_id: str, limit: int = 50) -> Response:
    rows = await app.state.pool.fetch(PAGE_SQL, shop_id, limit + 1)
    orders: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for r in rows:
        if current is None or current["id"] != r[0]:
            current = dict(zip(ORDER_COLS, r[:_NO], strict=True))
            current["lines"] = []
            orders.append(current)
        if r[_NO] is not None:
            current["lines"].append(dict(zip(LINE_COLS, r[_NO:], strict=True)))
    nxt = None
    if len(orders) > limit:
        orders = orders[:limit]
        nxt = f"{orders[-1]['created_at'].isoformat()},{orders[-1]['id']}"
    return _json({"data": orders, "next_cursor": nxt})
