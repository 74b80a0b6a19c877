"""The buyer's cart in a shop: set lines, read them with current prices and availability,
order from it."""

from __future__ import annotations

import httpx

from app.container import Container
from tests import factories as f
from tests.order_support import key, on_sale


async def test_a_cart_holds_lines_priced_now_and_orders_them(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container, stock=3)
    b = await f.buyer(new_client())
    await f.buyer_address(b)

    async def put(sku_id: str, quantity: int) -> httpx.Response:
        return await b.client.put(
            "/v1/storefront/cart",
            json={"shop_id": shop.shop_id, "sku_id": sku_id, "quantity": quantity},
            headers=b.h,
        )

    assert (await put(shop.sku(0), 2)).status_code == 200
    r = await put(shop.sku(1), 5)
    assert r.status_code == 200, r.text
    cart = r.json()
    assert [(x["sku_id"], x["quantity"], x["orderable"]) for x in cart["lines"]] == [
        (shop.sku(0), 2, True),
        (shop.sku(1), 5, False),  # 3 in stock
    ]
    assert cart["subtotal"] == 20000
    r = await put(shop.sku(1), 1)
    assert r.json()["subtotal"] == 25000
    # The price the cart shows is the price now.
    r = await shop.p.client.patch(
        f"/v1/products/{shop.product['id']}/skus/{shop.sku(0)}",
        json={"price": 9000},
        headers=shop.p.h,
    )
    assert r.status_code == 200, r.text
    got = await b.client.get("/v1/storefront/cart", params={"shop_id": shop.shop_id}, headers=b.h)
    assert got.json()["subtotal"] == 2 * 9000 + 5000
    # Refusals name their reason.
    for sku_id, quantity, code in [
        ("sku_01jd8m3k2x9v7q4w5e6r7t8y9z", 1, "sku_not_found"),
        (shop.sku(0), 1000, "quantity_invalid"),
    ]:
        r = await put(sku_id, quantity)
        assert r.json()["code"] == code, r.text
    # Order from the cart: the lines leave it.
    r = await b.client.post(
        "/v1/storefront/orders",
        json={"shop_id": shop.shop_id, "from_cart": True},
        headers={**b.h, **key()},
    )
    assert r.status_code == 201, r.text
    assert sorted((x["sku_id"], x["quantity"]) for x in r.json()["lines"]) == sorted(
        [(shop.sku(0), 2), (shop.sku(1), 1)]
    )
    assert r.json()["product_total"] == 2 * 9000 + 5000
    got = await b.client.get("/v1/storefront/cart", params={"shop_id": shop.shop_id}, headers=b.h)
    assert got.json()["lines"] == []
    # An empty cart orders nothing; items and from_cart together are refused.
    r = await b.client.post(
        "/v1/storefront/orders",
        json={"shop_id": shop.shop_id, "from_cart": True},
        headers={**b.h, **key()},
    )
    assert (r.status_code, r.json()["code"]) == (422, "quantity_invalid")
    r = await b.client.post(
        "/v1/storefront/orders",
        json={
            "shop_id": shop.shop_id,
            "from_cart": True,
            "items": [{"sku_id": shop.sku(0), "quantity": 1}],
        },
        headers={**b.h, **key()},
    )
    assert r.status_code == 422


async def test_a_failed_order_leaves_the_cart_as_it_was(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container, stock=1)
    b = await f.buyer(new_client())
    await f.buyer_address(b)
    r = await b.client.put(
        "/v1/storefront/cart",
        json={"shop_id": shop.shop_id, "sku_id": shop.sku(0), "quantity": 2},
        headers=b.h,
    )
    assert r.status_code == 200
    r = await b.client.post(
        "/v1/storefront/orders",
        json={"shop_id": shop.shop_id, "from_cart": True},
        headers={**b.h, **key()},
    )
    assert (r.status_code, r.json()["code"]) == (409, "out_of_stock")
    got = await b.client.get("/v1/storefront/cart", params={"shop_id": shop.shop_id}, headers=b.h)
    assert [(x["sku_id"], x["quantity"]) for x in got.json()["lines"]] == [(shop.sku(0), 2)]


async def test_each_buyer_has_their_own_cart(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    a, b = await f.buyer(new_client()), await f.buyer(new_client())
    r = await a.client.put(
        "/v1/storefront/cart",
        json={"shop_id": shop.shop_id, "sku_id": shop.sku(0), "quantity": 1},
        headers=a.h,
    )
    assert r.status_code == 200
    got = await b.client.get("/v1/storefront/cart", params={"shop_id": shop.shop_id}, headers=b.h)
    assert got.json()["lines"] == []
    anon = await client.get("/v1/storefront/cart", params={"shop_id": shop.shop_id})
    assert anon.status_code == 401
