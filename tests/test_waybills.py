"""Electronic waybills on the open API (issue 15): issued for a paid order through a bound
carrier account, shipped in the same call, their labels printed and read back, cancelled
before collection; carrier failures retried with the same key never issue twice; scopes and
bad input."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from pypdf import PdfReader

from app.container import Container
from app.domain.clock import utcnow
from app.domain.logistics.waybills import mask_phone
from app.domain.orders.carriers import carrier
from app.infra.db import tables
from tests import factories as f
from tests.aftersale_support import Sale, paid
from tests.aftersale_support import sale as sale
from tests.logistics_support import SECRET, address_body
from tests.oauth_support import authorized
from tests.order_support import buyer_order, on_sale
from tests.product_support import Provider

MM = 72 / 25.4


async def _logistics(sale: Sale, carrier_code: str = "SF") -> tuple[str, str]:
    """The shop binds a `carrier_code` account and adds its sender address: their ids."""
    p = sale.shop.p
    r = await p.post(
        "/v1/logistics/accounts",
        {"carrier": carrier_code, "customer_code": "7551234567", "key": "K01", "secret": SECRET},
    )
    assert r.status_code == 201, r.text
    a = await p.post("/v1/logistics/addresses", address_body(company="好物仓", phone="13912345678"))
    assert a.status_code == 201, a.text
    return str(r.json()["id"]), str(a.json()["id"])


async def _issue(
    p: Provider, order_id: str, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return await p.client.post(
        f"/v1/orders/{order_id}/waybills", json=body, headers={**p.h, **(headers or {})}
    )


async def _count(container: Container, table: sa.Table, shop_id: str) -> int:
    async with container.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(table.c.shop_id == shop_id)
                )
            ).scalar_one()
        )


async def test_a_waybill_is_issued_read_listed_and_its_label_printed(
    sale: Sale, container: Container
) -> None:
    account_id, _ = await _logistics(sale)
    p = sale.shop.p
    r = await _issue(p, sale.id, logistics_account_id=account_id, weight_grams=1500)
    assert r.status_code == 201, r.text
    w = r.json()
    assert r.headers["Location"] == f"/v1/waybills/{w['id']}"
    assert w["id"].startswith("wb_") and w["status"] == "issued"
    assert carrier("SF").check_waybill(w["waybill_no"]) == w["waybill_no"]
    assert (w["carrier"], w["order_id"], w["shipment_id"]) == ("SF", sale.id, None)
    order = await sale.provider_order()
    to = order["address"]
    assert w["receiver"]["name"] == to["recipient"]
    assert w["receiver"]["phone"] == mask_phone(to["phone"]) != to["phone"]
    assert w["sender"]["name"] == "张伟" and w["sender"]["company"] == "好物仓"
    assert w["sender"]["address"].startswith("广东省深圳市南山区")
    assert [(x["line_id"], x["quantity"]) for x in w["lines"]] == sorted(
        (line["id"], line["quantity"]) for line in order["lines"]
    )
    assert w["weight_grams"] == 1500
    assert order["status"] == 20  # issued, not shipped

    assert (await p.get(f"/v1/waybills/{w['id']}")).json() == w
    listed = await p.get("/v1/waybills", order_id=sale.id)
    assert listed.status_code == 200 and listed.json()["data"] == [w]
    assert (await p.get("/v1/waybills", status="cancelled")).json()["data"] == []

    label = await p.get(w["links"]["label"])
    assert label.status_code == 200, label.text
    assert label.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(label.content))
    assert len(pdf.pages) == 1
    box = pdf.pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (100, 150)
    text = pdf.pages[0].extract_text()
    for shown in (w["waybill_no"], to["recipient"], mask_phone(to["phone"]), sale.id, "顺丰"):
        assert shown in text, shown
    assert to["phone"] not in text

    # The carrier issued it once, the audit log has it.
    assert await _count(container, tables.sandbox_waybills, sale.shop.shop_id) == 1
    log = tables.audit_log
    async with container.engine.connect() as conn:
        actions = (
            (await conn.execute(sa.select(log.c.action).where(log.c.target_id == w["id"])))
            .scalars()
            .all()
        )
    assert actions == ["waybill.issue"]


async def test_ship_true_ships_the_order_under_the_new_waybill(
    sale: Sale, container: Container
) -> None:
    account_id, _ = await _logistics(sale, "ZTO")
    p = sale.shop.p
    first = sale.line(0)
    r = await _issue(
        p,
        sale.id,
        logistics_account_id=account_id,
        lines=[{"line_id": first, "quantity": 2}],
        weight_grams=800,
        ship=True,
    )
    assert r.status_code == 201, r.text
    w = r.json()
    assert w["shipment_id"] is not None
    order = await sale.provider_order()
    assert order["status"] == 21
    shipment = next(s for s in order["shipments"] if s["id"] == w["shipment_id"])
    assert (shipment["carrier"], shipment["waybill_no"]) == ("ZTO", w["waybill_no"])
    assert shipment["lines"] == [{"line_id": first, "quantity": 2}]
    assert (await p.get(f"/v1/waybills/{w['id']}")).json()["shipment_id"] == w["shipment_id"]

    # A waybill a shipment travels under is not cancelled.
    refused = await p.post(f"/v1/waybills/{w['id']}/cancellation")
    assert refused.status_code == 409 and refused.json()["code"] == "waybill_in_use"

    # The rest ships under a second waybill: the order awaits receipt.
    rest = await _issue(p, sale.id, logistics_account_id=account_id, weight_grams=300, ship=True)
    assert rest.status_code == 201, rest.text
    assert (await sale.provider_order())["status"] == 30
    assert [t for t, _ in await sale.events()].count("order.shipped") == 2

    # Nothing left to ship: no more waybills.
    done = await _issue(p, sale.id, logistics_account_id=account_id, weight_grams=300)
    assert done.status_code == 409 and done.json()["code"] == "invalid_order_transition"


async def test_cancel_before_collection_only(sale: Sale, container: Container) -> None:
    account_id, _ = await _logistics(sale)
    p = sale.shop.p
    early = (await _issue(p, sale.id, logistics_account_id=account_id, weight_grams=500)).json()
    late = (await _issue(p, sale.id, logistics_account_id=account_id, weight_grams=500)).json()

    r = await p.post(f"/v1/waybills/{early['id']}/cancellation")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["cancelled_at"] is not None
    again = await p.post(f"/v1/waybills/{early['id']}/cancellation")
    assert again.status_code == 409 and again.json()["code"] == "waybill_cancelled"
    no_label = await p.get(f"/v1/waybills/{early['id']}/label.pdf")
    assert no_label.status_code == 409 and no_label.json()["code"] == "waybill_cancelled"

    # Three hours on, the carrier has collected the other parcel.
    sw = tables.sandbox_waybills
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(sw)
            .where(sw.c.shop_id == sale.shop.shop_id, sw.c.number == late["waybill_no"])
            .values(created_at=utcnow() - timedelta(hours=3))
        )
    refused = await p.post(f"/v1/waybills/{late['id']}/cancellation")
    assert refused.status_code == 409 and refused.json()["code"] == "waybill_not_cancellable"
    assert (await p.get(f"/v1/waybills/{late['id']}")).json()["status"] == "issued"


async def test_a_creation_failing_twice_then_succeeding_issues_one_waybill(
    sale: Sale, container: Container
) -> None:
    account_id, _ = await _logistics(sale)
    p = sale.shop.p
    assert container.sandbox_carrier_faults is not None
    container.sandbox_carrier_faults.fail_creations = 2
    key = {"Idempotency-Key": "waybill-retry-1"}
    body = {"logistics_account_id": account_id, "weight_grams": 900, "ship": True}
    for _ in range(2):
        r = await _issue(p, sale.id, key, **body)
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "carrier_unavailable"
        assert await _count(container, tables.waybills, sale.shop.shop_id) == 0
        assert (await sale.provider_order())["status"] == 20
    ok = await _issue(p, sale.id, key, **body)
    assert ok.status_code == 201, ok.text
    replay = await _issue(p, sale.id, key, **body)
    assert replay.status_code == 201 and replay.json() == ok.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert await _count(container, tables.waybills, sale.shop.shop_id) == 1
    assert await _count(container, tables.sandbox_waybills, sale.shop.shop_id) == 1
    order = await sale.provider_order()
    assert order["status"] == 30 and len(order["shipments"]) == 1


async def test_ship_true_needs_orders_write(sale: Sale, container: Container) -> None:
    account_id, _ = await _logistics(sale)
    narrow = Provider(
        sale.shop.p.client,
        await authorized(
            sale.shop.p.client,
            merchant=sale.shop.p.auth.merchant,
            shop=sale.shop.p.auth.shop,
            scope="logistics:read logistics:write",
        ),
    )
    r = await _issue(narrow, sale.id, logistics_account_id=account_id, weight_grams=500, ship=True)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert "orders:write" in r.json()["detail"]
    assert await _count(container, tables.waybills, sale.shop.shop_id) == 0
    # Without shipping, logistics:write is enough.
    ok = await _issue(narrow, sale.id, logistics_account_id=account_id, weight_grams=500)
    assert ok.status_code == 201, ok.text


async def test_bad_requests_change_nothing(
    client: httpx.AsyncClient, sale: Sale, container: Container, new_client: f.NewClient
) -> None:
    p = sale.shop.p
    no_account = await _issue(p, sale.id, logistics_account_id="lacc_nope", weight_grams=500)
    assert no_account.status_code == 404
    assert no_account.json()["code"] == "logistics_account_not_found"
    r = await p.post(
        "/v1/logistics/accounts",
        {"carrier": "SF", "customer_code": "7551234567", "key": "K01", "secret": SECRET},
    )
    account_id = r.json()["id"]
    no_sender = await _issue(p, sale.id, logistics_account_id=account_id, weight_grams=500)
    assert no_sender.status_code == 422 and no_sender.json()["code"] == "sender_address_required"
    await p.post("/v1/logistics/addresses", address_body())
    # The demo SKUs carry no weight: the caller must give it.
    no_weight = await _issue(p, sale.id, logistics_account_id=account_id)
    assert no_weight.status_code == 422 and no_weight.json()["code"] == "parcel_weight_required"
    for lines, code in (
        ([{"line_id": "oline_nope", "quantity": 1}], "quantity_invalid"),
        ([{"line_id": sale.line(0), "quantity": 3}], "quantity_invalid"),
        ([{"line_id": sale.line(0), "quantity": 1}] * 2, "quantity_invalid"),
    ):
        bad = await _issue(p, sale.id, logistics_account_id=account_id, weight_grams=5, lines=lines)
        assert bad.status_code == 409 or bad.status_code == 422, bad.text
        assert bad.json()["code"] == code
    for body in ({"weight_grams": 0}, {"weight_grams": 100_001}, {"lines": []}, {"extra": 1}):
        bad = await _issue(p, sale.id, logistics_account_id=account_id, **body)
        assert bad.status_code == 422, body
    other_sender = await _issue(
        p, sale.id, logistics_account_id=account_id, weight_grams=5, sender_address_id="sadr_x"
    )
    assert other_sender.status_code == 404
    assert (
        await _issue(p, "order_nope", logistics_account_id=account_id, weight_grams=5)
    ).status_code == 404

    # An unpaid order gets no waybill.
    b = await f.buyer(new_client())
    unpaid = await buyer_order(b, sale.shop, 1, 0)
    r = await _issue(p, unpaid["id"], logistics_account_id=account_id, weight_grams=5)
    assert r.status_code == 409 and r.json()["code"] == "invalid_order_transition"

    # Another shop's account issues nothing for this order.
    other = await on_sale(client, container)
    acc = await other.p.post(
        "/v1/logistics/accounts",
        {"carrier": "SF", "customer_code": "7550000000", "key": "K02", "secret": SECRET},
    )
    crossed = await _issue(p, sale.id, logistics_account_id=acc.json()["id"], weight_grams=5)
    assert crossed.status_code == 404
    b2 = await f.buyer(new_client())
    theirs = await paid(container, other, b2)
    assert (
        await _issue(p, theirs["id"], logistics_account_id=account_id, weight_grams=5)
    ).status_code == 404
    assert await _count(container, tables.waybills, sale.shop.shop_id) == 0
    assert await _count(container, tables.sandbox_waybills, sale.shop.shop_id) == 0
