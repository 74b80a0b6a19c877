"""The shop's orders on the merchant surface: every role reads them; finance reads amounts;
members whose role manages orders cancel them."""

from __future__ import annotations

from typing import Any

import httpx

from app.container import Container
from tests import factories as f
from tests.order_support import buyer_order, on_sale, order_in_shop
from tests.payment_support import events, notification, notify, paid_payment, payment_row, stock
from tests.product_support import audit


async def test_members_read_the_shops_orders_by_role(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    buyer = await f.user(new_client())
    order_id = await order_in_shop(container, shop["id"], buyer.id)
    for role in ("owner", "operator", "customer_service", "finance"):
        u = owner if role == "owner" else await f.member(owner, shop["id"], new_client(), role)
        listed = await u.client.get(f"/merchant/shops/{shop['id']}/orders", headers=u.h)
        assert listed.status_code == 200, listed.text
        [order] = listed.json()["data"]
        one = await u.client.get(f"/merchant/shops/{shop['id']}/orders/{order_id}", headers=u.h)
        assert one.status_code == 200 and one.json() == order
        assert order["id"] == order_id and order["total"] == 9900
        if role == "finance":
            assert order["address"] is None and order["buyer_note"] is None
        else:
            assert order["address"]["district"] == "南山区" and order["buyer_note"] == "For B"
    stranger = await f.user(new_client())
    r = await stranger.client.get(f"/merchant/shops/{shop['id']}/orders", headers=stranger.h)
    assert r.status_code == 404 and r.json()["code"] == "shop_not_found"
    r = await owner.client.get(
        f"/merchant/shops/{shop['id']}/orders", params={"status": [20]}, headers=owner.h
    )
    assert r.json()["data"] == []


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code, body
    return body


async def test_a_member_who_manages_orders_cancels_a_paid_one_and_it_is_refunded(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container, stock=10)
    owner, sid = shop.p.auth.merchant, shop.shop_id
    b = await f.buyer(new_client())
    order = await buyer_order(b, shop, 2)
    payment = await paid_payment(b, order["id"])
    r = await notify(new_client(), container, await notification(container, payment))
    assert r.json()["outcome"] == "paid"
    assert await stock(container, sid, shop.sku(0)) == 8
    operator = await f.member(owner, sid, new_client(), "operator")
    finance = await f.member(owner, sid, new_client(), "finance")
    path = f"/merchant/shops/{sid}/orders/{order['id']}/cancellation"
    body = {"reason": "Out of stock, sorry"}

    # Refused, changing nothing: a role without orders.manage, no CSRF token, no reason.
    before = await f.fingerprint(container, sid)
    r = await finance.client.post(path, json=body, headers=finance.h)
    assert _problem(r, 403, "permission_denied")["permission"] == "orders.manage"
    _problem(await operator.client.post(path, json=body), 403, "csrf_failed")
    r = await operator.client.post(path, json={"reason": ""}, headers=operator.h)
    _problem(r, 422, "validation_error")
    r = await operator.client.post(path, json={}, headers=operator.h)
    _problem(r, 422, "validation_error")
    assert await f.fingerprint(container, sid) == before

    r = await operator.client.post(path, json=body, headers=operator.h)
    assert r.status_code == 200, r.text
    cancelled = r.json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == (250, "merchant")
    assert cancelled["cancel_note"] == "Out of stock, sorry"
    assert cancelled["address"] is not None and r.headers["etag"]
    assert await stock(container, sid, shop.sku(0)) == 10
    row = await payment_row(container, sid, payment["id"])
    assert (row.status, row.refund_reason) == ("refunded", "cancelled_by_shop")
    assert [(t, d.get("reason")) for t, d in await events(container, order["id"])][-2:] == [
        ("order.cancelled", "merchant"),
        ("payment.refunded", None),
    ]
    [entry] = await audit(shop.p, action="order.cancelled")
    assert (entry["actor_id"], entry["surface"], entry["target_id"]) == (
        operator.id,
        "merchant",
        order["id"],
    )
    assert entry["before"] == {"status": 20}
    assert entry["after"] == {"status": 250, "by": "merchant", "reason": "Out of stock, sorry"}

    # Every read shows the note, but finance's (the notes are withheld from it).
    one = await owner.client.get(f"/merchant/shops/{sid}/orders/{order['id']}", headers=owner.h)
    assert one.json()["cancel_note"] == "Out of stock, sorry"
    one = await finance.client.get(f"/merchant/shops/{sid}/orders/{order['id']}", headers=finance.h)
    assert one.json()["cancel_note"] is None and one.json()["status"] == 250
    mine = await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)
    assert mine.json()["cancel_note"] == "Out of stock, sorry"
    theirs = await shop.p.get(f"/v1/orders/{order['id']}")
    assert theirs.json()["cancel_note"] == "Out of stock, sorry"

    # Twice: 409 naming the status, nothing changed (no second refund).
    before = await f.fingerprint(container, sid)
    r = await owner.client.post(path, json={"reason": "Again"}, headers=owner.h)
    assert _problem(r, 409, "invalid_order_transition")["current_status"] == 250
    assert await f.fingerprint(container, sid) == before


async def test_merchant_cancellation_of_unpaid_shipped_and_other_orders(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container, stock=10)
    owner, sid = shop.p.auth.merchant, shop.shop_id
    b = await f.buyer(new_client())
    base = f"/merchant/shops/{sid}/orders"

    # Unpaid: cancelled, the stock back, nothing refunded, the close timer gone.
    unpaid = await buyer_order(b, shop, 3)
    r = await owner.client.post(
        f"{base}/{unpaid['id']}/cancellation", json={"reason": "Fraud"}, headers=owner.h
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["cancel_note"]) == (250, "Fraud")
    assert await stock(container, sid, shop.sku(0)) == 10
    types = [t for t, _ in await events(container, unpaid["id"])]
    assert types == ["order.created", "order.cancelled"]

    # Shipped: refused, nothing changed.
    shipped = await buyer_order(b, shop, 1)
    paid = await paid_payment(b, shipped["id"])
    await notify(new_client(), container, await notification(container, paid))
    r = await shop.p.post(
        f"/v1/orders/{shipped['id']}/shipments", {"carrier": "SF", "waybill_no": "SF1234567890123"}
    )
    assert r.status_code == 201, r.text
    stranger = await f.user(new_client())
    before = await f.fingerprint(container, sid)
    r = await owner.client.post(
        f"{base}/{shipped['id']}/cancellation", json={"reason": "Late"}, headers=owner.h
    )
    _problem(r, 409, "invalid_order_transition")
    # An order of no such id, and a shop the caller is no member of: 404.
    r = await owner.client.post(
        f"{base}/order_nope/cancellation", json={"reason": "x"}, headers=owner.h
    )
    _problem(r, 404, "order_not_found")
    r = await stranger.client.post(
        f"{base}/{shipped['id']}/cancellation", json={"reason": "x"}, headers=stranger.h
    )
    _problem(r, 404, "shop_not_found")
    assert await f.fingerprint(container, sid) == before

    # A buyer's own cancellation carries no note.
    other = await buyer_order(b, shop, 1)
    r = await b.client.post(f"/v1/storefront/orders/{other['id']}/cancellation", headers=b.h)
    assert (r.json()["cancel_reason"], r.json()["cancel_note"]) == ("buyer", None)


async def test_a_suspended_shop_cancels_nothing(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container, stock=10)
    owner, sid = shop.p.auth.merchant, shop.shop_id
    b = await f.buyer(new_client())
    order = await buyer_order(b, shop, 1)
    operator = await f.operator(container, new_client())
    r = await operator.client.post(
        f"/v1/platform/shops/{sid}/suspend",
        json={"reason": "Counterfeit goods."},
        headers=operator.h,
    )
    assert r.status_code == 200, r.text
    before = await f.fingerprint(container, sid)
    r = await owner.client.post(
        f"/merchant/shops/{sid}/orders/{order['id']}/cancellation",
        json={"reason": "Closing"},
        headers=owner.h,
    )
    assert _problem(r, 403, "shop_suspended")["shop_id"] == sid
    assert await f.fingerprint(container, sid) == before
