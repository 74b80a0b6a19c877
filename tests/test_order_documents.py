"""The hot order reads, and the storefront's new order, serialise records themselves: byte
for byte what the `Order` (and `MerchantOrder`) schema writes from the entities."""

from __future__ import annotations

import httpx

from app.api.schemas.orders import BuyerOrder, MerchantOrder, Order
from app.container import Container
from app.domain.orders import services as orders
from tests import factories as f
from tests.order_support import on_sale, place
from tests.test_orders_provider import Shop


async def _entities(container: Container, shop_id: str, order_id: str) -> dict[str, str]:
    async with container.uow() as uow:
        order = await orders.get(uow, shop_id, order_id)
        shipments = await orders.shipments_of(uow, order)
        finance = MerchantOrder.for_member(order, shipments, personal=False)
        full = Order.of(order, shipments)
        return {
            "full": full.model_dump_json(),
            # The storefront's: the buyer's view (`BuyerOrder`, the pickup code with it).
            "buyer": BuyerOrder.for_buyer(order, shipments).model_dump_json(),
            # The provider's one-order read adds the order's after-sales in brief (none here).
            "one": full.model_copy(update={"aftersales": []}).model_dump_json(),
            "finance": finance.model_dump_json(),
        }


async def test_order_reads_answer_exactly_what_the_order_schema_writes(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    buyer = await f.buyer(new_client())
    await f.buyer_address(buyer)
    r = await place(buyer, shop, 2, 1, buyer_note="Ring twice — 请按两次")
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    # The storefront's answer to the order just placed: the schema's, of the entity stored.
    expected = await _entities(container, shop.shop_id, order_id)
    assert r.content == expected["buyer"].encode()

    s = Shop(shop.p, container, [shop.sku(0), shop.sku(1)], buyer)  # type: ignore[arg-type]
    await s.pay(order_id)
    lines = {x["quantity"]: x["id"] for x in r.json()["lines"]}
    for waybill, line_id in (("SF1234567890123", lines[2]), ("SF1234567890124", lines[1])):
        shipped = await shop.p.post(
            f"/v1/orders/{order_id}/shipments",
            {
                "carrier": "SF",
                "waybill_no": waybill,
                "lines": [{"line_id": line_id, "quantity": 1}],
            },
        )
        assert shipped.status_code == 201, shipped.text
    noted = await shop.p.client.put(
        f"/v1/orders/{order_id}/merchant-note", json={"note": "Gift — 礼物"}, headers=shop.p.h
    )
    assert noted.status_code == 200, noted.text

    expected = await _entities(container, shop.shop_id, order_id)
    full = expected["full"].encode()
    one = await shop.p.get(f"/v1/orders/{order_id}")
    assert one.status_code == 200, one.text
    assert one.content == expected["one"].encode()
    assert one.headers["etag"] == f'"{one.json()["version"]}"'
    assert one.headers["content-type"] == "application/json"
    assert "ratelimit-limit" in one.headers and "x-request-id" in one.headers
    doc = one.json()
    assert doc["status"] == 21 and doc["merchant_note"] == "Gift — 礼物"
    assert [x["lines"] for x in doc["shipments"]] == [
        [{"line_id": lines[2], "quantity": 1}],
        [{"line_id": lines[1], "quantity": 1}],
    ]
    assert [(t["event"], t["detail"]) for t in doc["timeline"]] == [
        ("placed", None),
        ("paid", None),
        *(("shipped", x["id"]) for x in doc["shipments"]),
    ]
    assert [t["at"] for t in doc["timeline"]] == [
        doc["created_at"],
        doc["paid_at"],
        *(x["created_at"] for x in doc["shipments"]),
    ]

    page = await shop.p.get("/v1/orders", limit=1)
    assert page.status_code == 200, page.text
    assert page.content == b'{"data":[' + full + b'],"next_cursor":null}'
    synced = await shop.p.get("/v1/orders", limit=1, sort="updated_at")
    assert synced.content == page.content

    owner = shop.p.auth.merchant
    finance = await f.member(owner, shop.shop_id, new_client(), "finance")
    for member, which in ((owner, "full"), (finance, "finance")):
        base = f"/merchant/shops/{shop.shop_id}/orders"
        got = await member.client.get(f"{base}/{order_id}", headers=member.h)
        assert got.status_code == 200, got.text
        assert got.content == expected[which].encode()
        listed = await member.client.get(base, headers=member.h)
        assert listed.content == b'{"data":[' + got.content + b'],"next_cursor":null}'


async def test_a_cancelled_order_reads_with_its_note_as_the_schema_writes_it(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    buyer = await f.buyer(new_client())
    await f.buyer_address(buyer)
    r = await place(buyer, shop, 1)
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    cancelled = await shop.p.post(
        f"/v1/orders/{order_id}/cancellation", {"reason": "Out of the fabric — 面料缺货"}
    )
    assert cancelled.status_code == 200, cancelled.text
    expected = await _entities(container, shop.shop_id, order_id)
    one = await shop.p.get(f"/v1/orders/{order_id}")
    assert one.content == expected["one"].encode()
    assert one.json()["cancel_note"] == "Out of the fabric — 面料缺货"
    assert [(t["event"], t["detail"]) for t in one.json()["timeline"]] == [
        ("placed", None),
        ("cancelled", "provider"),
    ]
    page = await shop.p.get("/v1/orders", status=250)
    assert page.content == b'{"data":[' + expected["full"].encode() + b'],"next_cursor":null}'
