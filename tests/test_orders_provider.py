"""The provider's order API: read and sync, the shop's note, price changes before payment,
shipments and their waybills, and the carrier catalogue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.orders import services as orders
from app.domain.orders.model import ReceivedBy
from app.infra.db import tables
from tests import factories as f
from tests.product_support import Provider, listed, provider, sku

ADDRESS = orders.Destination("Li Lei", "13800138000", "440305", "1 Keyuan Road")


class Shop:
    def __init__(self, p: Provider, container: Container, skus: list[str], buyer: f.User) -> None:
        self.p, self.container, self.skus, self.buyer = p, container, skus, buyer

    async def order(self, *quantities: int) -> str:
        async with self.container.uow() as uow:
            order = await orders.place(
                uow,
                shop_id=self.p.shop_id,
                buyer_id=self.buyer.id,
                items=[orders.Item(self.skus[i], q) for i, q in enumerate(quantities) if q],
                address=ADDRESS,
                buyer_note="Ring twice",
                payment_timeout=timedelta(minutes=30),
            )
            await uow.commit()
            return order.id

    async def pay(self, order_id: str) -> None:
        async with self.container.uow() as uow:
            (await orders.get(uow, self.p.shop_id, order_id, lock=True)).pay()
            await uow.commit()

    async def get(self, order_id: str) -> dict[str, Any]:
        r = await self.p.get(f"/v1/orders/{order_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def events(self, order_id: str) -> list[tuple[str, dict[str, Any]]]:
        o = tables.outbox_events
        async with self.container.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(o.c.type, o.c.data).where(o.c.resource_id == order_id).order_by(o.c.id)
            )
            return [(r.type, r.data) for r in rows]


@pytest.fixture
async def shop(client: httpx.AsyncClient, container: Container, new_client: f.NewClient) -> Shop:
    p = await provider(client)
    product = await p.create(
        skus=[
            sku(sale_attrs={"size": "M"}, price=10000, stock=50),
            sku(sale_attrs={"size": "L"}, price=5000, stock=50),
        ]
    )
    await listed(p, await f.operator(container, new_client()), product["id"])
    buyer = await f.user(new_client())
    return Shop(p, container, [s["id"] for s in product["skus"]], buyer)


async def test_an_order_reads_with_its_lines_address_and_etag(shop: Shop) -> None:
    order_id = await shop.order(2, 1)
    r = await shop.p.get(f"/v1/orders/{order_id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["etag"] == f'"{body["version"]}"'
    assert body["status"] == 10 and body["buyer_id"] == shop.buyer.id
    assert (body["product_total"], body["freight"], body["discount_total"], body["total"]) == (
        25000,
        0,
        0,
        25000,
    )
    assert sorted((x["quantity"], x["unit_price"], x["total"]) for x in body["lines"]) == [
        (1, 5000, 5000),
        (2, 10000, 20000),
    ]
    assert body["lines"][0]["snapshot"]["title"] and body["lines"][0]["aftersale_quantity"] == 0
    assert body["address"]["district"] == "南山区" and body["address"]["phone"] == "13800138000"
    assert body["buyer_note"] == "Ring twice" and body["shipments"] == []
    missing = await shop.p.get("/v1/orders/order_01jd8m3k2x9v7q4w5e6r7t8y9z")
    assert missing.status_code == 404 and missing.json()["code"] == "order_not_found"


async def test_the_list_filters_pages_and_syncs(shop: Shop) -> None:
    ids = [await shop.order(1) for _ in range(5)]
    await shop.pay(ids[1])
    await shop.pay(ids[3])
    seen: list[str] = []
    cursor = None
    while True:
        r = await shop.p.get("/v1/orders", limit=2, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        seen += [o["id"] for o in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids)), "newest first, each once"
    r = await shop.p.get("/v1/orders", status=[20])
    assert r.status_code == 200, r.text
    assert {o["id"] for o in r.json()["data"]} == {ids[1], ids[3]}
    r = await shop.p.get("/v1/orders", status=[10, 20])
    assert len(r.json()["data"]) == 5
    first = await shop.get(ids[0])
    r = await shop.p.get("/v1/orders", updated_since=first["updated_at"])
    synced = [o["id"] for o in r.json()["data"]]
    assert synced[-2:] == [ids[1], ids[3]], "oldest change first: the paid ones last"
    r = await shop.p.get("/v1/orders", paid_from=first["created_at"])
    assert {o["id"] for o in r.json()["data"]} == {ids[1], ids[3]}
    r = await shop.p.get("/v1/orders", created_from="2026-01-01T00:00:00")
    assert r.status_code == 422, "a time without a zone"


async def test_the_merchant_note_honours_if_match(shop: Shop) -> None:
    order_id = await shop.order(1)
    version = (await shop.get(order_id))["version"]
    r = await shop.p.client.put(
        f"/v1/orders/{order_id}/merchant-note",
        json={"note": "VIP"},
        headers={**shop.p.h, "If-Match": f'"{version}"'},
    )
    assert r.status_code == 200 and r.json()["merchant_note"] == "VIP", r.text
    stale = await shop.p.client.put(
        f"/v1/orders/{order_id}/merchant-note",
        json={"note": "late"},
        headers={**shop.p.h, "If-Match": f'"{version}"'},
    )
    assert stale.status_code == 412
    assert (await shop.get(order_id))["merchant_note"] == "VIP"


async def test_a_price_changes_only_before_payment(shop: Shop) -> None:
    order_id = await shop.order(2, 1)
    order = await shop.get(order_id)
    line = next(x for x in order["lines"] if x["unit_price"] == 10000)
    r = await shop.p.post(
        f"/v1/orders/{order_id}/price",
        {"lines": [{"line_id": line["id"], "unit_price": 8000}], "freight": 600},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["product_total"], r.json()["freight"], r.json()["total"]) == (
        21000,
        600,
        21600,
    )
    bad = await shop.p.post(
        f"/v1/orders/{order_id}/price", {"lines": [{"line_id": "oline_x", "unit_price": 1}]}
    )
    assert bad.status_code == 422
    await shop.pay(order_id)
    late = await shop.p.post(f"/v1/orders/{order_id}/price", {"freight": 0})
    assert late.status_code == 409
    assert late.json()["code"] == "invalid_order_transition"
    assert late.json()["current_status"] == 20
    assert [(k, d["sequence"], d["total"]) for k, d in await shop.events(order_id)] == [
        ("order.created", 1, 25000),
        ("order.price_changed", 2, 21600),
    ]


async def test_shipments_move_the_order_and_check_their_waybills(shop: Shop) -> None:
    order_id = await shop.order(2, 1)
    unpaid = await shop.p.post(
        f"/v1/orders/{order_id}/shipments", {"carrier": "SF", "waybill_no": "SF1234567890123"}
    )
    assert unpaid.status_code == 409 and unpaid.json()["current_status"] == 10
    await shop.pay(order_id)
    lines = {x["quantity"]: x["id"] for x in (await shop.get(order_id))["lines"]}
    for body, code in [
        ({"carrier": "SF", "waybill_no": "1234"}, "waybill_invalid"),
        ({"carrier": "UPS", "waybill_no": "1Z999AA10123456784"}, "carrier_unknown"),
        (
            {
                "carrier": "SF",
                "waybill_no": "SF1234567890123",
                "lines": [{"line_id": lines[2], "quantity": 3}],
            },
            "quantity_invalid",
        ),
    ]:
        r = await shop.p.post(f"/v1/orders/{order_id}/shipments", body)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    part = await shop.p.post(
        f"/v1/orders/{order_id}/shipments",
        {
            "carrier": "SF",
            "waybill_no": "sf1234567890123",
            "lines": [{"line_id": lines[2], "quantity": 1}],
        },
    )
    assert part.status_code == 201, part.text
    assert part.json()["waybill_no"] == "SF1234567890123"
    assert (await shop.get(order_id))["status"] == 21
    rest = await shop.p.post(
        f"/v1/orders/{order_id}/shipments", {"carrier": "ZTO", "waybill_no": "78123456789012"}
    )
    assert rest.status_code == 201, rest.text
    assert rest.json()["lines"] == sorted(
        [{"line_id": lines[2], "quantity": 1}, {"line_id": lines[1], "quantity": 1}],
        key=lambda x: x["line_id"],
    )
    order = await shop.get(order_id)
    assert order["status"] == 30 and order["shipped_at"] is not None
    assert [s["id"] for s in order["shipments"]] == [part.json()["id"], rest.json()["id"]]
    fixed = await shop.p.client.patch(
        f"/v1/orders/{order_id}/shipments/{part.json()['id']}",
        json={"carrier": "YTO", "waybill_no": "YT1234567890123"},
        headers=shop.p.h,
    )
    assert fixed.status_code == 200 and fixed.json()["carrier"] == "YTO", fixed.text
    events = await shop.events(order_id)
    assert [(k, d.get("shipment_id"), d["status"]) for k, d in events[1:]] == [
        ("order.shipped", part.json()["id"], 21),
        ("order.shipped", rest.json()["id"], 30),
    ]
    async with shop.container.uow() as uow:
        (await orders.get(uow, shop.p.shop_id, order_id, lock=True)).confirm_receipt(
            ReceivedBy.BUYER
        )
        await uow.commit()
    late = await shop.p.client.patch(
        f"/v1/orders/{order_id}/shipments/{part.json()['id']}",
        json={"waybill_no": "YT1234567890124"},
        headers=shop.p.h,
    )
    assert late.status_code == 409 and late.json()["current_status"] == 100


async def test_the_carrier_catalogue_is_public(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/logistics/carriers")
    assert r.status_code == 200, r.text
    codes = [c["code"] for c in r.json()["data"]]
    assert {"SF", "ZTO", "YTO", "STO", "YD", "JD", "EMS", "JTSD", "DBL", "HTKY"} <= set(codes)
    assert r.headers["cache-control"].startswith("public")
