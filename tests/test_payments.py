"""Paying an order through the sandbox gateway, over HTTP and through the worker's timers:
the payment, the gateway's signed notification (verified, idempotent, amount-checked), the
query fallback, refunds when the money comes too late, and the shop's cancellation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.container import Container
from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.orders import payment_services as payments
from app.domain.orders import services as orders
from app.infra.db import tables
from app.infra.payments.sandbox import NOTIFY, SandboxNotifier
from app.worker.timers import build_registry
from tests import factories as f
from tests.order_support import OnSale, buyer_order, on_sale
from tests.payment_support import (
    charge,
    events,
    fire,
    key,
    notification,
    notify,
    open_payment,
    paid_payment,
    pay,
    payment_row,
    pending_timers,
    sandbox_registry,
    stock,
)


async def _setup(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient, units: int = 2
) -> tuple[OnSale, f.Buyer, dict[str, Any]]:
    shop = await on_sale(client, container, stock=10)
    b = await f.buyer(new_client())
    order = await buyer_order(b, shop, units)
    return shop, b, order


async def test_a_buyer_pays_and_the_worker_delivers_the_sandbox_notification(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    headers = key()
    r = await pay(b, order["id"], headers)
    assert r.status_code == 201, r.text
    payment = r.json()
    assert payment["amount"] == order["total"] == 20000
    assert payment["status"] == "pending" and payment["gateway"] == "sandbox"
    assert payment["gateway_reference"].startswith("sbch_")
    again = await pay(b, order["id"], headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == payment["id"], "one payment per key"
    assert await pending_timers(container, payment["id"], payment["gateway_reference"]) == [
        ("payment.query", payment["id"]),
        ("sandbox.notify", payment["gateway_reference"]),
    ]
    # The worker plays the gateway: the notification timer posts, signed, to the callback.
    registry = sandbox_registry(app, container)
    assert await fire(container, registry, NOTIFY, payment["gateway_reference"]) >= 1
    await registry.close()
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 20 and mine["paid_at"] is not None
    row = await payment_row(container, shop.shop_id, payment["id"])
    assert row.status == "succeeded" and row.transaction_id.startswith("sbtx_")
    assert [
        (t, d["sequence"], d.get("payment_id")) for t, d in await events(container, order["id"])
    ] == [
        ("order.created", 1, None),
        ("order.paid", 2, payment["id"]),
    ]
    # Paid: neither the close timer nor the payment's query is left to fire.
    assert await pending_timers(container, order["id"], payment["id"]) == []


async def test_only_the_buyer_pays_an_unpaid_order_with_a_key(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    other = await f.buyer(new_client())
    before = await f.fingerprint(container, shop.shop_id)
    r = await pay(other, order["id"])
    assert r.status_code == 404 and r.json()["code"] == "order_not_found"
    r = await b.client.post(f"/v1/storefront/orders/{order['id']}/payment", headers=b.h)
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    after = await f.fingerprint(container, shop.shop_id)
    # The other buyer's key may keep its refusal (a retry gets the same answer); nothing else.
    after.pop("idempotency_keys"), before.pop("idempotency_keys")
    assert after == before
    r = await b.client.post(f"/v1/storefront/orders/{order['id']}/cancellation", headers=b.h)
    assert r.status_code == 200
    r = await pay(b, order["id"])
    assert r.status_code == 409 and r.json()["current_status"] == 250


async def test_a_notification_is_verified_settled_once_and_amount_checked(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    payment = await paid_payment(b, order["id"])
    body = await notification(container, payment)
    anon = new_client()
    before = await f.fingerprint(container, shop.shop_id)
    for headers in (
        {},
        {"Sandbox-Timestamp": "1764057600", "Sandbox-Signature": "v1=00"},
        # Signed right, but for another body: the amount was changed in flight.
        container.sandbox_signer.headers(b'{"amount": 1}'),
    ):
        r = (
            await notify(anon, container, body, **headers)
            if headers
            else await anon.post("/callbacks/payments/sandbox", json=body)
        )
        assert r.status_code == 401 and r.json()["code"] == "signature_invalid", r.text
        assert r.headers["content-type"] == "application/problem+json"
    assert await f.fingerprint(container, shop.shop_id) == before, "a refusal changes nothing"
    # A signed notification of another amount: refused and recorded, the order unchanged.
    wrong = {**body, "amount": body["amount"] - 1, "transaction_id": "sbtx_forged_amount"}
    r = await notify(anon, container, wrong)
    assert r.status_code == 200 and r.json()["outcome"] == "refused", r.text
    row = await payment_row(container, shop.shop_id, payment["id"])
    assert row.status == "refused" and row.reported_amount == body["amount"] - 1
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 10
    # A new payment, paid right: the order is paid; the repeat answers the same, changes nothing.
    second = await paid_payment(b, order["id"])
    body = await notification(container, second)
    r = await notify(anon, container, body)
    assert r.status_code == 200 and r.json() == {
        "received": True,
        "payment_id": second["id"],
        "outcome": "paid",
    }
    before = await f.fingerprint(container, shop.shop_id)
    repeat = await notify(anon, container, body)
    assert repeat.status_code == 200 and repeat.json() == r.json()
    assert await f.fingerprint(container, shop.shop_id) == before
    unknown = {**body, "reference": "sbch_unknown", "transaction_id": "sbtx_other"}
    r = await notify(anon, container, unknown)
    assert r.status_code == 404 and r.json()["code"] == "payment_not_found"
    assert [t for t, _ in await events(container, order["id"])] == ["order.created", "order.paid"]


async def test_the_worker_queries_a_payment_whose_notification_never_came(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    payment = await paid_payment(b, order["id"])
    registry = sandbox_registry(app, container)
    # The notification is lost: the query timer asks the sandbox, which says it was paid.
    assert await fire(container, registry, payments.PAYMENT_QUERY, payment["id"]) >= 1
    row = await payment_row(container, shop.shop_id, payment["id"])
    assert row.status == "succeeded"
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 20
    # The notification, late, is the same transaction: answered as settled, nothing more.
    before = await f.fingerprint(container, shop.shop_id)
    await fire(container, registry, NOTIFY, payment["gateway_reference"])
    await registry.close()
    after = await f.fingerprint(container, shop.shop_id)
    assert after.pop("timers") != before.pop("timers"), "the notification timer fired"
    assert after == before
    assert [t for t, _ in await events(container, order["id"])] == ["order.created", "order.paid"]


async def test_a_payment_after_the_close_timer_is_refunded_and_the_order_stays_cancelled(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    payment = await paid_payment(b, order["id"])
    assert await stock(container, shop.shop_id, shop.sku(0)) == 8
    async with container.uow() as uow:
        assert await orders.close_unpaid(uow, shop.shop_id, order["id"])
        await uow.commit()
    r = await notify(new_client(), container, await notification(container, payment))
    assert r.status_code == 200 and r.json()["outcome"] == "refunded", r.text
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 250 and mine["cancel_reason"] == "timeout"
    row = await payment_row(container, shop.shop_id, payment["id"])
    assert (row.status, row.refund_reason) == ("refunded", "order_cancelled")
    ledger = await charge(container, shop.shop_id, payment["gateway_reference"])
    assert ledger.state == "refunded" and ledger.refund_id == row.refund_reference
    assert await stock(container, shop.shop_id, shop.sku(0)) == 10, "released once"
    assert [
        (t, d["sequence"], d.get("refund_reason")) for t, d in await events(container, order["id"])
    ] == [
        ("order.created", 1, None),
        ("order.cancelled", 2, None),
        ("payment.refunded", 3, "order_cancelled"),
    ]


async def test_a_payment_for_a_total_changed_since_is_refunded_never_paid(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    payment = await paid_payment(b, order["id"])
    r = await shop.p.client.post(
        f"/v1/orders/{order['id']}/price",
        json={"freight": 500},
        headers={**shop.p.h, "If-Match": f'"{order["version"]}"'},
    )
    assert r.status_code == 200 and r.json()["total"] == 20500, r.text
    r = await notify(new_client(), container, await notification(container, payment))
    assert r.json()["outcome"] == "refunded"
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert (mine["status"], mine["total"]) == (10, 20500), "never paid at another total"
    row = await payment_row(container, shop.shop_id, payment["id"])
    assert row.refund_reason == "total_changed"
    # Paid again at the total the buyer is shown now.
    second = await paid_payment(b, order["id"])
    assert second["amount"] == 20500
    r = await notify(new_client(), container, await notification(container, second))
    assert r.json()["outcome"] == "paid"


async def test_the_shop_cancels_a_paid_order_and_the_payment_is_refunded(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    payment = await paid_payment(b, order["id"])
    r = await notify(new_client(), container, await notification(container, payment))
    assert r.json()["outcome"] == "paid"
    r = await shop.p.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "Sold out"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["cancel_reason"]) == (250, "provider")
    assert r.json()["cancel_note"] == "Sold out"
    read = await shop.p.get(f"/v1/orders/{order['id']}")
    assert read.json()["cancel_note"] == "Sold out"
    assert await stock(container, shop.shop_id, shop.sku(0)) == 10
    row = await payment_row(container, shop.shop_id, payment["id"])
    assert (row.status, row.refund_reason) == ("refunded", "cancelled_by_shop")
    assert [(t, d.get("reason")) for t, d in await events(container, order["id"])][-2:] == [
        ("order.cancelled", "provider"),
        ("payment.refunded", None),
    ]
    again = await shop.p.post(f"/v1/orders/{order['id']}/cancellation", {"reason": "Twice"})
    assert again.status_code == 409 and again.json()["current_status"] == 250
    # The provider reads the order's payments: the one that paid it, refunded now.
    listed = await shop.p.get(f"/v1/orders/{order['id']}/payments")
    assert listed.status_code == 200, listed.text
    [seen] = listed.json()["data"]
    assert (seen["id"], seen["status"], seen["refund_reason"]) == (
        payment["id"],
        "refunded",
        "cancelled_by_shop",
    )
    assert seen["amount"] == order["total"] and seen["paid_at"] and seen["refunded_at"]
    assert seen["transaction_id"] and seen["gateway"] == "sandbox"
    other = await on_sale(client, container)
    r = await other.p.get(f"/v1/orders/{order['id']}/payments")
    assert r.status_code == 404 and r.json()["code"] == "order_not_found"
    # An unpaid order: cancelled, its stock back, nothing to refund; a shipped one: refused.
    unpaid = await buyer_order(b, shop, 1)
    r = await shop.p.post(f"/v1/orders/{unpaid['id']}/cancellation", {"reason": "Fraud"})
    assert r.status_code == 200 and r.json()["status"] == 250
    shipped = await buyer_order(b, shop, 1)
    paid = await paid_payment(b, shipped["id"])
    await notify(new_client(), container, await notification(container, paid))
    r = await shop.p.post(
        f"/v1/orders/{shipped['id']}/shipments", {"carrier": "SF", "waybill_no": "SF1234567890123"}
    )
    assert r.status_code == 201, r.text
    r = await shop.p.post(f"/v1/orders/{shipped['id']}/cancellation", {"reason": "Late"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_order_transition"


async def test_a_refused_notification_is_sent_again_later(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    """The worker's notification is an effect run before its timer is marked done: when the
    platform does not take it (here: a gateway with the wrong secret, 401), the timer stays
    pending and is tried again; nothing of the order changed meanwhile."""
    _, b, order = await _setup(client, container, new_client)
    payment = await paid_payment(b, order["id"])
    reference = payment["gateway_reference"]
    wrong = build_registry(
        sandbox=SandboxNotifier(
            "http://testserver",
            "not-the-sandbox-secret",
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app)),
        )
    )
    assert await fire(container, wrong, NOTIFY, reference) == 0
    await wrong.close()
    t = tables.timers
    async with container.engine.connect() as conn:
        timer = (
            await conn.execute(sa.select(t).where(t.c.kind == NOTIFY, t.c.key == reference))
        ).one()
    assert (timer.status, timer.attempts) == ("pending", 1)
    assert "401" in timer.last_error
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 10
    registry = sandbox_registry(app, container)
    assert await fire(container, registry, NOTIFY, reference) >= 1
    await registry.close()
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 20


async def _gateway_closes(container: Container, payment: dict[str, Any]) -> None:
    """The sandbox plays a gateway whose buyer never paid: the charge closed unpaid, and no
    notification coming (its timer done)."""
    c, t = tables.sandbox_charges, tables.timers
    reference = payment["gateway_reference"]
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(c)
            .where(c.c.shop_id == payment["shop_id"], c.c.id == reference)
            .values(state="closed", transaction_id=None, paid_at=None)
        )
        await conn.execute(
            sa.update(t).where(t.c.kind == NOTIFY, t.c.key == reference).values(status="done")
        )


async def _gateway_took_it_after_all(container: Container, payment: dict[str, Any]) -> None:
    """The gateway's charge was paid after all (the wallet had taken the money)."""
    c = tables.sandbox_charges
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(c)
            .where(c.c.shop_id == payment["shop_id"], c.c.id == payment["gateway_reference"])
            .values(state="paid", transaction_id=new_id("sbtx"), paid_at=utcnow())
        )


async def _closed_by_the_query(
    app: FastAPI, container: Container, b: f.Buyer, order: dict[str, Any]
) -> dict[str, Any]:
    """A payment of `order` that the gateway closed unpaid, as the worker's query found it."""
    payment = await paid_payment(b, order["id"])
    await _gateway_closes(container, payment)
    registry = sandbox_registry(app, container)
    assert await fire(container, registry, payments.PAYMENT_QUERY, payment["id"]) >= 1
    await registry.close()
    row = await payment_row(container, payment["shop_id"], payment["id"])
    assert (row.status, row.transaction_id, row.paid_at) == ("closed", None, None)
    # The wait is over: no query left, and the order is as it was, pending payment.
    assert await pending_timers(container, payment["id"]) == []
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 10
    return payment


async def test_a_payment_closed_unpaid_at_the_gateway_ends_closed_and_a_new_one_pays(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    closed = await _closed_by_the_query(app, container, b, order)
    assert await stock(container, shop.shop_id, shop.sku(0)) == 8, "still reserved"
    assert [t for t, _ in await events(container, order["id"])] == ["order.created"]
    # Asked again (a timer run twice): a closed payment is not queried, nothing changes.
    before = await f.fingerprint(container, shop.shop_id)
    async with container.uow() as uow:
        assert await payments.check_pending(uow, shop.shop_id, closed["id"]) is None
        await uow.commit()
    assert await f.fingerprint(container, shop.shop_id) == before

    # The buyer pays again, with a new payment that the gateway's notification settles.
    second = await paid_payment(b, order["id"])
    assert second["id"] != closed["id"] and second["status"] == "pending"
    r = await notify(new_client(), container, await notification(container, second))
    assert r.json()["outcome"] == "paid"

    # The closed charge is reported paid after all: the order was paid by the other one, so
    # this money goes back; the order stays paid once.
    await _gateway_took_it_after_all(container, closed)
    late = await notification(container, closed)
    r = await notify(new_client(), container, late)
    assert r.status_code == 200 and r.json()["outcome"] == "refunded", r.text
    row = await payment_row(container, shop.shop_id, closed["id"])
    assert (row.status, row.refund_reason) == ("refunded", "order_already_paid")
    ledger = await charge(container, shop.shop_id, closed["gateway_reference"])
    assert ledger.state == "refunded" and ledger.refund_id == row.refund_reference
    assert (await payment_row(container, shop.shop_id, second["id"])).status == "succeeded"
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 20
    assert [(t, d.get("payment_id")) for t, d in await events(container, order["id"])] == [
        ("order.created", None),
        ("order.paid", second["id"]),
        ("payment.refunded", closed["id"]),
    ]
    # The same notification again: answered as before, nothing changes.
    before = await f.fingerprint(container, shop.shop_id)
    r = await notify(new_client(), container, late)
    assert r.json()["outcome"] == "refunded"
    assert await f.fingerprint(container, shop.shop_id) == before


async def test_a_closed_payment_reported_paid_after_all_pays_the_order_still_pending(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop, b, order = await _setup(client, container, new_client)
    closed = await _closed_by_the_query(app, container, b, order)
    await _gateway_took_it_after_all(container, closed)
    r = await notify(new_client(), container, await notification(container, closed))
    assert r.status_code == 200 and r.json()["outcome"] == "paid", r.text
    row = await payment_row(container, shop.shop_id, closed["id"])
    assert (row.status, row.refund_reason) == ("succeeded", None)
    mine = (await b.client.get(f"/v1/storefront/orders/{order['id']}", headers=b.h)).json()
    assert mine["status"] == 20
    assert [t for t, _ in await events(container, order["id"])] == ["order.created", "order.paid"]
    assert await pending_timers(container, order["id"]) == [], "the close timer is gone"


async def test_a_query_that_finds_the_payment_still_pending_asks_again_later(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    """The query timer re-arms itself from its own handler (the timer it fires is done by
    then): asked again `QUERY_RETRY` later, its attempt counted, until the gateway answers."""
    _, b, order = await _setup(client, container, new_client)
    payment = await open_payment(container, b.id, order["id"])
    payment_id = payment.id
    c, t = tables.sandbox_charges, tables.timers
    async with container.engine.begin() as conn:  # the buyer has not paid yet
        await conn.execute(
            sa.update(c)
            .where(c.c.id == payment.gateway_reference)
            .values(state="pending", transaction_id=None, paid_at=None)
        )
    registry = sandbox_registry(app, container)
    for attempt in (2, 3):
        assert await fire(container, registry, payments.PAYMENT_QUERY, payment_id) >= 1
        async with container.engine.connect() as conn:
            timer = (
                await conn.execute(
                    sa.select(t).where(t.c.kind == payments.PAYMENT_QUERY, t.c.key == payment_id)
                )
            ).one()
        assert (timer.status, timer.payload["attempt"], timer.attempts) == (
            "pending",
            attempt,
            0,
        )
        assert timer.due_at > utcnow() + payments.QUERY_RETRY - timedelta(minutes=1)
    await registry.close()
