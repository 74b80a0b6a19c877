"""After-sales: a buyer asks for a refund or a return on lines of a paid order; the shop (a
provider) accepts, rejects, and confirms returned goods; the buyer withdraws one or sends the
goods back. Claims on a line never exceed what was paid for it, even when requests race."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.infra.db import tables
from tests import factories as f
from tests.aftersale_support import RETURN_ADDRESS, Sale, paid, sale_with_freight
from tests.aftersale_support import sale as sale
from tests.order_support import buyer_order
from tests.payment_support import fire, sandbox_registry


async def test_a_refund_is_asked_for_accepted_and_shown_to_both_sides(sale: Sale) -> None:
    r = await sale.ask(
        type="refund", reason="no_longer_needed", lines=[{"line_id": sale.line(0), "quantity": 1}]
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["status"] == "merchant_processing" and a["type"] == "refund"
    assert a["amount"] == 10000 and a["freight_amount"] == 0
    assert a["lines"] == [
        {"line_id": sale.line(0), "sku_id": sale.shop.sku(0), "quantity": 1, "amount": 10000}
    ]
    order = await sale.provider_order()
    assert [x["aftersale_quantity"] for x in order["lines"]] == [1, 0]
    assert order["aftersales"] == [
        {
            "id": a["id"],
            "type": "refund",
            "status": "merchant_processing",
            "amount": 10000,
            "created_at": a["created_at"],
        }
    ]
    listed_orders = (await sale.shop.p.get("/v1/orders")).json()["data"]
    assert [o["aftersales"] for o in listed_orders] == [None]  # in brief on the one read only

    listed = await sale.shop.p.get("/v1/aftersales", order_id=sale.id)
    assert [x["id"] for x in listed.json()["data"]] == [a["id"]]
    mine = await sale.b.client.get("/v1/storefront/aftersales", headers=sale.b.h)
    assert [x["id"] for x in mine.json()["data"]] == [a["id"]]

    r = await sale.shop.p.post(f"/v1/aftersales/{a['id']}/acceptance", {})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "platform_refunding" and r.json()["accepted_at"]
    got = await sale.b.client.get(f"/v1/storefront/aftersales/{a['id']}", headers=sale.b.h)
    assert got.json()["status"] == "platform_refunding"

    # Numbered with the order's own events.
    events = await sale.events()
    assert [t for t, _ in events] == [
        "order.created",
        "order.paid",
        "aftersale.created",
        "aftersale.updated",
    ]
    assert [d["sequence"] for _, d in events] == [1, 2, 3, 4]
    assert events[3][1]["status"] == "platform_refunding"
    assert events[3][1]["aftersale_id"] == a["id"]


async def test_a_return_needs_an_address_then_the_goods_then_the_receipt(sale: Sale) -> None:
    r = await sale.ask(
        type="return_refund", reason="damaged", lines=[{"line_id": sale.line(1), "quantity": 1}]
    )
    assert r.status_code == 422 and r.json()["code"] == "aftersale_lines_invalid"  # not shipped
    await sale.ship()
    r = await sale.ask(
        type="return_refund",
        reason="damaged",
        description="The box arrived crushed.\nPhotos attached.",
        images=["https://cdn.example.com/afs/1.jpg"],
        lines=[{"line_id": sale.line(1), "quantity": 1}],
    )
    assert r.status_code == 201, r.text
    a = r.json()
    path = f"/v1/aftersales/{a['id']}"
    r = await sale.shop.p.post(f"{path}/acceptance", {})
    assert r.status_code == 422 and r.json()["code"] == "return_address_required"
    r = await sale.shop.p.post(f"{path}/acceptance", {"return_address": RETURN_ADDRESS})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "user_wait_return"
    assert r.json()["return_address"]["district"] == "南山区"

    mine = f"/v1/storefront/aftersales/{a['id']}"
    r = await sale.b.client.post(
        f"{mine}/return-shipment", json={"carrier": "SF", "waybill_no": "12"}, headers=sale.b.h
    )
    assert r.status_code == 422 and r.json()["code"] == "waybill_invalid"
    r = await sale.shop.p.post(f"{path}/return-receipt")
    assert r.status_code == 409 and r.json()["current_status"] == "user_wait_return"
    r = await sale.b.client.post(
        f"{mine}/return-shipment",
        json={"carrier": "SF", "waybill_no": "sf1234567890123"},
        headers=sale.b.h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "merchant_wait_receipt"
    assert r.json()["return_waybill_no"] == "SF1234567890123"
    r = await sale.b.client.post(f"{mine}/cancellation", headers=sale.b.h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_aftersale_transition"
    r = await sale.shop.p.post(f"{path}/return-receipt")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "platform_refunding" and r.json()["received_at"]


async def test_a_rejected_or_withdrawn_request_frees_its_units(sale: Sale) -> None:
    all_of_m = [{"line_id": sale.line(0), "quantity": 2}]
    first = (await sale.ask(type="refund", reason="other", lines=all_of_m)).json()
    r = await sale.ask(
        type="refund", reason="other", lines=[{"line_id": sale.line(0), "quantity": 1}]
    )
    assert r.status_code == 422 and r.json()["available_quantity"] == 0
    r = await sale.shop.p.post(
        f"/v1/aftersales/{first['id']}/rejection", {"reason": "Used.\nSee photos."}
    )
    assert r.status_code == 200 and r.json()["status"] == "merchant_rejected"
    assert r.json()["reject_reason"] == "Used.\nSee photos."
    assert [x["aftersale_quantity"] for x in (await sale.provider_order())["lines"]] == [0, 0]
    r = await sale.shop.p.post(f"/v1/aftersales/{first['id']}/acceptance", {})
    assert r.status_code == 409 and r.json()["current_status"] == "merchant_rejected"

    second = (await sale.ask(type="refund", reason="other", lines=all_of_m)).json()
    assert second["status"] == "merchant_processing"
    r = await sale.b.client.post(
        f"/v1/storefront/aftersales/{second['id']}/cancellation", headers=sale.b.h
    )
    assert r.status_code == 200 and r.json()["status"] == "user_cancelled"
    assert [x["aftersale_quantity"] for x in (await sale.provider_order())["lines"]] == [0, 0]
    assert (await sale.ask(type="refund", reason="other", lines=all_of_m)).status_code == 201


async def test_amounts_are_held_to_what_was_paid(sale: Sale) -> None:
    one = [{"line_id": sale.line(0), "quantity": 1}]
    r = await sale.ask(type="refund", reason="other", lines=one, amount=10001)
    assert r.status_code == 409 and r.json()["code"] == "refund_amount_exceeded"
    assert r.json()["max_amount"] == 10000
    part = await sale.ask(type="refund", reason="other", lines=one, amount=2500)
    assert part.status_code == 201 and part.json()["amount"] == 2500
    # The last unit may take the rest of the line's share: 20000 - 2500.
    r = await sale.ask(type="refund", reason="other", lines=one)
    assert r.status_code == 201 and r.json()["amount"] == 17500
    r = await sale.ask(type="refund", reason="other", lines=one)
    assert r.status_code == 422 and r.json()["code"] == "aftersale_lines_invalid"


async def test_the_freight_is_refundable_only_before_anything_shipped(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    b = await f.buyer(new_client())
    sale = await sale_with_freight(client, container, b)
    shop = sale.shop
    assert sale.order["freight"] == 800
    lines = [{"line_id": sale.line(1), "quantity": 1}]
    r = await sale.ask(type="refund", reason="other", lines=lines, refund_freight=True)
    assert r.status_code == 201, r.text
    assert (r.json()["amount"], r.json()["freight_amount"]) == (5800, 800)
    r = await sale.ask(
        type="refund",
        reason="other",
        lines=[{"line_id": sale.line(0), "quantity": 1}],
        refund_freight=True,
    )
    assert r.status_code == 409 and r.json()["code"] == "freight_not_refundable"  # taken

    other = Sale(shop, b, await paid(container, shop, b), container)
    await other.ship()
    r = await other.ask(
        type="refund",
        reason="other",
        lines=[{"line_id": other.line(1), "quantity": 1}],
        refund_freight=True,
    )
    assert r.status_code == 409 and r.json()["code"] == "freight_not_refundable"  # shipped


async def test_refusals_name_their_reason_and_change_nothing(
    sale: Sale, new_client: f.NewClient
) -> None:
    async def count() -> int:
        a = tables.aftersales
        async with sale.container.engine.connect() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(a))).scalar_one())

    before = await count()
    unpaid = await buyer_order(sale.b, sale.shop, 1)
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (
            unpaid["id"],
            {"lines": [{"line_id": unpaid["lines"][0]["id"], "quantity": 1}]},
            409,
            "order_not_refundable",
        ),
        (
            sale.id,
            {"lines": [{"line_id": "oline_x", "quantity": 1}]},
            422,
            "aftersale_lines_invalid",
        ),
        (
            sale.id,
            {"lines": [{"line_id": sale.line(1), "quantity": 2}]},
            422,
            "aftersale_lines_invalid",
        ),
        (
            sale.id,
            {"lines": [{"line_id": sale.line(1), "quantity": 1}] * 2},
            422,
            "aftersale_lines_invalid",
        ),
        (sale.id, {"lines": []}, 422, "validation_error"),
        (
            sale.id,
            {"lines": [{"line_id": sale.line(1), "quantity": 1}], "reason": "bored"},
            422,
            "validation_error",
        ),
        (
            "order_01jd8m3k2x9v7q4w5e6r7t8y9z",
            {"lines": [{"line_id": "x", "quantity": 1}]},
            404,
            "order_not_found",
        ),
    ]
    for order_id, body, status, code in cases:
        r = await sale.b.client.post(
            f"/v1/storefront/orders/{order_id}/aftersales",
            json={"type": "refund", "reason": "other", **body},
            headers=sale.b.h,
        )
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
    # Another buyer cannot ask on this order, nor see this buyer's after-sales.
    other = await f.buyer(new_client())
    r = await other.client.post(
        f"/v1/storefront/orders/{sale.id}/aftersales",
        json={
            "type": "refund",
            "reason": "other",
            "lines": [{"line_id": sale.line(1), "quantity": 1}],
        },
        headers=other.h,
    )
    assert r.status_code == 404 and r.json()["code"] == "order_not_found"
    mine = (
        await sale.ask(
            type="refund", reason="other", lines=[{"line_id": sale.line(1), "quantity": 1}]
        )
    ).json()
    r = await other.client.get(f"/v1/storefront/aftersales/{mine['id']}", headers=other.h)
    assert r.status_code == 404 and r.json()["code"] == "aftersale_not_found"
    r = await other.client.post(
        f"/v1/storefront/aftersales/{mine['id']}/cancellation", headers=other.h
    )
    assert r.status_code == 404
    assert await count() == before + 1
    assert [x["aftersale_quantity"] for x in (await sale.provider_order())["lines"]] == [0, 1]


async def test_racing_requests_never_claim_more_than_was_paid(
    sale: Sale, is_postgres: bool
) -> None:
    """Ten requests for one unit of a two-unit line at once: two succeed, the others are
    refused, and the two amounts add up to the line's share exactly."""
    if not is_postgres:
        pytest.skip("row locks: PostgreSQL")
    got = await asyncio.gather(
        *(
            sale.ask(
                type="refund", reason="other", lines=[{"line_id": sale.line(0), "quantity": 1}]
            )
            for _ in range(10)
        )
    )
    made = [r.json() for r in got if r.status_code == 201]
    assert sorted(r.status_code for r in got) == [201] * 2 + [422] * 8
    assert sum(a["amount"] for a in made) == 20000
    assert [x["aftersale_quantity"] for x in (await sale.provider_order())["lines"]] == [2, 0]


# --- the money back ------------------------------------------------------------------------------


async def _refunds(container: Container, order_id: str) -> list[Any]:
    r = tables.refunds
    async with container.engine.connect() as conn:
        return list(
            await conn.execute(sa.select(r).where(r.c.order_id == order_id).order_by(r.c.id))
        )


async def test_an_accepted_refund_is_paid_back_by_the_gateway_and_the_order_closes_when_all_is(
    app: Any, client: httpx.AsyncClient, sale: Sale
) -> None:
    """The worker plays the sandbox gateway: its refund notification, signed, reaches the
    callback; the after-sale is refunded; once every unit is, the order closes (200)."""
    registry = sandbox_registry(app, sale.container)
    everything = [
        {"line_id": sale.line(0), "quantity": 2},
        {"line_id": sale.line(1), "quantity": 1},
    ]
    first = (await sale.ask(type="refund", reason="other", lines=everything[:1])).json()
    second = (await sale.ask(type="refund", reason="other", lines=everything[1:])).json()
    for a in (first, second):
        r = await sale.shop.p.post(f"/v1/aftersales/{a['id']}/acceptance", {})
        assert r.status_code == 200 and r.json()["status"] == "platform_refunding", r.text
    refunds = await _refunds(sale.container, sale.id)
    assert [(x.aftersale_id, x.amount, x.status) for x in refunds] == [
        (first["id"], 20000, "pending"),
        (second["id"], 5000, "pending"),
    ]
    # The first one's notification comes straight from the gateway (signed) ...
    r = await _notify_refund(client, sale.container, refunds[0])
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
    got = (await sale.shop.p.get(f"/v1/aftersales/{first['id']}")).json()
    assert got["status"] == "refunded" and got["refunded_at"]
    assert (await sale.provider_order())["status"] == 20  # the other line is not refunded yet
    # ... the second's from the worker playing the gateway (and the first's again: no-op).
    ran = await fire(
        sale.container, registry, "sandbox.refund_notify", refunds[1].gateway_reference
    )
    assert ran >= 1
    order = await sale.provider_order()
    assert order["status"] == 200
    assert [x.status for x in await _refunds(sale.container, sale.id)] == ["succeeded"] * 2
    types = [t for t, _ in await sale.events()]
    assert types[-3:] == ["aftersale.refunded", "aftersale.refunded", "order.closed"]
    await registry.close()


async def _notify_refund(
    client: httpx.AsyncClient, container: Container, refund: Any, **changes: Any
) -> httpx.Response:
    body = {
        "shop_id": refund.shop_id,
        "reference": refund.gateway_reference,
        "out_refund_no": refund.id,
        "amount": refund.amount,
        "currency": "CNY",
        "state": "succeeded",
        **changes,
    }
    raw = json.dumps(body).encode()
    return await client.post(
        "/callbacks/refunds/sandbox",
        content=raw,
        headers={"Content-Type": "application/json", **container.sandbox_signer.headers(raw)},
    )


async def test_a_refund_notification_is_verified_checked_and_settled_once(
    client: httpx.AsyncClient, sale: Sale
) -> None:
    a = (
        await sale.ask(
            type="refund", reason="other", lines=[{"line_id": sale.line(1), "quantity": 1}]
        )
    ).json()
    await sale.shop.p.post(f"/v1/aftersales/{a['id']}/acceptance", {})
    (refund,) = await _refunds(sale.container, sale.id)
    forged = await client.post(
        "/callbacks/refunds/sandbox",
        json={
            "shop_id": refund.shop_id,
            "reference": "x",
            "out_refund_no": refund.id,
            "amount": 1,
            "currency": "CNY",
            "state": "succeeded",
        },
        headers={"Sandbox-Timestamp": "1", "Sandbox-Signature": "v1=00"},
    )
    assert forged.status_code == 401
    wrong = await _notify_refund(client, sale.container, refund, amount=refund.amount + 1)
    assert wrong.status_code == 409 and wrong.json()["code"] == "refund_amount_mismatch"
    assert (await _refunds(sale.container, sale.id))[0].status == "pending"
    first = await _notify_refund(client, sale.container, refund)
    again = await _notify_refund(client, sale.container, refund, state="failed")
    assert first.status_code == again.status_code == 200
    assert (
        first.json()
        == again.json()
        == {"received": True, "refund_id": refund.id, "status": "succeeded"}
    )
    assert [t for t, _ in await sale.events()].count("aftersale.refunded") == 1


async def test_a_failed_refund_is_retried_by_the_worker_and_fails_for_good_after_three(
    app: Any, client: httpx.AsyncClient, sale: Sale
) -> None:
    registry = sandbox_registry(app, sale.container)
    lines = [{"line_id": sale.line(1), "quantity": 1}]
    a = (await sale.ask(type="refund", reason="other", lines=lines)).json()
    await sale.shop.p.post(f"/v1/aftersales/{a['id']}/acceptance", {})
    (refund,) = await _refunds(sale.container, sale.id)
    # The gateway reports a failure: the refund stays pending, the worker will ask again ...
    r = await _notify_refund(client, sale.container, refund, state="failed")
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    assert (await _timer(sale.container, "refund.retry", refund.id)).status == "pending"
    await fire(sale.container, registry, "refund.retry", refund.id)
    (refund,) = await _refunds(sale.container, sale.id)
    assert refund.attempts == 2
    # ... and the gateway's answer to the second attempt, a success, settles it.
    await fire(sale.container, registry, "sandbox.refund_notify", f"{refund.gateway_reference}:2")
    assert (await _refunds(sale.container, sale.id))[0].status == "succeeded"
    assert (await sale.shop.p.get(f"/v1/aftersales/{a['id']}")).json()["status"] == "refunded"

    # Another refund fails three times: failed for good, its after-sale refund_failed.
    other = (
        await sale.ask(
            type="refund", reason="other", lines=[{"line_id": sale.line(0), "quantity": 1}]
        )
    ).json()
    await sale.shop.p.post(f"/v1/aftersales/{other['id']}/acceptance", {})
    refund = next(
        x for x in await _refunds(sale.container, sale.id) if x.aftersale_id == other["id"]
    )
    for attempt in (1, 2, 3):
        r = await _notify_refund(client, sale.container, refund, state="failed")
        assert r.json()["status"] == ("failed" if attempt == 3 else "pending"), attempt
        if attempt < 3:  # the worker's retry timer, armed again after each failure
            assert await fire(sale.container, registry, "refund.retry", refund.id) >= 1
    got = (await sale.shop.p.get(f"/v1/aftersales/{other['id']}")).json()
    assert got["status"] == "refund_failed"
    # It still holds its unit: nothing more may be asked of that line but the other unit.
    r = await sale.ask(
        type="refund", reason="other", lines=[{"line_id": sale.line(0), "quantity": 2}]
    )
    assert r.status_code == 422
    await registry.close()


# --- settings, timers, restock -------------------------------------------------------------------


async def _timer(container: Container, kind: str, key: str) -> Any:
    t = tables.timers
    async with container.engine.connect() as conn:
        return (
            await conn.execute(sa.select(t).where(t.c.kind == kind, t.c.key == key))
        ).one_or_none()


async def _stock(container: Container, shop_id: str, sku_id: str) -> int:
    s = tables.skus
    async with container.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(s.c.stock).where(s.c.shop_id == shop_id, s.c.id == sku_id)
                )
            ).scalar_one()
        )


async def test_the_settings_default_then_hold_what_the_shop_sets(sale: Sale) -> None:
    r = await sale.shop.p.get("/v1/aftersales/settings")
    assert r.status_code == 200, r.text
    assert r.json()["return_address"] is None and r.json()["restock_returns"] is True
    r = await sale.shop.p.client.put(
        "/v1/aftersales/settings",
        json={
            "return_address": {**RETURN_ADDRESS, "phone": "12345678901"},
            "restock_returns": False,
        },
        headers=sale.shop.p.h,
    )
    assert r.status_code == 422 and r.json()["code"] == "phone_invalid"
    r = await sale.shop.p.client.put(
        "/v1/aftersales/settings",
        json={"return_address": RETURN_ADDRESS, "restock_returns": False},
        headers=sale.shop.p.h,
    )
    assert r.status_code == 200, r.text
    got = (await sale.shop.p.get("/v1/aftersales/settings")).json()
    assert got["return_address"]["city"] == "深圳市" and got["restock_returns"] is False


async def test_a_silent_shop_has_the_platform_accept_and_a_return_left_unsent_closes(
    app: Any, sale: Sale
) -> None:
    registry = sandbox_registry(app, sale.container)
    await sale.ship()
    refund = (
        await sale.ask(
            type="refund", reason="other", lines=[{"line_id": sale.line(1), "quantity": 1}]
        )
    ).json()
    back = (
        await sale.ask(
            type="return_refund", reason="damaged", lines=[{"line_id": sale.line(0), "quantity": 1}]
        )
    ).json()
    due = await _timer(sale.container, "aftersale.auto_accept", refund["id"])
    assert due.status == "pending"
    # The refund is accepted for the shop; the return waits: the shop has no return address.
    await fire(sale.container, registry, "aftersale.auto_accept", refund["id"])
    await fire(sale.container, registry, "aftersale.auto_accept", back["id"])
    got = {a["id"]: a["status"] for a in (await sale.shop.p.get("/v1/aftersales")).json()["data"]}
    assert got == {refund["id"]: "platform_refunding", back["id"]: "merchant_processing"}
    # With a return address the platform accepts the return too; never sent back, it closes.
    await sale.shop.p.client.put(
        "/v1/aftersales/settings", json={"return_address": RETURN_ADDRESS}, headers=sale.shop.p.h
    )
    async with sale.container.uow() as uow:
        from app.domain.aftersales import services as aftersale_services

        assert await aftersale_services.auto_accept(
            uow, sale.shop.shop_id, back["id"], sale.container.settings.aftersale_times
        )
        await uow.commit()
    accepted = (await sale.shop.p.get(f"/v1/aftersales/{back['id']}")).json()
    assert accepted["status"] == "user_wait_return"
    assert accepted["return_address"]["detail"] == RETURN_ADDRESS["detail"]
    assert (
        await _timer(sale.container, "aftersale.close_unreturned", back["id"])
    ).status == "pending"
    await fire(sale.container, registry, "aftersale.close_unreturned", back["id"])
    closed = (await sale.shop.p.get(f"/v1/aftersales/{back['id']}")).json()
    assert closed["status"] == "return_closed" and closed["closed_at"]
    assert [x["aftersale_quantity"] for x in (await sale.provider_order())["lines"]] == [0, 1]
    await registry.close()


async def test_a_returned_good_goes_back_into_stock_when_the_shop_confirms_it(
    app: Any, sale: Sale
) -> None:
    registry = sandbox_registry(app, sale.container)
    await sale.ship()
    sku = sale.shop.sku(0)
    before = await _stock(sale.container, sale.shop.shop_id, sku)
    a = await sale.sent_back(0, 2, "ZTO", "78123456789012")
    assert (await _timer(sale.container, "aftersale.auto_receive", a["id"])).status == "pending"
    r = await sale.shop.p.post(f"/v1/aftersales/{a['id']}/return-receipt")
    assert r.status_code == 200, r.text
    assert await _stock(sale.container, sale.shop.shop_id, sku) == before + 2
    assert (await _timer(sale.container, "aftersale.auto_receive", a["id"])) is None
    (refund,) = await _refunds(sale.container, sale.id)
    await fire(sale.container, registry, "sandbox.refund_notify", refund.gateway_reference)
    assert (await sale.shop.p.get(f"/v1/aftersales/{a['id']}")).json()["status"] == "refunded"
    await registry.close()


async def test_a_return_the_shop_never_confirms_is_refunded_without_restocking(
    app: Any, sale: Sale
) -> None:
    registry = sandbox_registry(app, sale.container)
    await sale.ship()
    sku = sale.shop.sku(1)
    before = await _stock(sale.container, sale.shop.shop_id, sku)
    a = await sale.sent_back(1, 1, "SF", "SF1234567890123")
    await fire(sale.container, registry, "aftersale.auto_receive", a["id"])
    (refund,) = await _refunds(sale.container, sale.id)
    await fire(sale.container, registry, "sandbox.refund_notify", refund.gateway_reference)
    got = (await sale.shop.p.get(f"/v1/aftersales/{a['id']}")).json()
    assert got["status"] == "refunded" and got["received_at"]
    assert await _stock(sale.container, sale.shop.shop_id, sku) == before
    await registry.close()


# --- the merchant's members ----------------------------------------------------------------------


async def test_members_read_after_sales_by_role_and_customer_service_decides(
    sale: Sale, new_client: f.NewClient
) -> None:
    owner = sale.shop.p.auth.merchant
    shop_id = sale.shop.shop_id
    a = (
        await sale.ask(
            type="refund", reason="other", lines=[{"line_id": sale.line(1), "quantity": 1}]
        )
    ).json()
    base = f"/merchant/shops/{shop_id}/aftersales"
    members = {
        role: await f.member(owner, shop_id, new_client(), role)
        for role in ("operator", "customer_service", "finance")
    }
    for u in (owner, *members.values()):
        listed = await u.client.get(base, headers=u.h)
        assert listed.status_code == 200, listed.text
        assert [x["id"] for x in listed.json()["data"]] == [a["id"]]
        one = await u.client.get(f"{base}/{a['id']}", headers=u.h)
        assert one.status_code == 200 and one.json() == listed.json()["data"][0]
    for role in ("operator", "finance"):  # they read, they do not decide
        u = members[role]
        r = await u.client.post(f"{base}/{a['id']}/rejection", json={"reason": "No"}, headers=u.h)
        assert r.status_code == 403 and r.json()["code"] == "permission_denied", r.text
    cs = members["customer_service"]
    r = await cs.client.post(f"{base}/{a['id']}/acceptance", json={}, headers=cs.h)
    assert r.status_code == 200 and r.json()["status"] == "platform_refunding", r.text
    outsider = await f.user(new_client())
    r = await outsider.client.get(f"{base}/{a['id']}", headers=outsider.h)
    assert r.status_code == 404
