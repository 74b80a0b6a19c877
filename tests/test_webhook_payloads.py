"""Every shop event says which shop (`data.shop_id`), in the outbox, at the receiver and in
the documented payload models, so a provider serving many shops knows whose token to use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from app.container import Container
from app.domain.aftersales import insurance, refunding, settlement
from app.domain.aftersales import services as aftersales
from app.domain.aftersales.model import AfterSaleReason, AfterSaleType
from app.domain.aftersales.refundable import Ask
from app.domain.clock import utcnow
from app.domain.events.catalog import CATALOG
from app.domain.logistics import tracking
from app.domain.orders import services as orders
from app.domain.orders.pickup import PickupDelivery
from app.infra.db import tables
from app.worker.timers import TimerRunner, build_registry
from tests import factories as f
from tests.logistics_support import account_body, address_body
from tests.oauth_support import authorized
from tests.payment_support import open_payment, settle_in_process
from tests.product_support import Provider, approved, sku
from tests.webhook_support import drain, receiver, subscribe

NewClient = Callable[..., httpx.AsyncClient]

#: The events about the app itself, not about a shop.
APP_OWN = {"app.webhook_disabled", "webhook.ping"}


async def test_every_shop_event_carries_its_shop(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    auth = await authorized(client)
    p = Provider(client, auth)
    shop_id = p.shop_id
    op = await f.operator(container, new_client())
    with receiver() as rx:
        endpoint = await subscribe(client, auth.app, rx.url, ["*"])
        # Every product event: rejected, passed, listed, updated, delisted, banned, stock_low.
        product = await p.create(skus=[sku(stock=10, low_stock_threshold=5)])
        pid, sid = product["id"], product["skus"][0]["id"]
        assert (await p.post(f"/v1/products/{pid}/submit")).status_code == 200
        r = await op.client.post(
            f"/v1/platform/products/{pid}/reject", json={"reason": "Blurry."}, headers=op.h
        )
        assert r.status_code == 200, r.text
        await approved(p, op, pid)
        assert (await p.post(f"/v1/products/{pid}/listing")).status_code == 200
        r = await client.patch(f"/v1/products/{pid}/skus/{sid}", json={"price": 1500}, headers=p.h)
        assert r.status_code == 200, r.text
        r = await client.put(f"/v1/products/{pid}/skus/{sid}/stock", json={"stock": 3}, headers=p.h)
        assert r.status_code == 200, r.text
        # Every order event: placed, then closed unpaid by its timer, its payment (which came
        # too late) refunded.
        buyer = await f.user(new_client())
        async with container.uow() as uow:
            late = await orders.place(
                uow,
                shop_id=shop_id,
                buyer_id=buyer.id,
                items=[orders.Item(sid, 1)],
                address=orders.Destination("Li Lei", "13800138000", "440305", "1 Keyuan Road"),
                buyer_note=None,
                payment_timeout=timedelta(0),
            )
            await uow.commit()
        late_payment = await open_payment(container, buyer.id, late.id)
        timers = TimerRunner(container.uow, build_registry(), lease=timedelta(seconds=30))
        assert await timers.run_due() >= 1
        assert await settle_in_process(container, late_payment) == "refunded"
        # ... and another re-priced, paid and shipped.
        async with container.uow() as uow:
            order = await orders.place(
                uow,
                shop_id=shop_id,
                buyer_id=buyer.id,
                items=[orders.Item(sid, 1)],
                address=orders.Destination("Li Lei", "13800138000", "440305", "1 Keyuan Road"),
                buyer_note=None,
                payment_timeout=timedelta(minutes=30),
            )
            await uow.commit()
        assert (await p.post(f"/v1/orders/{order.id}/price", {"freight": 500})).status_code == 200
        payment = await open_payment(container, buyer.id, order.id)
        assert await settle_in_process(container, payment) == "paid"
        r = await client.put(  # the shop insures its orders' return shipping
            "/v1/aftersales/settings",
            json={
                "return_address": {
                    "recipient": "售后部",
                    "phone": "13800138000",
                    "region_code": "440305",
                    "detail": "1 Keyuan Road",
                },
                "shipping_insurance": True,
            },
            headers=p.h,
        )
        assert r.status_code == 200, r.text
        # Shipped under an e-waybill the worker then tracks to delivery.
        account = await p.post("/v1/logistics/accounts", account_body())
        assert account.status_code == 201, account.text
        assert (await p.post("/v1/logistics/addresses", address_body())).status_code == 201
        shipped = await p.post(
            f"/v1/orders/{order.id}/waybills",
            {"logistics_account_id": account.json()["id"], "weight_grams": 500, "ship": True},
        )
        assert shipped.status_code == 201, shipped.text
        sw = tables.sandbox_waybills
        async with container.engine.begin() as conn:  # the carrier's clock: 31 hours on
            await conn.execute(
                sa.update(sw)
                .where(sw.c.shop_id == shop_id)
                .values(created_at=utcnow() - timedelta(hours=31))
            )
        async with container.uow() as uow:
            assert await tracking.poll(uow, shop_id, shipped.json()["id"]) == 5
            await uow.commit()
        # A pickup order, paid and marked ready at its point.
        r = await p.post(
            "/v1/pickup-points",
            {
                "name": "南山店",
                "region_code": "440305",
                "detail": "1 Keyuan Road",
                "hours": "09:00-21:00",
                "contact_name": "张伟",
                "contact_phone": "13800138000",
            },
        )
        assert r.status_code == 201, r.text
        async with container.uow() as uow:
            collected = await orders.place(
                uow,
                shop_id=shop_id,
                buyer_id=buyer.id,
                items=[orders.Item(sid, 1)],
                address=PickupDelivery(r.json()["id"]),
                buyer_note=None,
                payment_timeout=timedelta(minutes=30),
            )
            await uow.commit()
        payment = await open_payment(container, buyer.id, collected.id)
        assert await settle_in_process(container, payment) == "paid"
        r = await p.post(f"/v1/orders/{collected.id}/pickup-ready")
        assert r.status_code == 200, r.text
        # Every after-sale event: a refund asked for, then rejected by the shop.
        async with container.uow() as uow:
            got = await orders.get(uow, shop_id, order.id)
            asked = await aftersales.request(
                uow,
                buyer.id,
                order.id,
                type_=AfterSaleType.REFUND,
                reason=AfterSaleReason.NOT_AS_DESCRIBED,
                asks=[Ask(got.lines[0].id, 1)],
                amount=100,
            )
            await uow.commit()
        r = await p.post(f"/v1/aftersales/{asked.id}/rejection", {"reason": "As described."})
        assert r.status_code == 200, r.text
        # ... and another order refunded in full by an after-sale: refunded, then closed.
        async with container.uow() as uow:
            refunded = await orders.place(
                uow,
                shop_id=shop_id,
                buyer_id=buyer.id,
                items=[orders.Item(sid, 1)],
                address=orders.Destination("Li Lei", "13800138000", "440305", "1 Keyuan Road"),
                buyer_note=None,
                payment_timeout=timedelta(minutes=30),
            )
            await uow.commit()
        assert (
            await settle_in_process(container, await open_payment(container, buyer.id, refunded.id))
            == "paid"
        )
        async with container.uow() as uow:
            line = (await orders.get(uow, shop_id, refunded.id)).lines[0]
            whole = await aftersales.request(
                uow,
                buyer.id,
                refunded.id,
                type_=AfterSaleType.REFUND,
                reason=AfterSaleReason.OTHER,
                asks=[Ask(line.id, 1)],
            )
            await uow.commit()
        r = await p.post(f"/v1/aftersales/{whole.id}/acceptance", {})
        assert r.status_code == 200, r.text
        async with container.uow() as uow:
            (refund,) = await uow.refunds.of_order(shop_id, refunded.id)
            await refunding.settle(uow, shop_id, refund.id, succeeded=True, amount=refund.amount)
            await uow.commit()
        async with container.uow() as uow:  # the confirmation period ends
            assert await orders.auto_confirm(uow, shop_id, order.id)
            await uow.commit()
        async with container.uow() as uow:  # ... and the settlement delay after it
            assert await settlement.settle(uow, shop_id, order.id)
            await uow.commit()
        # Then a return of it: the order was insured when it shipped, so the buyer's return
        # shipping is compensated.
        async with container.uow() as uow:
            got = await orders.get(uow, shop_id, order.id)
            back = await aftersales.request(
                uow,
                buyer.id,
                order.id,
                type_=AfterSaleType.RETURN_REFUND,
                reason=AfterSaleReason.DAMAGED,
                asks=[Ask(got.lines[0].id, 1)],
            )
            await uow.commit()
        r = await p.post(f"/v1/aftersales/{back.id}/acceptance", {})
        assert r.status_code == 200, r.text
        async with container.uow() as uow:
            await aftersales.ship_back(
                uow, buyer.id, back.id, carrier_code="SF", waybill_no="SF1234567890123"
            )
            await uow.commit()
        r = await client.post(f"/v1/aftersales/{back.id}/return-receipt", headers=p.h)
        assert r.status_code == 200, r.text
        async with container.uow() as uow:
            (refund,) = [
                x
                for x in await uow.refunds.of_order(shop_id, order.id)
                if x.aftersale_id == back.id
            ]
            await refunding.settle(uow, shop_id, refund.id, succeeded=True, amount=refund.amount)
            await uow.commit()
        async with container.uow() as uow:
            (claim,) = await uow.insurance.claims_of(shop_id, order.id)
            assert await insurance.pay_claim(uow, shop_id, claim.id)
            await uow.commit()
        assert (await p.post(f"/v1/products/{pid}/delisting")).status_code == 200
        r = await op.client.post(
            f"/v1/platform/products/{pid}/ban", json={"reason": "Counterfeit."}, headers=op.h
        )
        assert r.status_code == 200, r.text
        await drain(container)  # while the shop's grant is in force
        # The app's authorization ends: the app hears of it, with the shop.
        m = auth.merchant
        r = await m.client.delete(f"/merchant/shops/{shop_id}/apps/{auth.app.id}", headers=m.h)
        assert r.status_code == 204, r.text
        await drain(container)
        received = rx.verified(endpoint["secret"])

    shop_types = set(CATALOG) - APP_OWN
    assert {b["type"] for b in received} == shop_types - {"app.authorized"}  # before subscribing
    for body in received:
        assert body["data"]["shop_id"] == shop_id, body
    # The outbox, every event of the shop (app.authorized too): the same.
    o = tables.outbox_events
    async with container.engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(o.c.type, o.c.data).where(o.c.shop_id == shop_id))
        ).all()
    assert {r.type for r in rows} == shop_types
    for row in rows:
        assert row.data["shop_id"] == shop_id, row


async def test_the_documented_payloads_say_so(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[1]]
        return node

    for event_type, item in spec["webhooks"].items():
        body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        data = resolve(resolve(body)["properties"]["data"])
        if event_type in APP_OWN:
            assert "shop_id" not in data["properties"], event_type
        else:
            assert "shop_id" in data["required"], event_type
            assert data["properties"]["shop_id"]["type"] == "string"
