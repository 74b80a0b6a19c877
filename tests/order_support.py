"""Helpers for the order tests: a shop with a SKU on sale, and a buyer's order of it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from app.container import Container
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.catalog import product_lifecycle
from tests import factories as f
from tests.product_support import Provider, provider, sku


@dataclass
class OnSale:
    """A shop (its provider) with one listed product of two SKUs."""

    p: Provider
    product: dict[str, Any]

    @property
    def shop_id(self) -> str:
        return self.p.shop_id

    def sku(self, i: int = 0) -> str:
        return str(self.product["skus"][i]["id"])


async def on_sale(client: httpx.AsyncClient, container: Container, stock: int = 50) -> OnSale:
    """Created through the open API, approved by the platform (a system actor), listed."""
    p = await provider(client)
    product = await p.create(
        skus=[
            sku(sale_attrs={"size": "M"}, price=10000, stock=stock),
            sku(sale_attrs={"size": "L"}, price=5000, stock=stock),
        ]
    )
    assert (await p.post(f"/v1/products/{product['id']}/submit")).status_code == 200
    async with container.uow() as uow:
        actor = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)
        await product_lifecycle.review(uow, actor, product["id"], "approve")
        await uow.commit()
    r = await p.post(f"/v1/products/{product['id']}/listing")
    assert r.status_code == 200, r.text
    return OnSale(p, product)


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"order-{secrets.token_hex(8)}"}


async def place(b: f.Buyer, shop: OnSale, *quantities: int, **body: Any) -> httpx.Response:
    """The buyer orders `quantities` of the shop's SKUs (by index) to the default address."""
    items = [{"sku_id": shop.sku(i), "quantity": q} for i, q in enumerate(quantities) if q]
    return await b.client.post(
        "/v1/storefront/orders",
        json={"shop_id": shop.shop_id, "items": items, **body},
        headers={**b.h, **key()},
    )


async def buyer_order(b: f.Buyer, shop: OnSale, *quantities: int) -> dict[str, Any]:
    if not (await b.client.get("/v1/storefront/addresses", headers=b.h)).json()["data"]:
        await f.buyer_address(b)
    r = await place(b, shop, *(quantities or (1,)))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def order_in_shop(container: Container, shop_id: str, buyer_id: str) -> str:
    """An order in a shop that has no provider: a product made, approved and listed through
    the catalogue's use cases (as the platform), then ordered by `buyer_id`."""
    from datetime import timedelta

    from app.domain.catalog import product_services
    from app.domain.catalog.product_rules import ProductFields, SkuFields
    from app.domain.orders import services as orders

    actor = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)
    async with container.uow() as uow:
        shop = await uow.shops.get(shop_id)
        assert shop is not None
        product, skus = await product_services.create(
            uow,
            actor,
            shop,
            ProductFields(
                title=f"Tea {secrets.token_hex(3)}",
                category_id="cat_apparel_women_dresses",
                images=["https://cdn.example.com/p.jpg"],
            ),
            [SkuFields(sale_attrs={"size": "S"}, price=9900, stock=10)],
        )
        await product_lifecycle.submit(uow, actor, shop, product.id, auto_approve=True)
        await product_lifecycle.list_for_sale(uow, actor, shop, product.id)
        order = await orders.place(
            uow,
            shop_id=shop_id,
            buyer_id=buyer_id,
            items=[orders.Item(skus[0].id, 1)],
            address=orders.Destination("Li Lei", "13800138000", "440305", "1 Keyuan Road"),
            buyer_note="For B",
            payment_timeout=timedelta(minutes=30),
        )
        await uow.commit()
        return order.id
