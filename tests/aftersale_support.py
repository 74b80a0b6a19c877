"""After-sales in tests: `Sale`, a paid order of one buyer in a shop on sale, and the
`sale` fixture making one (import it into a test module to use it)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.aftersales import refunding
from app.infra.db import tables
from tests import factories as f
from tests.order_support import OnSale, buyer_order, on_sale
from tests.payment_support import open_payment, settle_in_process

RETURN_ADDRESS = {
    "recipient": "售后部",
    "phone": "13800138000",
    "region_code": "440305",
    "detail": "1 Keyuan Road",
}


class Sale:
    """A paid order of one buyer in a shop on sale: 2 units of SKU M (10000 each), 1 of L
    (5000), flat freight 0 (the shop's default)."""

    def __init__(self, shop: OnSale, b: f.Buyer, order: dict[str, Any], container: Container):
        self.shop, self.b, self.order, self.container = shop, b, order, container

    @property
    def id(self) -> str:
        return str(self.order["id"])

    def line(self, i: int) -> str:
        return str(self.order["lines"][i]["id"])

    async def ask(self, **body: Any) -> httpx.Response:
        return await self.b.client.post(
            f"/v1/storefront/orders/{self.id}/aftersales", json=body, headers=self.b.h
        )

    async def provider_order(self) -> dict[str, Any]:
        r = await self.shop.p.get(f"/v1/orders/{self.id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def events(self) -> list[tuple[str, dict[str, Any]]]:
        o = tables.outbox_events
        async with self.container.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(o.c.type, o.c.data)
                .where(o.c.resource_id == self.id)
                .order_by(o.c.sequence)
            )
            return [(r.type, r.data) for r in rows]

    async def sent_back(
        self, line: int, quantity: int, carrier: str, waybill_no: str
    ) -> dict[str, Any]:
        """A return of `quantity` units of line `line`, accepted with `RETURN_ADDRESS` and
        sent back by the buyer under `waybill_no`: the after-sale."""
        a = (
            await self.ask(
                type="return_refund",
                reason="damaged",
                lines=[{"line_id": self.line(line), "quantity": quantity}],
            )
        ).json()
        r = await self.shop.p.post(
            f"/v1/aftersales/{a['id']}/acceptance", {"return_address": RETURN_ADDRESS}
        )
        assert r.status_code == 200, r.text
        r = await self.b.client.post(
            f"/v1/storefront/aftersales/{a['id']}/return-shipment",
            json={"carrier": carrier, "waybill_no": waybill_no},
            headers=self.b.h,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def refund_lands(self, aftersale_id: str) -> None:
        """The gateway reports the refund of `aftersale_id` succeeded."""
        async with self.container.uow() as uow:
            refund = next(
                x
                for x in await uow.refunds.of_order(self.shop.shop_id, self.id)
                if x.aftersale_id == aftersale_id
            )
            await refunding.settle(
                uow, self.shop.shop_id, refund.id, succeeded=True, amount=refund.amount
            )
            await uow.commit()

    async def refunded(self, line: int) -> dict[str, Any]:
        """One unit of line `line` refunded: asked, accepted, the gateway's success."""
        a = (
            await self.ask(
                type="refund", reason="other", lines=[{"line_id": self.line(line), "quantity": 1}]
            )
        ).json()
        r = await self.shop.p.post(f"/v1/aftersales/{a['id']}/acceptance", {})
        assert r.status_code == 200, r.text
        await self.refund_lands(a["id"])
        return dict(a)

    async def ship(self) -> None:
        r = await self.shop.p.post(
            f"/v1/orders/{self.id}/shipments", {"carrier": "SF", "waybill_no": "SF1234567890123"}
        )
        assert r.status_code == 201, r.text


async def paid(container: Container, shop: OnSale, b: f.Buyer) -> dict[str, Any]:
    """Ordered by the buyer and paid through the sandbox gateway (its notification settled)."""
    order = await buyer_order(b, shop, 2, 1)
    payment = await open_payment(container, b.id, order["id"])
    assert await settle_in_process(container, payment) == "paid"
    return order


@pytest.fixture
async def sale(client: httpx.AsyncClient, container: Container, new_client: f.NewClient) -> Sale:
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    return Sale(shop, b, await paid(container, shop, b), container)


async def sale_with_freight(
    client: httpx.AsyncClient, container: Container, b: f.Buyer, fee: int = 800
) -> Sale:
    """A paid order of `b` in a new shop on sale whose flat freight is `fee` fen."""
    shop = await on_sale(client, container)
    async with container.uow() as uow:
        s = await uow.shops.get(shop.shop_id)
        assert s is not None
        s.freight_fee, s.free_shipping_from = fee, None
        await uow.commit()
    return Sale(shop, b, await paid(container, shop, b), container)
