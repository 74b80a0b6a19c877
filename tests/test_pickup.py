"""In-store pickup (issue 15) through HTTP: the shop's pickup points (CRUD, If-Match, on/off,
audited), the storefront's list of them, a pickup order placed, paid through the sandbox
gateway, given a code only its buyer sees, marked ready, and completed by the code; codes
unique among a shop's open orders; wrong codes answered alike, counted and throttled per
shop; another shop's points and codes are nothing here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.orders import pickup_services
from app.domain.orders.pickup import CODE_DIGITS, WRONG_CODES_PER_WINDOW
from app.infra.db import tables
from tests import factories as f
from tests.aftersale_support import Sale
from tests.logistics_support import account_body, address_body
from tests.order_support import OnSale, key, on_sale
from tests.payment_support import events as order_events
from tests.payment_support import notification, notify, paid_payment
from tests.product_support import Provider, audit

POINTS = "/v1/pickup-points"
VERIFY = "/v1/pickup-verifications"


def point_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "南山科技园店",
        "region_code": "440305",
        "detail": "科技园南区深南大道10000号 1楼102",
        "hours": "周一至周日 09:00-21:00",
        "contact_name": "张伟",
        "contact_phone": "138 0013 8000",
    }
    body.update(overrides)
    return body


async def new_point(p: Provider, **overrides: Any) -> dict[str, Any]:
    r = await p.post(POINTS, point_body(**overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def place_pickup(
    b: f.Buyer, shop: OnSale, point_id: str, quantity: int = 1, **body: Any
) -> httpx.Response:
    return await b.client.post(
        "/v1/storefront/orders",
        json={
            "shop_id": shop.shop_id,
            "items": [{"sku_id": shop.sku(0), "quantity": quantity}],
            "delivery_method": "pickup",
            "pickup_point_id": point_id,
            **body,
        },
        headers={**b.h, **key()},
    )


async def paid_through_sandbox(
    client: httpx.AsyncClient, container: Container, b: f.Buyer, order_id: str
) -> None:
    payment = await paid_payment(b, order_id)
    r = await notify(client, container, await notification(container, payment))
    assert r.status_code == 200, r.text


async def buyer_view(b: f.Buyer, order_id: str) -> dict[str, Any]:
    r = await b.client.get(f"/v1/storefront/orders/{order_id}", headers=b.h)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def pickup_order(
    client: httpx.AsyncClient,
    container: Container,
    shop: OnSale,
    b: f.Buyer,
    point_id: str,
    *,
    ready: bool = True,
) -> tuple[str, str]:
    """A paid pickup order (marked ready unless told not to) and its code."""
    r = await place_pickup(b, shop, point_id)
    assert r.status_code == 201, r.text
    order_id = str(r.json()["id"])
    await paid_through_sandbox(client, container, b, order_id)
    if ready:
        r = await shop.p.post(f"/v1/orders/{order_id}/pickup-ready")
        assert r.status_code == 200, r.text
    code = (await buyer_view(b, order_id))["pickup_code"]
    assert isinstance(code, str)
    return order_id, code


async def throttle_row(container: Container, shop_id: str) -> Any:
    t = tables.pickup_code_throttles
    async with container.engine.connect() as conn:
        return (await conn.execute(sa.select(t).where(t.c.shop_id == shop_id))).one_or_none()


async def test_pickup_points_crud_with_if_match_and_audit(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop = await on_sale(client, container)
    p = shop.p
    r = await p.post(POINTS, point_body())
    assert r.status_code == 201, r.text
    point = r.json()
    assert point["id"].startswith("pkp_") and r.headers["Location"] == f"{POINTS}/{point['id']}"
    assert r.headers["ETag"] == '"1"'
    assert point["contact_phone"] == "13800138000" and point["enabled"] is True
    assert point["region"]["province_name"] == "广东省"
    assert point["region"]["district_name"] == "南山区"

    got = await p.get(f"{POINTS}/{point['id']}")
    assert got.status_code == 200 and got.json() == point
    listed = await p.get(POINTS)
    assert listed.json() == {"data": [point], "next_cursor": None}

    path = f"{POINTS}/{point['id']}"
    stale = await p.client.patch(
        path, json={"hours": "10:00-20:00"}, headers={**p.h, "If-Match": '"7"'}
    )
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert (await p.get(path)).json() == point  # unchanged
    changed = await p.client.patch(
        path, json={"hours": "10:00-20:00", "enabled": False}, headers={**p.h, "If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["hours"] == "10:00-20:00" and changed.json()["enabled"] is False
    assert changed.json()["version"] == 2 and changed.headers["ETag"] == '"2"'

    deleted = await p.client.delete(path, headers=p.h)
    assert deleted.status_code == 204, deleted.text
    gone = await p.get(path)
    assert (gone.status_code, gone.json()["code"]) == (404, "pickup_point_not_found")

    entries = await audit(p, limit=100)
    actions = [(e["action"], e["target_id"]) for e in entries if e["target_type"] == "pickup_point"]
    assert sorted(actions) == sorted(
        (a, point["id"])
        for a in ("pickup_point.create", "pickup_point.update", "pickup_point.delete")
    )


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"region_code": "999999"}, "region_unknown", "region_code"),
        ({"contact_phone": "12345678901"}, "phone_invalid", "contact_phone"),
        ({"region_code": "4403"}, "validation_error", "region_code"),
        ({"name": ""}, "validation_error", "name"),
        ({"hours": "x" * 101}, "validation_error", "hours"),
        ({"enabled": "yes"}, "validation_error", "enabled"),
        ({"shop_id": "shop_x"}, "validation_error", "shop_id"),
    ],
)
async def test_a_bad_point_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    container: Container,
    overrides: dict[str, Any],
    code: str,
    field: str,
) -> None:
    shop = await on_sale(client, container)
    r = await shop.p.post(POINTS, point_body(**overrides))
    assert (r.status_code, r.json()["code"]) == (422, code), r.text
    assert field in str([e["loc"] for e in r.json()["errors"]])
    assert (await shop.p.get(POINTS)).json()["data"] == []


async def test_the_whole_pickup_flow(
    client: httpx.AsyncClient, container: Container, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    shop = await on_sale(client, container)
    point = await new_point(shop.p)
    hidden = await new_point(shop.p, name="仓库", enabled=False)
    # The storefront offers the enabled point only, to anyone, cacheably.
    public = f"/v1/storefront/shops/{shop.shop_id}/pickup-points"
    offered = await new_client().get(public)
    assert offered.status_code == 200, offered.text
    assert [x["id"] for x in offered.json()["data"]] == [point["id"]]
    assert offered.json()["data"][0]["hours"] == "周一至周日 09:00-21:00"
    assert "enabled" not in offered.json()["data"][0]
    again = await new_client().get(public, headers={"If-None-Match": offered.headers["ETag"]})
    assert again.status_code == 304

    b = await f.buyer(new_client())  # no address at all: pickup needs none
    refused = await place_pickup(b, shop, hidden["id"])
    assert (refused.status_code, refused.json()["code"]) == (404, "pickup_point_not_found")
    r = await place_pickup(b, shop, point["id"], quantity=2)
    assert r.status_code == 201, r.text
    placed = r.json()
    order_id = placed["id"]
    assert placed["delivery_method"] == "pickup" and placed["address"] is None
    assert placed["freight"] == 0 and placed["total"] == 20000
    assert placed["pickup_point"]["id"] == point["id"]
    assert placed["pickup_point"]["district"] == "南山区"
    assert placed["pickup_code"] is None  # not before payment

    # Ready before payment: refused.
    early = await shop.p.post(f"/v1/orders/{order_id}/pickup-ready")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_order_transition")

    await paid_through_sandbox(client, container, b, order_id)
    mine = await buyer_view(b, order_id)
    code = mine["pickup_code"]
    assert mine["status"] == 20 and len(code) == CODE_DIGITS and code.isdigit()

    # Nobody on the shop's side reads the code: provider, merchant, events, audit, webhooks.
    seen = await shop.p.get(f"/v1/orders/{order_id}")
    assert seen.status_code == 200 and "pickup_code" not in seen.json()
    assert code not in seen.text
    assert code not in (await shop.p.get("/v1/orders")).text
    m = shop.p.auth.merchant
    merchant_view = await m.client.get(
        f"/merchant/shops/{shop.shop_id}/orders/{order_id}", headers=m.h
    )
    assert merchant_view.status_code == 200 and code not in merchant_view.text
    assert "pickup_code" not in merchant_view.json()

    # Shipping a pickup order is refused; nothing changes.
    ship = await shop.p.post(
        f"/v1/orders/{order_id}/shipments", {"carrier": "SF", "waybill_no": "SF1234567890123"}
    )
    assert (ship.status_code, ship.json()["code"]) == (409, "invalid_order_transition")
    assert ship.json()["delivery_method"] == "pickup"
    # ... and so is an e-waybill for it.
    acc = await shop.p.post("/v1/logistics/accounts", account_body())
    assert acc.status_code == 201, acc.text
    assert (await shop.p.post("/v1/logistics/addresses", address_body())).status_code == 201
    waybill = await shop.p.post(
        f"/v1/orders/{order_id}/waybills",
        {"logistics_account_id": acc.json()["id"], "weight_grams": 500},
    )
    assert (waybill.status_code, waybill.json()["code"]) == (409, "invalid_order_transition")
    assert waybill.json()["delivery_method"] == "pickup"
    # Its code before the order is ready: the same answer as any wrong code.
    not_ready = await shop.p.post(VERIFY, {"code": code})
    assert (not_ready.status_code, not_ready.json()["code"]) == (422, "pickup_code_invalid")

    ready = await shop.p.post(f"/v1/orders/{order_id}/pickup-ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == 20 and ready.json()["ready_for_pickup_at"] is not None
    assert ("ready_for_pickup", point["id"]) in [
        (t["event"], t["detail"]) for t in ready.json()["timeline"]
    ]
    twice = await shop.p.post(f"/v1/orders/{order_id}/pickup-ready")
    assert twice.status_code == 200 and twice.json()["version"] == ready.json()["version"]

    done = await shop.p.post(VERIFY, {"code": code})
    assert done.status_code == 200, done.text
    order = done.json()
    assert order["id"] == order_id and order["status"] == 100
    assert order["completed_at"] is not None and "pickup_code" not in order
    assert [(t["event"], t["detail"]) for t in order["timeline"]][-3:] == [
        ("ready_for_pickup", point["id"]),
        ("received", "pickup"),
        ("completed", None),
    ]
    # Collected: the code completes nothing any more.
    used = await shop.p.post(VERIFY, {"code": code})
    assert (used.status_code, used.json()["code"]) == (422, "pickup_code_invalid")

    events = await order_events(container, order_id)
    assert [t for t, _ in events] == [
        "order.created",
        "order.paid",
        "order.ready_for_pickup",
        "order.received",
        "order.completed",
    ]
    assert [d["sequence"] for _, d in events] == [1, 2, 3, 4, 5]
    assert events[2][1]["pickup_point_id"] == point["id"]
    assert events[3][1]["received_by"] == "pickup"
    assert all(code not in str(d) for _, d in events)
    # Settled as a confirmed receipt is: its timer scheduled.
    t = tables.timers
    async with container.engine.connect() as conn:
        kinds = (await conn.execute(sa.select(t.c.kind).where(t.c.key == order_id))).scalars()
        assert "order.settle" in set(kinds)
    entries = await audit(shop.p, limit=100)
    assert code not in str(entries)
    assert {"order.ready_for_pickup", "order.collected", "pickup_code.rejected"} <= {
        e["action"] for e in entries
    }


async def test_express_stays_the_default_and_is_not_ready_for_pickup(
    client: httpx.AsyncClient, container: Container, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    shop = await on_sale(client, container)
    point = await new_point(shop.p)
    b = await f.buyer(new_client())
    await f.buyer_address(b)
    r = await b.client.post(
        "/v1/storefront/orders",
        json={"shop_id": shop.shop_id, "items": [{"sku_id": shop.sku(0), "quantity": 1}]},
        headers={**b.h, **key()},
    )
    assert r.status_code == 201, r.text
    express = r.json()
    assert express["delivery_method"] == "express" and express["pickup_point"] is None
    assert express["address"]["district"] == "南山区" and express["pickup_code"] is None
    await paid_through_sandbox(client, container, b, express["id"])
    assert (await buyer_view(b, express["id"]))["pickup_code"] is None
    r = await shop.p.post(f"/v1/orders/{express['id']}/pickup-ready")
    assert (r.status_code, r.json()["code"]) == (409, "invalid_order_transition")
    # A pickup point named for express delivery, an address for pickup, no point: refused.
    for body, field in (
        ({"pickup_point_id": point["id"]}, "pickup_point_id"),
        (
            {"delivery_method": "pickup", "pickup_point_id": point["id"], "address_id": "addr_x"},
            "address_id",
        ),
        ({"delivery_method": "pickup"}, "pickup_point_id"),
        ({"delivery_method": "drone"}, "delivery_method"),
    ):
        bad = await b.client.post(
            "/v1/storefront/orders",
            json={
                "shop_id": shop.shop_id,
                "items": [{"sku_id": shop.sku(0), "quantity": 1}],
                **body,
            },
            headers={**b.h, **key()},
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error"), bad.text
        assert field in str(bad.json()["errors"])
    mine = await b.client.get("/v1/storefront/orders", headers=b.h)
    assert [o["id"] for o in mine.json()["data"]] == [express["id"]]  # nothing more placed


async def test_another_shops_point_and_code_are_nothing_here(
    client: httpx.AsyncClient, container: Container, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    mine = await on_sale(client, container)
    theirs = await on_sale(new_client(), container)
    their_point = await new_point(theirs.p)
    my_point = await new_point(mine.p)
    for method, path in (
        ("GET", f"{POINTS}/{their_point['id']}"),
        ("PATCH", f"{POINTS}/{their_point['id']}"),
        ("DELETE", f"{POINTS}/{their_point['id']}"),
    ):
        r = await mine.p.client.request(
            method, path, headers=mine.p.h, json={"hours": "x"} if method == "PATCH" else None
        )
        assert (r.status_code, r.json()["code"]) == (404, "pickup_point_not_found"), method
    assert (await theirs.p.get(f"{POINTS}/{their_point['id']}")).json() == their_point

    b = await f.buyer(new_client())
    r = await place_pickup(b, mine, their_point["id"])
    assert (r.status_code, r.json()["code"]) == (404, "pickup_point_not_found")
    their_order, their_code = await pickup_order(client, container, theirs, b, their_point["id"])
    _, my_code = await pickup_order(client, container, mine, b, my_point["id"])
    # Their ready order's code, at my shop: wrong, as any.
    r = await mine.p.post(VERIFY, {"code": their_code})
    assert (r.status_code, r.json()["code"]) == (422, "pickup_code_invalid")
    assert their_order not in r.text
    assert (await theirs.p.get(f"/v1/orders/{their_order}")).json()["status"] == 20
    # Their order is not mine to mark ready.
    r = await mine.p.post(f"/v1/orders/{their_order}/pickup-ready")
    assert (r.status_code, r.json()["code"]) == (404, "order_not_found")
    assert my_code  # mine is untouched by all this
    assert (await throttle_row(container, theirs.shop_id)) is None


async def test_wrong_codes_are_answered_alike_counted_and_throttled_per_shop(
    client: httpx.AsyncClient, container: Container, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    shop = await on_sale(client, container)
    other = await on_sale(new_client(), container)
    point = await new_point(shop.p)
    b = await f.buyer(new_client())
    order_id, code = await pickup_order(client, container, shop, b, point["id"])
    _, not_ready_code = await pickup_order(client, container, shop, b, point["id"], ready=False)
    wrong = "0" * CODE_DIGITS if code != "0" * CODE_DIGITS else "1" * CODE_DIGITS
    answers = []
    for attempt in range(WRONG_CODES_PER_WINDOW):
        # Unknown codes and a real one not ready yet, alternately: one answer for both.
        tried = not_ready_code if attempt % 2 else wrong
        r = await shop.p.post(VERIFY, {"code": tried})
        assert r.status_code == 422, r.text
        answers.append({k: v for k, v in r.json().items() if k != "request_id"})
    assert all(a == answers[0] for a in answers) and answers[0]["code"] == "pickup_code_invalid"
    row = await throttle_row(container, shop.shop_id)
    assert row.failures == WRONG_CODES_PER_WINDOW

    # The eleventh, and the right code too, while throttled: 429 with Retry-After.
    for tried in (wrong, code):
        r = await shop.p.post(VERIFY, {"code": tried})
        assert (r.status_code, r.json()["code"]) == (429, "pickup_code_throttled"), r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    m = shop.p.auth.merchant
    r = await m.client.post(
        f"/merchant/shops/{shop.shop_id}/pickup-verifications", json={"code": code}, headers=m.h
    )
    assert (r.status_code, r.json()["code"]) == (429, "pickup_code_throttled")
    assert (await shop.p.get(f"/v1/orders/{order_id}")).json()["status"] == 20
    # Another shop is not held back by this one's count.
    r = await other.p.post(VERIFY, {"code": wrong})
    assert (r.status_code, r.json()["code"]) == (422, "pickup_code_invalid")

    # Each wrong code audited, without the code.
    rejected = [e for e in await audit(shop.p, limit=100) if e["action"] == "pickup_code.rejected"]
    assert len(rejected) == WRONG_CODES_PER_WINDOW
    assert code not in str(rejected) and not_ready_code not in str(rejected)

    # Once the window has passed, the right code completes its order (the merchant's way).
    t = tables.pickup_code_throttles
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(t)
            .where(t.c.shop_id == shop.shop_id)
            .values(window_started_at=row.window_started_at - timedelta(minutes=2))
        )
    r = await m.client.post(
        f"/merchant/shops/{shop.shop_id}/pickup-verifications", json={"code": code}, headers=m.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == 100 and r.json()["id"] == order_id


@pytest.mark.parametrize("code", ["1234567", "123456789", "abcdefgh", "\uff11" * 8, ""])
async def test_a_code_of_the_wrong_shape_is_bad_input_not_a_wrong_code(
    client: httpx.AsyncClient, container: Container, code: str
) -> None:
    shop = await on_sale(client, container)
    r = await shop.p.post(VERIFY, {"code": code})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error"), r.text
    assert (await throttle_row(container, shop.shop_id)) is None  # nothing counted


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The codes `new_code` will draw, in order (then random again)."""
    queue: list[str] = []
    real = pickup_services.new_code

    def next_code() -> str:
        return queue.pop(0) if queue else real()

    monkeypatch.setattr(pickup_services, "new_code", next_code)
    yield queue


async def test_codes_are_unique_among_the_shops_open_orders(
    client: httpx.AsyncClient,
    container: Container,
    new_client: Callable[..., httpx.AsyncClient],
    drawn: list[str],
) -> None:
    shop = await on_sale(client, container)
    other = await on_sale(new_client(), container)
    point = await new_point(shop.p)
    other_point = await new_point(other.p)
    b = await f.buyer(new_client())
    drawn.append("11111111")
    first, code = await pickup_order(client, container, shop, b, point["id"])
    assert code == "11111111"
    # Another shop may hold the same code; this shop's next order may not: drawn again.
    drawn.append("11111111")
    _, elsewhere = await pickup_order(client, container, other, b, other_point["id"])
    assert elsewhere == "11111111"
    drawn.extend(["11111111", "11111111", "22222222"])
    _, second = await pickup_order(client, container, shop, b, point["id"])
    assert second == "22222222" and drawn == []
    # Once the first is collected, its code is free to be drawn again.
    assert (await shop.p.post(VERIFY, {"code": "11111111"})).status_code == 200
    drawn.append("11111111")
    third, again = await pickup_order(client, container, shop, b, point["id"])
    assert again == "11111111"
    r = await shop.p.post(VERIFY, {"code": "11111111"})
    assert r.status_code == 200 and r.json()["id"] == third
    async with container.engine.connect() as conn:
        o = tables.orders
        codes = (
            await conn.execute(
                sa.select(o.c.id, o.c.pickup_code, o.c.status).where(o.c.shop_id == shop.shop_id)
            )
        ).all()
    assert sorted((c, s) for _, c, s in codes) == [
        ("11111111", 100),
        ("11111111", 100),
        ("22222222", 20),
    ]
    assert first != third


async def test_after_sales_and_cancellation_keep_working_for_pickup_orders(
    client: httpx.AsyncClient, container: Container, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    shop = await on_sale(client, container)
    point = await new_point(shop.p)
    b = await f.buyer(new_client())
    order_id, code = await pickup_order(client, container, shop, b, point["id"])
    r = await shop.p.post(f"/v1/orders/{order_id}/cancellation", {"reason": "Sold out — 售罄"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == 250
    # A cancelled order's code completes nothing.
    r = await shop.p.post(VERIFY, {"code": code})
    assert (r.status_code, r.json()["code"]) == (422, "pickup_code_invalid")
    assert [t for t, _ in await order_events(container, order_id)][-2:] == [
        "order.cancelled",
        "payment.refunded",
    ]
    # Another, ready for pickup, refunded in full by an after-sale: closed (200), its code
    # then completes nothing.
    order_id, code = await pickup_order(client, container, shop, b, point["id"])
    sale = Sale(shop, b, await buyer_view(b, order_id), container)
    await sale.refunded(0)
    closed = await sale.provider_order()
    assert closed["status"] == 200 and closed["delivery_method"] == "pickup"
    r = await shop.p.post(VERIFY, {"code": code})
    assert (r.status_code, r.json()["code"]) == (422, "pickup_code_invalid")
    assert "order.closed" in [t for t, _ in await sale.events()]


async def test_a_wrong_code_replayed_with_its_idempotency_key_is_counted_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop = await on_sale(client, container)
    headers = {**shop.p.h, "Idempotency-Key": "verify-once"}
    first = await client.post(VERIFY, json={"code": "0" * CODE_DIGITS}, headers=headers)
    assert (first.status_code, first.json()["code"]) == (422, "pickup_code_invalid")
    again = await client.post(VERIFY, json={"code": "0" * CODE_DIGITS}, headers=headers)
    assert again.status_code == 422 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert (await throttle_row(container, shop.shop_id)).failures == 1


async def test_concurrent_wrong_codes_get_exactly_the_limit_of_tries(
    client: httpx.AsyncClient, container: Container
) -> None:
    """Verifications of a shop take turns on its counter's row: of many wrong codes sent at
    once, exactly the limit are tried (422), every other one is throttled (429)."""
    shop = await on_sale(client, container)
    tries = WRONG_CODES_PER_WINDOW * 2
    answers = await asyncio.gather(
        *(shop.p.post(VERIFY, {"code": f"{i:0{CODE_DIGITS}d}"}) for i in range(tries))
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [422] * WRONG_CODES_PER_WINDOW + [429] * (tries - WRONG_CODES_PER_WINDOW)
    assert (await throttle_row(container, shop.shop_id)).failures == WRONG_CODES_PER_WINDOW
