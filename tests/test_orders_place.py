"""Placing an order and closing it unpaid, through the order use cases on the real database:
prices, snapshots, the stock path, the order's numbered events and its close timer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.domain.errors import DomainError
from app.domain.orders import services as orders
from app.domain.orders.model import CancelReason, OrderStatus
from app.infra.db import tables
from app.worker.timers import TimerRunner, build_registry
from tests import factories as f
from tests.product_support import Provider, listed, provider, sku

ADDRESS = orders.Destination("Li Lei", "13800138000", "440305", "1 Keyuan Road")
TIMEOUT = timedelta(minutes=30)


@dataclass
class Shop:
    p: Provider
    product: dict[str, Any]
    buyer: f.User

    @property
    def id(self) -> str:
        return self.p.shop_id

    def sku(self, i: int) -> str:
        return str(self.product["skus"][i]["id"])


@pytest.fixture
async def shop(client: httpx.AsyncClient, container: Container, new_client: f.NewClient) -> Shop:
    p = await provider(client)
    product = await p.create(
        skus=[
            sku(sale_attrs={"size": "M"}, price=19900, stock=5),
            sku(sale_attrs={"size": "L"}, price=20900, stock=2),
        ]
    )
    await listed(p, await f.operator(container, new_client()), product["id"])
    return Shop(p, product, await f.user(new_client()))


async def _stock(container: Container, shop: Shop) -> dict[str, int]:
    s = tables.skus
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(s.c.id, s.c.stock).where(
                s.c.shop_id == shop.id, s.c.product_id == shop.product["id"]
            )
        )
        return {r.id: r.stock for r in rows}


async def _events(container: Container, order_id: str) -> list[tuple[str, dict[str, Any]]]:
    o = tables.outbox_events
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(o.c.type, o.c.data).where(o.c.resource_id == order_id).order_by(o.c.id)
        )
        return [(r.type, r.data) for r in rows]


async def _place(container: Container, shop: Shop, *items: orders.Item, **kw: Any) -> str:
    async with container.uow() as uow:
        order = await orders.place(
            uow,
            shop_id=shop.id,
            buyer_id=shop.buyer.id,
            items=list(items),
            address=kw.pop("address", ADDRESS),
            buyer_note=kw.pop("buyer_note", None),
            payment_timeout=kw.pop("payment_timeout", TIMEOUT),
            **kw,
        )
        await uow.commit()
        return order.id


async def test_an_order_is_priced_snapshotted_and_reserves_its_stock(
    container: Container, shop: Shop
) -> None:
    async with container.uow() as uow:
        s = await uow.shops.get(shop.id)
        assert s is not None
        s.freight_fee, s.free_shipping_from = 800, 100_000
        await uow.commit()
    order_id = await _place(
        container,
        shop,
        orders.Item(shop.sku(0), 1),
        orders.Item(shop.sku(1), 2),
        orders.Item(shop.sku(0), 1),  # the same SKU twice: one line of 2
        buyer_note="Ring twice",
    )
    async with container.uow() as uow:
        order = await orders.get(uow, shop.id, order_id)
        assert order.status is OrderStatus.PENDING_PAYMENT
        assert [(x.sku_id, x.quantity, x.unit_price) for x in order.lines] == sorted(
            [(shop.sku(0), 2, 19900), (shop.sku(1), 2, 20900)]
        )
        assert order.lines[0].snapshot["title"] == shop.product["title"]
        assert {x.snapshot["sale_attrs"]["size"] for x in order.lines} == {"M", "L"}
        assert (order.product_total, order.freight, order.total) == (81600, 800, 82400)
        assert order.address["district"] == "南山区" and order.buyer_note == "Ring twice"
    assert await _stock(container, shop) == {shop.sku(0): 3, shop.sku(1): 0}
    [(kind, data)] = await _events(container, order_id)
    assert kind == "order.created"
    assert data == {
        "shop_id": shop.id,
        "order_id": order_id,
        "status": 10,
        "total": 82400,
        "sequence": 1,
    }
    t = tables.timers
    async with container.engine.connect() as conn:
        timer = (await conn.execute(sa.select(t).where(t.c.key == order_id))).one()
    assert timer.kind == orders.CLOSE_UNPAID and timer.shop_id == shop.id


async def test_free_shipping_from_the_threshold(container: Container, shop: Shop) -> None:
    async with container.uow() as uow:
        s = await uow.shops.get(shop.id)
        assert s is not None
        s.freight_fee, s.free_shipping_from = 800, 39800
        await uow.commit()
    first = await _place(container, shop, orders.Item(shop.sku(0), 1))
    second = await _place(container, shop, orders.Item(shop.sku(0), 2))
    async with container.uow() as uow:
        assert (await orders.get(uow, shop.id, first)).freight == 800
        assert (await orders.get(uow, shop.id, second)).freight == 0


@pytest.mark.parametrize(
    ("items", "address", "code"),
    [
        ([("sku0", 6)], ADDRESS, "out_of_stock"),
        ([("sku0", 1), ("sku1", 3)], ADDRESS, "out_of_stock"),
        ([("sku_nothere", 1)], ADDRESS, "sku_not_found"),
        ([("sku0", 0)], ADDRESS, "quantity_invalid"),
        ([("sku0", 1000)], ADDRESS, "quantity_invalid"),
        ([], ADDRESS, "quantity_invalid"),
        (
            [("sku0", 1)],
            orders.Destination("Li", "13800138000", "650102", "x"),
            "region_not_sellable",
        ),
        ([("sku0", 1)], orders.Destination("Li", "13800138000", "440300", "x"), "region_unknown"),
    ],
)
async def test_a_refused_order_changes_nothing(
    container: Container,
    shop: Shop,
    items: list[tuple[str, int]],
    address: orders.Destination,
    code: str,
) -> None:
    def sku_id(name: str) -> str:
        return shop.sku(int(name[3])) if name in ("sku0", "sku1") else name

    before = await f.fingerprint(container, shop.id)
    with pytest.raises(DomainError) as e:
        await _place(
            container, shop, *(orders.Item(sku_id(n), q) for n, q in items), address=address
        )
    assert e.value.code == code
    if code == "out_of_stock":
        assert e.value.extra["sku_id"] in (shop.sku(0), shop.sku(1))
        assert "available" in e.value.extra
    assert await f.fingerprint(container, shop.id) == before


async def test_no_order_from_a_delisted_product_or_a_suspended_shop(
    container: Container, shop: Shop, new_client: f.NewClient
) -> None:
    r = await shop.p.post(f"/v1/products/{shop.product['id']}/delisting")
    assert r.status_code == 200, r.text
    with pytest.raises(DomainError) as e:
        await _place(container, shop, orders.Item(shop.sku(0), 1))
    assert e.value.code == "product_not_listed"
    assert (await shop.p.post(f"/v1/products/{shop.product['id']}/listing")).status_code == 200
    op = await f.operator(container, new_client())
    r = await op.client.post(
        f"/v1/platform/shops/{shop.id}/suspend", json={"reason": "Fake goods"}, headers=op.h
    )
    assert r.status_code == 200, r.text
    with pytest.raises(DomainError) as e:
        await _place(container, shop, orders.Item(shop.sku(0), 1))
    assert e.value.code == "shop_not_open"


async def test_the_close_timer_cancels_an_unpaid_order_and_releases_its_stock_once(
    container: Container, shop: Shop
) -> None:
    order_id = await _place(
        container, shop, orders.Item(shop.sku(0), 2), payment_timeout=timedelta(0)
    )
    assert (await _stock(container, shop))[shop.sku(0)] == 3
    runner = TimerRunner(container.uow, build_registry(), lease=timedelta(seconds=30))
    assert await runner.run_due() >= 1
    async with container.uow() as uow:
        order = await orders.get(uow, shop.id, order_id)
        assert order.status is OrderStatus.CANCELLED
        assert order.cancel_reason is CancelReason.TIMEOUT
    assert (await _stock(container, shop))[shop.sku(0)] == 5
    # Fired again by hand (a crash after the work, say): nothing more happens.
    async with container.uow() as uow:
        assert await orders.close_unpaid(uow, shop.id, order_id) is False
        await uow.commit()
    assert (await _stock(container, shop))[shop.sku(0)] == 5
    assert [(k, d["sequence"], d.get("reason")) for k, d in await _events(container, order_id)] == [
        ("order.created", 1, None),
        ("order.cancelled", 2, "timeout"),
    ]


async def test_the_close_timer_leaves_a_paid_order_alone(container: Container, shop: Shop) -> None:
    order_id = await _place(container, shop, orders.Item(shop.sku(0), 1))
    async with container.uow() as uow:
        order = await orders.get(uow, shop.id, order_id, lock=True)
        order.pay(utcnow())
        await uow.commit()
    async with container.uow() as uow:
        assert await orders.close_unpaid(uow, shop.id, order_id) is False
        await uow.commit()
    async with container.uow() as uow:
        assert (await orders.get(uow, shop.id, order_id)).status is OrderStatus.AWAITING_SHIPMENT
    assert (await _stock(container, shop))[shop.sku(0)] == 4
