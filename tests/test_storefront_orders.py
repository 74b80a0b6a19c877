"""A buyer's orders over HTTP: placing one (idempotent, every refusal clean), reading their
own, cancelling before payment, confirming receipt."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from app.container import Container
from app.domain.orders import services as orders
from app.infra.db import tables
from tests import factories as f
from tests.order_support import OnSale, buyer_order, key, on_sale, place


async def _stock(container: Container, shop: OnSale) -> list[int]:
    s = tables.skus
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(s.c.id, s.c.stock).where(s.c.shop_id == shop.shop_id).order_by(s.c.id)
        )
        by_id = {r.id: r.stock for r in rows}
    return [by_id[shop.sku(0)], by_id[shop.sku(1)]]


async def _events(container: Container, order_id: str) -> list[tuple[str, dict[str, Any]]]:
    o = tables.outbox_events
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(o.c.type, o.c.data).where(o.c.resource_id == order_id).order_by(o.c.id)
        )
        return [(r.type, r.data) for r in rows]


async def test_a_buyer_places_an_order_once_per_key(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container, stock=5)
    b = await f.buyer(new_client())
    address = await f.buyer_address(b)
    body = {
        "shop_id": shop.shop_id,
        "items": [{"sku_id": shop.sku(0), "quantity": 2}, {"sku_id": shop.sku(1), "quantity": 1}],
        "buyer_note": "Ring twice",
    }
    headers = {**b.h, **key()}
    r = await b.client.post("/v1/storefront/orders", json=body, headers=headers)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == 10 and order["buyer_id"] == b.id and order["total"] == 25000
    assert order["address"]["region_code"] == address["region_code"]
    again = await b.client.post("/v1/storefront/orders", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == order["id"]
    assert await _stock(container, shop) == [3, 4], "reserved once"
    mine = await b.client.get("/v1/storefront/orders", headers=b.h)
    assert [o["id"] for o in mine.json()["data"]] == [order["id"]]
    one = await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)
    assert one.status_code == 200 and one.json()["lines"] == order["lines"]


async def test_placing_an_order_needs_an_idempotency_key_and_an_address(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    body = {"shop_id": shop.shop_id, "items": [{"sku_id": shop.sku(0), "quantity": 1}]}
    r = await b.client.post("/v1/storefront/orders", json=body, headers=b.h)
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    r = await place(b, shop, 1)
    assert r.status_code == 404 and r.json()["code"] == "address_not_found"
    other = await f.buyer(new_client())
    theirs = await f.buyer_address(other)
    r = await place(b, shop, 1, address_id=theirs["id"])
    assert r.status_code == 404 and r.json()["code"] == "address_not_found"


async def test_every_refusal_names_its_reason_and_changes_nothing(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container, stock=2)
    b = await f.buyer(new_client())
    await f.buyer_address(b)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"items": [{"sku_id": shop.sku(0), "quantity": 3}]}, 409, "out_of_stock"),
        (
            {"items": [{"sku_id": "sku_01jd8m3k2x9v7q4w5e6r7t8y9z", "quantity": 1}]},
            404,
            "sku_not_found",
        ),
        ({"items": [{"sku_id": shop.sku(0), "quantity": 0}]}, 422, "quantity_invalid"),
        ({"items": []}, 422, "quantity_invalid"),
        ({"shop_id": "shop_01jd8m3k2x9v7q4w5e6r7t8y9z"}, 409, "shop_not_open"),
    ]
    for overrides, status, code in cases:
        body = {
            "shop_id": shop.shop_id,
            "items": [{"sku_id": shop.sku(0), "quantity": 1}],
            **overrides,
        }
        before = await f.fingerprint(container, shop.shop_id)
        r = await b.client.post("/v1/storefront/orders", json=body, headers={**b.h, **key()})
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        if code == "out_of_stock":
            assert r.json()["sku_id"] == shop.sku(0) and r.json()["available"] == 2
        after = await f.fingerprint(container, shop.shop_id)
        # The key may keep the refusal (a retry with it gets the same answer); nothing else.
        after.pop("idempotency_keys"), before.pop("idempotency_keys")
        assert after == before, code
    far = await f.buyer_address(b, region_code="650102")
    r = await place(b, shop, 1, address_id=far["id"])
    assert (r.status_code, r.json()["code"]) == (409, "region_not_sellable")
    r = await shop.p.post(f"/v1/products/{shop.product['id']}/delisting")
    assert r.status_code == 200
    r = await place(b, shop, 1, address_id=far["id"])
    assert (r.status_code, r.json()["code"]) == (409, "product_not_listed")


async def test_a_shortage_found_at_the_commit_is_the_keys_answer_and_nothing_is_kept(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    """On PostgreSQL the stock is taken in the commit's round trip, with the order's rows:
    a line short then refuses the commit. The answer is the same 409 as anywhere else, a
    retry with the key gets it again, and neither the order, its event, its timer nor the
    other line's units are kept; once stock is back, a new key places the order."""
    shop = await on_sale(client, container, stock=2)
    b = await f.buyer(new_client())
    await f.buyer_address(b)
    body = {
        "shop_id": shop.shop_id,
        "items": [{"sku_id": shop.sku(0), "quantity": 1}, {"sku_id": shop.sku(1), "quantity": 3}],
    }
    headers = {**b.h, **key()}
    before = await f.fingerprint(container, shop.shop_id)
    r = await b.client.post("/v1/storefront/orders", json=body, headers=headers)
    assert (r.status_code, r.json()["code"]) == (409, "out_of_stock"), r.text
    assert (r.json()["sku_id"], r.json()["available"]) == (shop.sku(1), 2)
    again = await b.client.post("/v1/storefront/orders", json=body, headers=headers)
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["detail"] == r.json()["detail"]
    after = await f.fingerprint(container, shop.shop_id)
    after.pop("idempotency_keys"), before.pop("idempotency_keys")
    assert after == before
    assert await _stock(container, shop) == [2, 2]
    sku_path = f"/v1/products/{shop.product['id']}/skus/{shop.sku(1)}"
    r = await shop.p.client.patch(sku_path, json={"low_stock_threshold": 1}, headers=shop.p.h)
    assert r.status_code == 200, r.text
    body["items"][1]["quantity"] = 2
    r = await b.client.post("/v1/storefront/orders", json=body, headers={**b.h, **key()})
    assert r.status_code == 201, r.text
    assert await _stock(container, shop) == [1, 0]
    assert [t for t, _ in await _events(container, r.json()["id"])] == ["order.created"]
    # The reservation's outcome, known in the commit's round trip, still alerts: sent after.
    low = await _events(container, shop.product["id"])
    assert [(t, d["sku_id"], d["stock"]) for t, d in low if t == "product.stock_low"] == [
        ("product.stock_low", shop.sku(1), 0)
    ]


async def test_a_buyer_cancels_before_paying_and_confirms_receipt_after_shipping(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container, stock=5)
    b = await f.buyer(new_client())
    first = await buyer_order(b, shop, 2)
    r = await b.client.post(f"/v1/storefront/orders/{first['id']}/cancellation", headers=b.h)
    assert r.status_code == 200 and r.json()["status"] == 250, r.text
    assert r.json()["cancel_reason"] == "buyer"
    assert await _stock(container, shop) == [5, 5]
    again = await b.client.post(f"/v1/storefront/orders/{first['id']}/cancellation", headers=b.h)
    assert again.status_code == 409 and again.json()["current_status"] == 250
    second = await buyer_order(b, shop, 1)
    early = await b.client.post(f"/v1/storefront/orders/{second['id']}/receipt", headers=b.h)
    assert early.status_code == 409 and early.json()["current_status"] == 10
    async with container.uow() as uow:
        (await orders.get(uow, shop.shop_id, second["id"], lock=True)).pay()
        await uow.commit()
    shipped = await shop.p.post(
        f"/v1/orders/{second['id']}/shipments", {"carrier": "SF", "waybill_no": "SF1234567890123"}
    )
    assert shipped.status_code == 201, shipped.text
    r = await b.client.post(f"/v1/storefront/orders/{second['id']}/receipt", headers=b.h)
    assert r.status_code == 200 and r.json()["status"] == 100, r.text
    assert r.json()["shipments"][0]["waybill_no"] == "SF1234567890123"
    assert [(k, d["sequence"]) for k, d in await _events(container, second["id"])] == [
        ("order.created", 1),
        ("order.shipped", 2),
        ("order.received", 3),
        ("order.completed", 4),
    ]
    # The cancelled order's close timer is gone, and so is the received one's auto-confirm;
    # the received one is to be settled.
    t = tables.timers
    async with container.engine.connect() as conn:
        pending = await conn.execute(
            sa.select(t.c.kind, t.c.key).where(
                t.c.key.in_([first["id"], second["id"]]), t.c.status == "pending"
            )
        )
        # (The second's close timer stays: it was paid by hand here, not through a payment,
        # and the close timer leaves a paid order alone.)
        assert sorted(pending.all()) == [
            ("order.close_unpaid", second["id"]),
            ("order.settle", second["id"]),
        ]


async def test_a_buyer_sees_only_their_own_orders(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    a, b = await f.buyer(new_client()), await f.buyer(new_client())
    order = await buyer_order(a, shop)
    r = await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)
    assert r.status_code == 404 and r.json()["code"] == "order_not_found"
    assert (await b.client.get("/v1/storefront/orders", headers=b.h)).json()["data"] == []
    provider_token = shop.p.h
    r = await client.get(f"/v1/storefront/orders/{order['id']}", headers=provider_token)
    assert r.status_code == 401


async def test_the_shops_own_note_is_never_shown_to_the_buyer(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    order = await buyer_order(b, shop, 1)
    r = await shop.p.client.put(
        f"/v1/orders/{order['id']}/merchant-note",
        json={"note": "Difficult customer, check the address twice"},
        headers=shop.p.h,
    )
    assert r.status_code == 200 and r.json()["merchant_note"].startswith("Difficult"), r.text
    one = await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)
    assert one.status_code == 200 and one.json()["merchant_note"] is None, one.text
    listed = await b.client.get("/v1/storefront/orders", headers=b.h)
    assert [o["merchant_note"] for o in listed.json()["data"]] == [None]
    cancelled = await b.client.post(
        f"/v1/storefront/orders/{order['id']}/cancellation", headers=b.h
    )
    assert cancelled.status_code == 200 and cancelled.json()["merchant_note"] is None
    # The shop still reads its note.
    assert (
        (await shop.p.get(f"/v1/orders/{order['id']}"))
        .json()["merchant_note"]
        .startswith("Difficult")
    )
