"""Product lifecycle (review, listing, bans), its events in the outbox, and atomic stock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from app.container import Container
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.catalog import product_lifecycle
from app.domain.shops import services as shop_services
from tests import factories as f
from tests.product_support import approved, audit, events, provider, sku

NewClient = Callable[..., httpx.AsyncClient]


async def test_review_listing_and_events(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    product = await p.create()
    pid = product["id"]

    # Only an approved or delisted product lists: a draft is an illegal transition.
    r = await p.post(f"/v1/products/{pid}/listing")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state_transition"
    assert r.json()["current_status"] == "draft"

    r = await p.post(f"/v1/products/{pid}/submit")
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    assert r.json()["submitted_at"] is not None
    r = await p.post(f"/v1/products/{pid}/submit")
    assert r.status_code == 409 and r.json()["current_status"] == "in_review"

    r = await op.client.get("/v1/platform/review-queue/products", params={"limit": 100})
    assert r.status_code == 200, r.text
    assert pid in [x["id"] for x in r.json()["data"]]

    r = await op.client.post(
        f"/v1/platform/products/{pid}/reject", json={"reason": "Blurry photos."}, headers=op.h
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["rejection_reason"] == "Blurry photos."
    r = await op.client.post(f"/v1/platform/products/{pid}/approve", headers=op.h)
    assert r.status_code == 409 and r.json()["current_status"] == "rejected"

    # Resubmitted and approved; no stock on any SKU: not listable, with the reason.
    await approved(p, op, pid)
    for s in product["skus"]:
        r = await client.put(
            f"/v1/products/{pid}/skus/{s['id']}/stock", json={"stock": 0}, headers=p.h
        )
        assert r.status_code == 200 and r.json()["stock"] == 0
    r = await p.post(f"/v1/products/{pid}/listing")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "not_listable" and "stock" in r.json()["reasons"][0]

    sid = product["skus"][0]["id"]
    await client.put(f"/v1/products/{pid}/skus/{sid}/stock", json={"stock": 3}, headers=p.h)
    r = await p.post(f"/v1/products/{pid}/listing")
    assert r.status_code == 200 and r.json()["status"] == "listed"
    r = await p.post(f"/v1/products/{pid}/delisting")
    assert r.status_code == 200 and r.json()["status"] == "delisted"
    r = await p.post(f"/v1/products/{pid}/delisting")
    assert r.status_code == 409 and r.json()["current_status"] == "delisted"
    r = await p.post(f"/v1/products/{pid}/listing")
    assert r.status_code == 200 and r.json()["status"] == "listed"

    r = await op.client.post(
        f"/v1/platform/products/{pid}/ban", json={"reason": "Counterfeit."}, headers=op.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "banned" and r.json()["ban_reason"] == "Counterfeit."
    for path in ("listing", "submit", "delisting"):
        r = await p.post(f"/v1/products/{pid}/{path}")
        assert r.status_code == 409 and r.json()["current_status"] == "banned", path
    r = await op.client.post(
        f"/v1/platform/products/{pid}/ban", json={"reason": "Again."}, headers=op.h
    )
    assert r.status_code == 409

    types = [t for t, _ in await events(container, pid)]
    assert types == [
        "product.review_rejected",
        "product.review_passed",
        "product.listed",
        "product.delisted",
        "product.listed",
        "product.banned",
    ]
    data = dict(await events(container, pid))
    assert data["product.banned"]["reason"] == "Counterfeit."
    assert data["product.listed"]["product_id"] == pid
    actions = [e["action"] for e in await audit(p, target_id=pid)]
    for action in (
        "product.created",
        "product.submitted",
        "product.review_rejected",
        "product.review_passed",
        "product.listed",
        "product.delisted",
        "product.banned",
    ):
        assert action in actions, action


async def test_review_queue_is_oldest_first_and_operator_only(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    ids = [(await p.create())["id"] for _ in range(3)]
    for pid in reversed(ids):
        assert (await p.post(f"/v1/products/{pid}/submit")).status_code == 200
    r = await op.client.get("/v1/platform/review-queue/products", params={"limit": 100})
    queue = [x["id"] for x in r.json()["data"] if x["id"] in ids]
    assert queue == list(reversed(ids))
    r = await op.client.post("/v1/platform/products/prod_nope/approve", headers=op.h)
    assert r.status_code == 404
    merchant = p.auth.merchant
    r = await merchant.client.get("/v1/platform/review-queue/products")
    assert r.status_code == 403


async def test_category_no_longer_usable_blocks_listing(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    """The category is checked again at listing time (rules and qualifications change)."""
    p = await provider(client)
    op = await f.operator(container, new_client())
    product = await p.create()
    await approved(p, op, product["id"])
    async with container.uow() as uow:
        stored = await uow.products.get(p.shop_id, product["id"])
        assert stored is not None
        stored.category_id = "cat_food_snacks_nuts"  # not open to personal shops
        await uow.commit()
    r = await p.post(f"/v1/products/{product['id']}/listing")
    assert r.status_code == 409 and r.json()["code"] == "not_listable"
    assert "cat_food_snacks_nuts" in r.json()["detail"]


async def test_auto_approve_goes_straight_to_approved(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    product = await p.create()
    actor = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)
    async with container.uow() as uow:
        shop = await shop_services.shop_or_404(uow, p.shop_id)
        done = await product_lifecycle.submit(uow, actor, shop, product["id"], auto_approve=True)
        await uow.commit()
    assert done.status == "approved"
    assert [t for t, _ in await events(container, product["id"])] == ["product.review_passed"]


async def test_stock_set_and_adjust(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    product = await p.create(skus=[sku(stock=5)])
    pid, sid = product["id"], product["skus"][0]["id"]
    base = f"/v1/products/{pid}/skus/{sid}"
    r = await client.put(f"{base}/stock", json={"stock": 8}, headers=p.h)
    assert r.status_code == 200 and r.json() == {"product_id": pid, "sku_id": sid, "stock": 8}
    r = await p.post(f"{base}/stock-adjustments", {"delta": -3})
    assert r.status_code == 200 and r.json()["stock"] == 5
    r = await p.post(f"{base}/stock-adjustments", {"delta": -6})
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock"
    r = await p.post(f"{base}/stock-adjustments", {"delta": 2})
    assert r.json()["stock"] == 7
    r = await client.put(f"{base}/stock", json={"stock": -1}, headers=p.h)
    assert r.status_code == 422
    got = (await p.get(f"/v1/products/{pid}")).json()["skus"][0]
    assert got["stock"] == 7
    entries = await audit(p, action="sku.stock_adjusted")
    assert sorted(e["after"]["delta"] for e in entries) == [-3, 2]


async def test_concurrent_adjustments_end_at_the_exact_sum(
    client: httpx.AsyncClient, new_client: NewClient
) -> None:
    """Runs on both: SQLite queues the writers (BEGIN IMMEDIATE), PostgreSQL runs them in
    parallel; either way the conditional UPDATE loses no adjustment."""
    p = await provider(client)
    product = await p.create(skus=[sku(stock=100)])
    pid, sid = product["id"], product["skus"][0]["id"]
    url = f"/v1/products/{pid}/skus/{sid}/stock-adjustments"
    deltas = [3 if i % 2 else -2 for i in range(50)]  # +75 - 50

    async def adjust(delta: int) -> httpx.Response:
        return await new_client().post(url, json={"delta": delta}, headers=p.h)

    results = await asyncio.gather(*(adjust(d) for d in deltas))
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.is_error]
    got = (await p.get(f"/v1/products/{pid}")).json()["skus"][0]["stock"]
    assert got == 100 + sum(deltas) == 125
    # Never below zero, whatever the interleaving: 11 x 12 = 132 > 125, so exactly one fails.
    # (Few requests: the whole test stays inside the rate limit's burst of 80.)
    results = await asyncio.gather(*(adjust(-12) for _ in range(11)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 10 + [409], [r.text for r in results]
    assert (await p.get(f"/v1/products/{pid}")).json()["skus"][0]["stock"] == 5
