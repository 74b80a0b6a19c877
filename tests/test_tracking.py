"""Tracking of e-waybills by the worker (issue 15): the carrier's steps stored once each as
its clock moves, `shipment.tracking_updated` per poll with news, `order.delivered` once every
shipment is delivered and the automatic receipt confirmation counted from then; a poll that
times out stores nothing and the next one catches up; untracked and cancelled waybills."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.domain.logistics import tracking
from app.domain.orders import services as orders
from app.infra.db import tables
from app.worker.timers import TimerRegistry, build_registry
from tests.aftersale_support import Sale
from tests.aftersale_support import sale as sale
from tests.logistics_support import SECRET, address_body
from tests.payment_support import fire, pending_timers


@pytest.fixture
async def registry() -> AsyncIterator[TimerRegistry]:
    r = build_registry()
    yield r
    await r.close()


async def _issue(sale: Sale, **body: Any) -> dict[str, Any]:
    p = sale.shop.p
    if not hasattr(sale, "account_id"):
        r = await p.post(
            "/v1/logistics/accounts",
            {"carrier": "SF", "customer_code": "7551234567", "key": "K01", "secret": SECRET},
        )
        assert r.status_code == 201, r.text
        sale.account_id = r.json()["id"]  # type: ignore[attr-defined]
        assert (await p.post("/v1/logistics/addresses", address_body())).status_code == 201
    body = {"logistics_account_id": sale.account_id, "weight_grams": 700, **body}  # type: ignore[attr-defined]
    r = await p.post(f"/v1/orders/{sale.id}/waybills", body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _age(sale: Sale, waybill: dict[str, Any], hours: float) -> None:
    """The sandbox carrier's clock: the parcel was handed over `hours` ago."""
    sw = tables.sandbox_waybills
    async with sale.container.engine.begin() as conn:
        await conn.execute(
            sa.update(sw)
            .where(sw.c.shop_id == sale.shop.shop_id, sw.c.number == waybill["waybill_no"])
            .values(created_at=utcnow() - timedelta(hours=hours))
        )


async def _poll(sale: Sale, registry: TimerRegistry, waybill: dict[str, Any]) -> None:
    await fire(sale.container, registry, tracking.TRACK, waybill["id"])


async def _tracking(sale: Sale, shipment_id: str) -> dict[str, Any]:
    r = await sale.shop.p.get(f"/v1/orders/{sale.id}/shipments/{shipment_id}/tracking")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _timer_due(container: Container, kind: str, key: str) -> datetime:
    t = tables.timers
    async with container.engine.connect() as conn:
        return (
            await conn.execute(sa.select(t.c.due_at).where(t.c.kind == kind, t.c.key == key))
        ).scalar_one()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_the_worker_tracks_a_shipment_to_delivery(
    sale: Sale, registry: TimerRegistry
) -> None:
    w = await _issue(sale, ship=True)
    shipment_id = w["shipment_id"]
    assert (await sale.provider_order())["status"] == 30
    assert await pending_timers(sale.container, w["id"]) == [(tracking.TRACK, w["id"])]
    t = await _tracking(sale, shipment_id)
    assert (t["tracked"], t["waybill_id"], t["stage"], t["events"]) == (True, w["id"], None, [])

    await _age(sale, w, 7)
    await _poll(sale, registry, w)
    t = await _tracking(sale, shipment_id)
    assert [e["stage"] for e in t["events"]] == ["collected", "in_transit"]
    assert t["stage"] == "in_transit" and t["polled_at"] is not None
    assert t["events"][0]["location"] == "广东省深圳市南山区"
    assert await pending_timers(sale.container, w["id"]) == [(tracking.TRACK, w["id"])]

    await _poll(sale, registry, w)  # nothing new: nothing stored, nothing sent
    assert len((await _tracking(sale, shipment_id))["events"]) == 2

    await _age(sale, w, 31)
    await _poll(sale, registry, w)
    t = await _tracking(sale, shipment_id)
    stages = ["collected", "in_transit", "in_transit", "out_for_delivery", "delivered"]
    assert [e["stage"] for e in t["events"]] == stages
    assert t["stage"] == "delivered" and t["delivered_at"] == t["events"][-1]["at"]
    # Delivered: no more polls.
    assert await pending_timers(sale.container, w["id"]) == []

    order = await sale.provider_order()
    assert order["status"] == 30 and order["delivered_at"] == t["delivered_at"]
    assert "delivered" in [e["event"] for e in order["timeline"]]
    due = await _timer_due(sale.container, orders.AUTO_CONFIRM, sale.id)
    assert abs(due - (_at(t["delivered_at"]) + timedelta(days=10))) < timedelta(seconds=1)

    events = await sale.events()
    updates = [d for k, d in events if k == "shipment.tracking_updated"]
    assert [[e["stage"] for e in u["events"]] for u in updates] == [stages[:2], stages[2:]]
    assert {(u["shipment_id"], u["waybill_id"], u["carrier"]) for u in updates} == {
        (shipment_id, w["id"], "SF")
    }
    assert [k for k, _ in events][-3:] == [
        "shipment.tracking_updated",
        "shipment.tracking_updated",
        "order.delivered",
    ]
    sequences = [d["sequence"] for _, d in events]
    assert sequences == list(range(1, len(events) + 1))
    assert len(await _rows(sale)) == 5


async def _rows(sale: Sale) -> list[Any]:
    te = tables.waybill_tracking_events
    async with sale.container.engine.connect() as conn:
        return list(
            await conn.execute(
                sa.select(te.c.waybill_id, te.c.seq).where(te.c.shop_id == sale.shop.shop_id)
            )
        )


async def test_a_poll_that_times_out_stores_nothing_and_the_next_catches_up(
    sale: Sale, registry: TimerRegistry
) -> None:
    w = await _issue(sale, ship=True)
    await _age(sale, w, 21)
    faults = sale.container.sandbox_carrier_faults
    assert faults is not None
    faults.track_timeouts = 1
    await _poll(sale, registry, w)
    assert await _rows(sale) == []
    assert await pending_timers(sale.container, w["id"]) == [(tracking.TRACK, w["id"])]
    assert "shipment.tracking_updated" not in [k for k, _ in await sale.events()]

    await _poll(sale, registry, w)
    assert sorted(seq for _, seq in await _rows(sale)) == [1, 2, 3]
    await _poll(sale, registry, w)
    assert sorted(seq for _, seq in await _rows(sale)) == [1, 2, 3]
    assert [k for k, _ in await sale.events()].count("shipment.tracking_updated") == 1


async def test_an_order_is_delivered_when_its_last_shipment_is(
    sale: Sale, registry: TimerRegistry
) -> None:
    first = await _issue(sale, ship=True, lines=[{"line_id": sale.line(0), "quantity": 2}])
    second = await _issue(sale, ship=True)
    assert (await sale.provider_order())["status"] == 30
    await _age(sale, first, 40)
    await _poll(sale, registry, first)
    assert (await sale.provider_order())["delivered_at"] is None
    await _age(sale, second, 31)
    await _poll(sale, registry, second)
    order = await sale.provider_order()
    assert order["delivered_at"] == (await _tracking(sale, second["shipment_id"]))["delivered_at"]
    assert [k for k, _ in await sale.events()].count("order.delivered") == 1


async def test_untracked_and_cancelled_waybills(sale: Sale, registry: TimerRegistry) -> None:
    # A waybill issued and cancelled before collection is no longer polled.
    w = await _issue(sale)
    r = await sale.shop.p.post(f"/v1/waybills/{w['id']}/cancellation")
    assert r.status_code == 200, r.text
    assert await pending_timers(sale.container, w["id"]) == []

    # A shipment under a number the platform did not issue is not tracked.
    await sale.ship()
    order = await sale.provider_order()
    t = await _tracking(sale, order["shipments"][0]["id"])
    assert (t["tracked"], t["waybill_id"], t["events"]) == (False, None, [])
    missing = await sale.shop.p.get(f"/v1/orders/{sale.id}/shipments/ship_nope/tracking")
    assert missing.status_code == 404 and missing.json()["code"] == "shipment_not_found"
