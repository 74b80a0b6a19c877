"""`product.stock_low`: written once when a stock change takes a SKU from above its
`low_stock_threshold` to at or below it — on the single endpoints and in batches — never
while it stays low, never on a rise, exact under concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from app.container import Container
from tests.product_support import Provider, audit, events, provider, sku

NewClient = Callable[..., httpx.AsyncClient]


async def low_events(container: Container, product_id: str) -> list[dict[str, Any]]:
    return [data for t, data in await events(container, product_id) if t == "product.stock_low"]


async def one_sku(p: Provider, *, stock: int, threshold: int | None) -> tuple[str, str]:
    product = await p.create(
        out_product_id="erp-low",
        skus=[sku(stock=stock, low_stock_threshold=threshold, out_sku_id="erp-low-m")],
    )
    return product["id"], product["skus"][0]["id"]


async def test_the_threshold_is_a_sku_field(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    product = await p.create(skus=[sku(low_stock_threshold=3), sku(sale_attrs={"size": "L"})])
    thresholds = sorted(
        (s["low_stock_threshold"] is None, s["low_stock_threshold"]) for s in product["skus"]
    )
    assert thresholds == [(False, 3), (True, None)]  # no alert unless asked for
    pid = product["id"]
    sid = next(s["id"] for s in product["skus"] if s["low_stock_threshold"] == 3)
    r = await client.patch(
        f"/v1/products/{pid}/skus/{sid}", json={"low_stock_threshold": 8}, headers=p.h
    )
    assert r.status_code == 200 and r.json()["low_stock_threshold"] == 8
    r = await client.patch(
        f"/v1/products/{pid}/skus/{sid}", json={"low_stock_threshold": -1}, headers=p.h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "low_stock_threshold"]
    r = await client.patch(
        f"/v1/products/{pid}/skus/{sid}", json={"low_stock_threshold": None}, headers=p.h
    )
    assert r.status_code == 200 and r.json()["low_stock_threshold"] is None


async def test_raised_once_per_crossing_never_on_a_rise(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    pid, sid = await one_sku(p, stock=10, threshold=5)
    base = f"/v1/products/{pid}/skus/{sid}"

    async def adjust(delta: int) -> None:
        r = await p.post(f"{base}/stock-adjustments", {"delta": delta})
        assert r.status_code == 200, r.text

    async def set_to(stock: int) -> None:
        r = await client.put(f"{base}/stock", json={"stock": stock}, headers=p.h)
        assert r.status_code == 200, r.text

    await adjust(-4)  # 6: still above
    assert await low_events(container, pid) == []
    await adjust(-1)  # 5: at the threshold — crossed
    [event] = await low_events(container, pid)
    assert event == {
        "shop_id": p.shop_id,
        "product_id": pid,
        "out_product_id": "erp-low",
        "status": "draft",
        "sku_id": sid,
        "out_sku_id": "erp-low-m",
        "stock": 5,
        "low_stock_threshold": 5,
    }
    await adjust(-2)  # 3: stays low
    await set_to(1)  # stays low
    await adjust(+1)  # rising, still low
    await set_to(20)  # rising above
    assert len(await low_events(container, pid)) == 1
    # A refused change raises nothing either.
    r = await p.post(f"{base}/stock-adjustments", {"delta": -21})
    assert r.status_code == 409
    await set_to(0)  # crossed again, by an absolute set
    await adjust(+6)
    await adjust(-6)  # and again, by a delta from 6 to 0
    assert [e["stock"] for e in await low_events(container, pid)] == [5, 0, 0]


async def test_batches_raise_it_too(client: httpx.AsyncClient, container: Container) -> None:
    p = await provider(client)
    pid, sid = await one_sku(p, stock=10, threshold=5)
    r = await p.post(
        "/v1/products/batch",
        {
            "operations": [
                {"op": "adjust_stock", "product_id": pid, "sku_id": sid, "delta": -5},
                {"op": "set_stock", "product_id": pid, "sku_id": sid, "stock": 9},
            ]
        },
    )
    assert [d["status"] for d in r.json()["data"]] == [200, 200], r.text
    r = await p.post(
        "/v1/stock/batch",
        {
            "items": [
                {"out_sku_id": "erp-low-m", "stock": 2},  # crosses
                {"sku_id": sid, "delta": -1},  # stays low
                {"sku_id": sid, "delta": -5},  # refused: 409, nothing written
            ]
        },
    )
    assert [d["status"] for d in r.json()["data"]] == [200, 200, 409], r.text
    assert [e["stock"] for e in await low_events(container, pid)] == [5, 2]
    # No threshold, no alert.
    other = await p.create(out_product_id="erp-quiet", skus=[sku(stock=3)])
    r = await p.post("/v1/stock/batch", {"items": [{"sku_id": other["skus"][0]["id"], "stock": 0}]})
    assert r.json()["data"][0]["status"] == 200
    assert await low_events(container, other["id"]) == []


async def test_exact_under_concurrent_decrements(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    """On PostgreSQL the 50 UPDATEs run in parallel (SQLite queues them); each sees its own
    before and after, so exactly one of them is the crossing."""
    p = await provider(client)
    pid, sid = await one_sku(p, stock=60, threshold=30)
    url = f"/v1/products/{pid}/skus/{sid}/stock-adjustments"
    results = await asyncio.gather(
        *(new_client().post(url, json={"delta": -1}, headers=p.h) for _ in range(50))
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.is_error]
    assert (await p.get(f"/v1/products/{pid}")).json()["skus"][0]["stock"] == 10
    [event] = await low_events(container, pid)
    assert event["stock"] == 30


async def test_exact_under_concurrent_absolute_sets(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    """Absolute sets racing: every change's before is the after of the one before it, so
    the events are exactly the crossings of that order."""
    p = await provider(client)
    pid, sid = await one_sku(p, stock=10, threshold=5)
    url = f"/v1/products/{pid}/skus/{sid}/stock"
    levels = [20 if i % 2 else 3 for i in range(30)]
    results = await asyncio.gather(
        *(new_client().put(url, json={"stock": s}, headers=p.h) for s in levels)
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.is_error]
    entries = await audit(p, action="sku.stock_set")
    pairs = [(e["before"]["stock"], e["after"]["stock"]) for e in entries]
    assert len(pairs) == 30
    final = (await p.get(f"/v1/products/{pid}")).json()["skus"][0]["stock"]
    # The befores are the start plus every after but the last: a chain, nothing stale.
    assert Counter(b for b, _ in pairs) == Counter([10, *(a for _, a in pairs)]) - Counter([final])
    crossings = sum(1 for b, a in pairs if b > 5 >= a)
    assert crossings >= 1
    assert len(await low_events(container, pid)) == crossings
