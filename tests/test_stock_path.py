"""The one stock path: every stock change is a conditional UPDATE in the stock repository, so
concurrent changes all count — a bulk import, a set, a delta, reservations and releases."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.catalog import stock
from app.domain.catalog.errors import OutOfStock, SkuNotFound
from app.domain.catalog.products import StockChange
from app.domain.errors import ValidationFailed
from app.infra.db import tables
from app.infra.db.repositories.bulk import SqlBulkRepository
from tests.bulk_support import NDJSON, imported, line, to_jsonl
from tests.product_support import Provider, events, provider, sku


async def test_a_price_only_import_line_keeps_a_stock_change_made_during_its_chunk(
    client: httpx.AsyncClient,
    container: Container,
    is_postgres: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stock 10; a -3 adjustment commits after the chunk has read the SKU and before it
    writes: the price-only line must not write back the 10 it read."""
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time: no adjustment can commit mid-chunk")
    p = await provider(client)
    product = await p.create(
        out_product_id="erp-race",
        skus=[sku(sale_attrs={"size": "M"}, out_sku_id="erp-race-m", price=19900, stock=10)],
    )
    base = f"/v1/products/{product['id']}/skus/{product['skus'][0]['id']}"
    original = SqlBulkRepository.update_skus
    adjusted: list[int] = []

    async def adjust_then_write(
        self: SqlBulkRepository, shop_id: str, updates: list[dict[str, Any]], now: Any
    ) -> None:
        # The chunk has read the SKU (stock 10); another request commits -3 now.
        r = await p.post(f"{base}/stock-adjustments", {"delta": -3})
        assert r.status_code == 200, r.text
        adjusted.append(r.json()["stock"])
        await original(self, shop_id, updates, now)

    monkeypatch.setattr(SqlBulkRepository, "update_skus", adjust_then_write)
    job = await imported(
        p, container, to_jsonl([line("erp-race", out_sku_id="erp-race-m", price=15900)]), NDJSON
    )
    assert job["succeeded"] == 1 and job["skus_updated"] == 1
    assert adjusted == [7]
    [after] = (await p.get(f"/v1/products/{product['id']}")).json()["skus"]
    assert (after["price"], after["stock"]) == (15900, 7)


async def _skus(p: Provider, *stocks: int, threshold: int | None = None) -> list[str]:
    """A product with one SKU per stock level; its SKU ids in that order."""
    product = await p.create(
        skus=[
            sku(sale_attrs={"size": f"S{i}"}, stock=n, low_stock_threshold=threshold)
            for i, n in enumerate(stocks)
        ]
    )
    return [s["id"] for s in product["skus"]]


async def _stocks(container: Container, *sku_ids: str) -> list[int]:
    s = tables.skus
    async with container.engine.connect() as conn:
        rows = dict(
            (await conn.execute(sa.select(s.c.id, s.c.stock).where(s.c.id.in_(sku_ids)))).all()
        )
    return [rows[i] for i in sku_ids]


async def _reserve(container: Container, shop_id: str, lines: dict[str, int]) -> list[StockChange]:
    async with container.uow() as uow:
        done = await stock.reserve(uow, shop_id, lines)
        await uow.commit()
        return done


async def _release(container: Container, shop_id: str, lines: dict[str, int]) -> list[StockChange]:
    async with container.uow() as uow:
        done = await stock.release(uow, shop_id, lines)
        await uow.commit()
        return done


async def test_a_reservation_takes_every_line_or_none_and_names_the_short_one(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    a, b = await _skus(p, 5, 2)
    done = await _reserve(container, p.shop_id, {b: 2, a: 3})
    assert {c.sku_id: (c.before, c.after) for c in done} == {a: (5, 2), b: (2, 0)}
    assert await _stocks(container, a, b) == [2, 0]
    with pytest.raises(OutOfStock) as short:
        await _reserve(container, p.shop_id, {a: 1, b: 1})
    assert short.value.code == "insufficient_stock" and short.value.status == 409
    assert short.value.extra == {"sku_id": b, "available": 0}
    assert await _stocks(container, a, b) == [2, 0]  # a's line was not taken either
    with pytest.raises(SkuNotFound):
        await _reserve(container, p.shop_id, {a: 1, "sku_missing": 1})
    other = await provider(client)
    with pytest.raises(SkuNotFound):  # another shop's SKU is not found, nor changed
        await _reserve(container, other.shop_id, {a: 1})
    with pytest.raises(ValidationFailed):
        await _reserve(container, p.shop_id, {a: 0})
    assert await _stocks(container, a, b) == [2, 0]
    done = await _release(container, p.shop_id, {a: 3, b: 2})
    assert {c.sku_id: (c.before, c.after) for c in done} == {a: (2, 5), b: (0, 2)}
    assert await _stocks(container, a, b) == [5, 2]
    assert await _release(container, other.shop_id, {a: 1}) == []
    assert await _stocks(container, a, b) == [5, 2]


async def test_a_reservation_that_crosses_the_threshold_raises_stock_low_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    [a] = await _skus(p, 6, threshold=3)
    await _reserve(container, p.shop_id, {a: 2})  # 6 → 4: above
    await _reserve(container, p.shop_id, {a: 2})  # 4 → 2: crossed
    await _reserve(container, p.shop_id, {a: 1})  # 2 → 1: still low
    await _release(container, p.shop_id, {a: 5})  # a rise raises nothing
    async with container.uow() as uow:
        found = await uow.products.find_sku(p.shop_id, sku_id=a)
        assert found is not None
        product_id = found.product_id
    lows = [d for t, d in await events(container, product_id) if t == "product.stock_low"]
    assert [(d["sku_id"], d["stock"], d["low_stock_threshold"]) for d in lows] == [(a, 2, 3)]


async def test_concurrent_reservations_never_oversell(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    [a] = await _skus(p, 10)
    results = await asyncio.gather(
        *(_reserve(container, p.shop_id, {a: 1}) for _ in range(20)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, list)]
    lost = [r for r in results if not isinstance(r, list)]
    assert len(won) == 10 and all(isinstance(e, OutOfStock) for e in lost), lost
    assert sorted(c.after for [c] in won) == list(range(10))
    assert await _stocks(container, a) == [0]


async def test_multi_line_reservations_in_opposite_orders_do_not_deadlock(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    a, b = await _skus(p, 100, 100)
    forward = {a: 1, b: 1}
    backward = {b: 1, a: 1}
    rounds = 10
    for _ in range(rounds):
        await asyncio.gather(
            _reserve(container, p.shop_id, forward),
            _reserve(container, p.shop_id, backward),
            _release(container, p.shop_id, backward),
        )
    assert await _stocks(container, a, b) == [100 - rounds, 100 - rounds]
