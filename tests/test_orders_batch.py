"""The provider's order batch, `POST /v1/orders/batch`: notes, cancellations and shipments.

Each item answers what its single call would (status, body, problem), runs in its own
savepoint — a failed item leaves nothing behind: no stock released, no refund, no audit entry,
no event, no sequence number used — and the others commit together with their events.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.container import Container
from app.domain.orders import services as orders
from tests import factories as f
from tests.order_support import OnSale, buyer_order, on_sale
from tests.payment_support import (
    charge,
    events,
    open_payment,
    payment_row,
    settle_in_process,
    stock,
)
from tests.product_support import audit

NOWHERE = "order_01jd8m3k2x9v7q4w5e6r7t8y9z"


def without_request_id(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k != "request_id"}


async def batch(shop: OnSale, operations: list[Any], **headers: str) -> httpx.Response:
    return await shop.p.client.post(
        "/v1/orders/batch", json={"operations": operations}, headers={**shop.p.h, **headers}
    )


async def paid(container: Container, b: f.Buyer, order_id: str) -> dict[str, Any]:
    """Paid through the sandbox gateway (the payment made, its notification settled)."""
    payment = await open_payment(container, b.id, order_id)
    assert await settle_in_process(container, payment) == "paid"
    return {"id": payment.id, "shop_id": payment.shop_id, "reference": payment.gateway_reference}


async def marked_paid(container: Container, shop_id: str, order_id: str) -> None:
    """Paid without a payment on record: a cancellation then fails after it has cancelled the
    order, released its stock and written `order.cancelled` (409 `no_payment_to_refund`)."""
    async with container.uow() as uow:
        (await orders.get(uow, shop_id, order_id, lock=True)).pay()
        await uow.commit()


async def order_json(shop: OnSale, order_id: str) -> dict[str, Any]:
    """The order as a batch item's result shows it: the one-order read, less the order's
    after-sales in brief (none here) that only that read carries."""
    r = await shop.p.get(f"/v1/orders/{order_id}")
    assert r.status_code == 200, r.text
    order = dict(r.json())
    assert order.pop("aftersales") == []
    return {**order, "aftersales": None}


def sequence(found: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, int]]:
    return [(kind, data["sequence"]) for kind, data in found]


async def test_a_mixed_batch_commits_what_succeeds_and_nothing_of_what_fails(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    other = await on_sale(new_client(), container)
    b = await f.buyer(new_client())
    m, big = shop.sku(0), shop.sku(1)

    unpaid = (await buyer_order(b, shop, 2))["id"]  # 2 M
    refundable = (await buyer_order(b, shop, 0, 3))["id"]  # 3 L
    payment = await paid(container, b, refundable)
    shipped = (await buyer_order(b, shop, 1))["id"]
    await paid(container, b, shipped)
    r = await shop.p.post(
        f"/v1/orders/{shipped}/shipments", {"carrier": "SF", "waybill_no": "SF1234567890123"}
    )
    assert r.status_code == 201, r.text
    to_ship = (await buyer_order(b, shop, 2, 1))["id"]
    await paid(container, b, to_ship)
    noted = (await buyer_order(b, shop, 1))["id"]
    no_payment = (await buyer_order(b, shop, 0, 4))["id"]  # 4 L
    await marked_paid(container, shop.shop_id, no_payment)
    theirs = (await buyer_order(b, other, 1))["id"]
    await paid(container, b, theirs)

    lines = {x["sku_id"]: x["id"] for x in (await order_json(shop, to_ship))["lines"]}
    before = {
        "stock": (
            await stock(container, shop.shop_id, m),
            await stock(container, shop.shop_id, big),
        ),
        "shipped": await order_json(shop, shipped),
        "no_payment": await order_json(shop, no_payment),
        "other": await f.shop_fingerprint(container, other.shop_id),
    }

    bad_waybill = {"carrier": "SF", "waybill_no": "1234"}
    no_waybill = {"carrier": "SF"}
    operations: list[Any] = [
        {"op": "cancel", "order_id": unpaid, "reason": "Out of stock in the warehouse"},
        {"op": "cancel", "order_id": refundable, "reason": "The buyer asked by phone"},
        {"op": "cancel", "order_id": shipped, "reason": "Too late"},
        {"op": "ship", "order_id": to_ship, **bad_waybill},
        {
            "op": "ship",
            "order_id": to_ship,
            "carrier": "SF",
            "waybill_no": "SF1234567890124",
            "lines": [{"line_id": lines[m], "quantity": 1}],
        },
        {"op": "ship", "order_id": to_ship, "carrier": "ZTO", "waybill_no": "78123456789012"},
        {"op": "set_merchant_note", "order_id": noted, "note": "VIP, gift wrap"},
        {"op": "cancel", "order_id": NOWHERE, "reason": "Gone"},
        {"op": "cancel", "order_id": theirs, "reason": "Not mine"},
        {"op": "ship", "order_id": to_ship, **no_waybill},
        {"op": "cancel", "order_id": no_payment, "reason": "Fraud"},
        {"op": "cancel", "order_id": unpaid, "reason": "Twice"},
    ]
    r = await batch(shop, operations)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [d["index"] for d in data] == list(range(len(operations)))
    assert [d["op"] for d in data] == [o["op"] for o in operations]
    assert [d["status"] for d in data] == [
        200,
        200,
        409,
        422,
        201,
        201,
        200,
        404,
        404,
        422,
        409,
        409,
    ]
    assert [d["problem"] and d["problem"]["code"] for d in data] == [
        None,
        None,
        "invalid_order_transition",
        "waybill_invalid",
        None,
        None,
        None,
        "order_not_found",
        "order_not_found",
        "validation_error",
        "no_payment_to_refund",
        "invalid_order_transition",
    ]
    assert data[2]["problem"]["current_status"] == 30
    assert data[11]["problem"]["current_status"] == 250
    assert data[9]["problem"]["errors"][0]["loc"] == ["body", "waybill_no"]
    assert all(d["order"] is None and d["shipment"] is None for d in data if d["problem"])
    assert other.shop_id not in r.text

    # The successes carry the order after them (and the shipment): the single calls' bodies.
    assert (data[0]["order"]["status"], data[0]["order"]["cancel_reason"]) == (250, "provider")
    assert data[0]["order"]["cancel_note"] == "Out of stock in the warehouse"
    assert data[1]["order"]["status"] == 250
    assert data[4]["order"]["status"] == 21 and data[5]["order"]["status"] == 30
    assert data[4]["shipment"]["lines"] == [{"line_id": lines[m], "quantity": 1}]
    assert data[5]["shipment"]["waybill_no"] == "78123456789012"
    final = await order_json(shop, to_ship)
    assert final == data[5]["order"]
    assert final["shipments"] == [data[4]["shipment"], data[5]["shipment"]]
    assert data[6]["order"] == await order_json(shop, noted)
    assert data[6]["order"]["merchant_note"] == "VIP, gift wrap"

    # A failed item's problem is its single call's (the single calls fail too: no change).
    singles = [
        (2, await shop.p.post(f"/v1/orders/{shipped}/cancellation", {"reason": "Too late"})),
        (3, await shop.p.post(f"/v1/orders/{to_ship}/shipments", bad_waybill)),
        (7, await shop.p.post(f"/v1/orders/{NOWHERE}/cancellation", {"reason": "Gone"})),
        (8, await shop.p.post(f"/v1/orders/{theirs}/cancellation", {"reason": "Not mine"})),
        (9, await shop.p.post(f"/v1/orders/{to_ship}/shipments", no_waybill)),
        (10, await shop.p.post(f"/v1/orders/{no_payment}/cancellation", {"reason": "Fraud"})),
    ]
    for index, single in singles:
        assert single.status_code == data[index]["status"], (index, single.text)
        assert without_request_id(data[index]["problem"]) == without_request_id(single.json())

    # Stock: the unpaid order's 2 M and the refunded order's 3 L came back, once each; the
    # 4 L of the order whose cancellation failed did not.
    m_before, big_before = before["stock"]
    assert await stock(container, shop.shop_id, m) == m_before + 2
    assert await stock(container, shop.shop_id, big) == big_before + 3

    # The refund: the payment and the gateway's ledger say so, with its event.
    row = await payment_row(container, shop.shop_id, payment["id"])
    assert row.status == "refunded" and row.refund_reason == "cancelled_by_shop"
    assert (await charge(container, shop.shop_id, payment["reference"])).refund_id is not None

    # Events, numbered per order with no gap; none for the failed items.
    assert sequence(await events(container, unpaid)) == [
        ("order.created", 1),
        ("order.cancelled", 2),
    ]
    refund_events = await events(container, refundable)
    assert sequence(refund_events) == [
        ("order.created", 1),
        ("order.paid", 2),
        ("order.cancelled", 3),
        ("payment.refunded", 4),
    ]
    assert refund_events[2][1]["reason"] == "provider"
    assert refund_events[3][1]["refund_amount"] == 15000
    assert sequence(await events(container, to_ship)) == [
        ("order.created", 1),
        ("order.paid", 2),
        ("order.shipped", 3),
        ("order.shipped", 4),
    ]
    assert [k for k, _ in await events(container, shipped)] == [
        "order.created",
        "order.paid",
        "order.shipped",
    ]
    assert sequence(await events(container, no_payment)) == [("order.created", 1)]
    assert sequence(await events(container, noted)) == [("order.created", 1)]

    # The failed items' orders are as they were, and so is the other shop.
    assert await order_json(shop, shipped) == before["shipped"]
    assert await order_json(shop, no_payment) == before["no_payment"]
    assert await f.shop_fingerprint(container, other.shop_id) == before["other"]

    # Audit entries per successful item, as the single routes write them.
    cancelled = await audit(shop.p, action="order.cancelled")
    assert sorted(e["target_id"] for e in cancelled) == sorted([unpaid, refundable])
    assert {e["after"]["reason"] for e in cancelled} == {
        "Out of stock in the warehouse",
        "The buyer asked by phone",
    }
    shipments = await audit(shop.p, action="order.shipped")
    # The set-up's single shipment, then the batch's two.
    assert sorted(e["target_id"] for e in shipments) == sorted([shipped, to_ship, to_ship])
    assert [e["target_id"] for e in await audit(shop.p, action="order.merchant_note_set")] == [
        noted
    ]

    # The sequence a failed item took was given back: the next event is number 2.
    r = await shop.p.post(
        f"/v1/orders/{no_payment}/shipments", {"carrier": "SF", "waybill_no": "SF1234567890125"}
    )
    assert r.status_code == 201, r.text
    assert sequence(await events(container, no_payment)) == [
        ("order.created", 1),
        ("order.shipped", 2),
    ]


async def test_items_that_do_not_match_their_schema_fail_alone(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    order_id = (await buyer_order(b, shop, 1))["id"]
    version = (await order_json(shop, order_id))["version"]
    long_note = {"note": "x" * 501}
    operations: list[Any] = [
        {"op": "set_merchant_note", "order_id": order_id, **long_note},
        {"op": "cancel", "order_id": order_id},
        {"op": "ship", "order_id": order_id, "carrier": "SF", "waybill_no": "SF1234567890123",
         "lines": [{"line_id": "oline_x", "quantity": 0}]},
        {"op": "teleport", "order_id": order_id},
        {"op": "set_merchant_note", "note": "no order"},
        {"op": "set_merchant_note", "order_id": order_id, "note": "x", "colour": "red"},
        "not an object",
        {"op": "set_merchant_note", "order_id": order_id, "note": "Stale",
         "expected_version": version + 1},
        {"op": "set_merchant_note", "order_id": order_id, "note": "Fresh",
         "expected_version": version},
    ]  # fmt: skip
    r = await batch(shop, operations)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [d["status"] for d in data] == [422] * 7 + [412, 200]
    assert [d["op"] for d in data] == [
        "set_merchant_note",
        "cancel",
        "ship",
        None,
        "set_merchant_note",
        "set_merchant_note",
        None,
        "set_merchant_note",
        "set_merchant_note",
    ]
    locs = [[e["loc"] for e in d["problem"]["errors"]] for d in data[:6]]
    assert locs == [
        [["body", "note"]],
        [["body", "reason"]],
        [["body", "lines", 0, "quantity"]],
        [["body", "op"]],
        [["body", "order_id"]],
        [["body", "colour"]],
    ]
    assert data[6]["problem"]["code"] == "validation_error"
    assert data[7]["problem"]["code"] == "precondition_failed"
    assert data[8]["order"]["merchant_note"] == "Fresh"
    assert data[8]["order"]["version"] == version + 1

    # The same field errors as the single calls.
    singles = [
        (0, await shop.p.client.put(
            f"/v1/orders/{order_id}/merchant-note", json=long_note, headers=shop.p.h)),
        (1, await shop.p.post(f"/v1/orders/{order_id}/cancellation", {})),
    ]  # fmt: skip
    for index, single in singles:
        assert single.status_code == data[index]["status"], (index, single.text)
        assert without_request_id(data[index]["problem"]) == without_request_id(single.json())
    # The stale version is `If-Match`'s 412, naming the version the order was at then.
    assert data[7]["problem"]["current_version"] == version
    stale = await shop.p.client.put(
        f"/v1/orders/{order_id}/merchant-note",
        json={"note": "Stale"},
        headers={**shop.p.h, "If-Match": f'"{version}"'},
    )
    assert stale.status_code == 412 and stale.json()["code"] == data[7]["problem"]["code"]
    # Only the fresh note changed the order: one audit entry, still unpaid, no new event.
    order = await order_json(shop, order_id)
    assert (order["merchant_note"], order["status"]) == ("Fresh", 10)
    assert len(await audit(shop.p, action="order.merchant_note_set")) == 1
    assert sequence(await events(container, order_id)) == [("order.created", 1)]


async def test_an_empty_or_oversized_batch_is_refused_whole(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    order_id = (await buyer_order(b, shop, 1))["id"]
    cancel = {"op": "cancel", "order_id": order_id, "reason": "Too many"}
    before = await f.fingerprint(container, shop.shop_id)
    for operations in ([], [cancel] * 101, [cancel] * 100 + ["not an object"]):
        r = await batch(shop, operations)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "validation_error"
        assert r.json()["errors"][0]["loc"] == ["body", "operations"]
    for body in ({"operations": cancel}, {}, [cancel]):
        r = await shop.p.client.post("/v1/orders/batch", json=body, headers=shop.p.h)
        assert r.status_code == 422, r.text
    # Nothing moved: the order is still unpaid, its stock still reserved, no event, no audit.
    assert await f.fingerprint(container, shop.shop_id) == before
    assert (await order_json(shop, order_id))["status"] == 10
    # 100 is allowed: one cancellation, then 99 that find the order cancelled.
    r = await batch(shop, [cancel] * 100)
    assert r.status_code == 200, r.text
    assert [d["status"] for d in r.json()["data"]] == [200] + [409] * 99
    assert [k for k, _ in await events(container, order_id)] == [
        "order.created",
        "order.cancelled",
    ]


async def test_a_replayed_batch_runs_once(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    order_id = (await buyer_order(b, shop, 2))["id"]
    level = await stock(container, shop.shop_id, shop.sku(0))
    ops: list[Any] = [
        {"op": "set_merchant_note", "order_id": order_id, "note": "Call first"},
        {"op": "cancel", "order_id": order_id, "reason": "The buyer asked"},
        {"op": "cancel", "order_id": NOWHERE, "reason": "Gone"},
    ]
    first = await batch(shop, ops, **{"Idempotency-Key": "order-batch-once-1"})
    again = await batch(shop, ops, **{"Idempotency-Key": "order-batch-once-1"})
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert [d["status"] for d in first.json()["data"]] == [200, 200, 404]
    strip = [
        {**d, "problem": d["problem"] and without_request_id(d["problem"])}
        for d in first.json()["data"]
    ]
    assert [
        {**d, "problem": d["problem"] and without_request_id(d["problem"])}
        for d in again.json()["data"]
    ] == strip
    # Ran once: stock back once, one cancellation event, one audit entry each.
    assert await stock(container, shop.shop_id, shop.sku(0)) == level + 2
    assert sequence(await events(container, order_id)) == [
        ("order.created", 1),
        ("order.cancelled", 2),
    ]
    assert len(await audit(shop.p, action="order.cancelled")) == 1
    assert len(await audit(shop.p, action="order.merchant_note_set")) == 1
    other = await batch(shop, ops[:1], **{"Idempotency-Key": "order-batch-once-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


async def test_a_token_without_orders_write_is_refused(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    """The scope is the route's: checked before any item runs."""
    from tests.test_provider_enforcement import narrowed

    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    order_id = (await buyer_order(b, shop, 1))["id"]
    token = await narrowed(client, shop.p.auth, ["orders:read", "products:write"])
    r = await client.post(
        "/v1/orders/batch",
        json={"operations": [{"op": "cancel", "order_id": order_id, "reason": "No scope"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope", r.text
    assert (await order_json(shop, order_id))["status"] == 10
