"""Freight templates over HTTP: the provider's CRUD and default, a product naming one, the
storefront's quote, and orders priced (and refused) by them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.container import Container
from tests import factories as f
from tests.logistics_support import template_body
from tests.order_support import OnSale, on_sale, place
from tests.product_support import provider


async def _template(shop: OnSale, **overrides: Any) -> dict[str, Any]:
    r = await shop.p.post("/v1/freight-templates", template_body(**overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _quote(
    client: httpx.AsyncClient, shop: OnSale, region: str, *quantities: int
) -> httpx.Response:
    items = [{"sku_id": shop.sku(i), "quantity": q} for i, q in enumerate(quantities) if q]
    return await client.post(
        f"/v1/storefront/shops/{shop.shop_id}/freight-quote",
        json={"items": items, "region_code": region},
    )


async def test_templates_are_created_read_listed_replaced_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    p = await provider(client)
    r = await p.post("/v1/freight-templates", template_body(is_default=True))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["is_default"] and first["rates"][0]["regions"] == ["4403"]
    assert r.headers["location"] == f"/v1/freight-templates/{first['id']}"
    second = (await p.post("/v1/freight-templates", template_body(name="重货"))).json()
    listed = (await p.get("/v1/freight-templates")).json()["data"]
    assert [t["id"] for t in listed] == [first["id"], second["id"]]
    r = await p.post(f"/v1/freight-templates/{second['id']}/default")
    assert r.status_code == 200 and r.json()["is_default"]
    again = (await p.get(f"/v1/freight-templates/{first['id']}")).json()
    assert not again["is_default"], "one default per shop"
    r = await client.put(
        f"/v1/freight-templates/{first['id']}",
        json=template_body(name="改名", valuation="weight"),
        headers={**p.h, "If-Match": '"1"'},
    )
    assert r.status_code == 412, r.text
    r = await client.put(
        f"/v1/freight-templates/{first['id']}",
        json=template_body(name="改名", valuation="weight"),
        headers={**p.h, "If-Match": f'"{again["version"]}"'},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["valuation"]) == ("改名", "weight")
    r = await client.delete(f"/v1/freight-templates/{first['id']}", headers=p.h)
    assert r.status_code == 204
    r = await p.get(f"/v1/freight-templates/{first['id']}")
    assert (r.status_code, r.json()["code"]) == (404, "freight_template_not_found")


async def test_bad_templates_are_field_level_422s(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    cases = [
        template_body(not_delivered=["99"]),
        template_body(rates=[{**template_body()["rates"][0], "regions": ["440"]}]),
        template_body(free_shipping=[{"regions": []}]),
        template_body(default_rate={**template_body()["default_rate"], "first_units": 0}),
        template_body(valuation="volume"),
    ]
    for body in cases:
        r = await p.post("/v1/freight-templates", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"], r.text


async def test_a_product_names_its_shops_template_and_deleting_one_in_use_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop = await on_sale(client, container)
    t = await _template(shop)
    product_id = shop.product["id"]
    r = await client.patch(
        f"/v1/products/{product_id}", json={"freight_template_id": t["id"]}, headers=shop.p.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["freight_template_id"] == t["id"]
    assert r.json()["status"] == "listed" and r.json()["pending_revision"] is None
    r = await client.delete(f"/v1/freight-templates/{t['id']}", headers=shop.p.h)
    assert (r.status_code, r.json()["code"]) == (409, "freight_template_in_use")
    assert r.json()["products"] == 1
    other = await provider(client)
    theirs = (await other.post("/v1/freight-templates", template_body())).json()
    r = await client.patch(
        f"/v1/products/{product_id}", json={"freight_template_id": theirs["id"]}, headers=shop.p.h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == [
        "body",
        "freight_template_id",
    ]
    r = await other.get(f"/v1/freight-templates/{t['id']}")
    assert r.status_code == 404


async def test_the_quote_and_the_order_price_by_template(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    # No template: the shop's flat freight (0 here).
    r = await _quote(client, shop, "440305", 1)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "deliverable": True,
        "freight": 0,
        "currency": "CNY",
        "product_total": 10000,
        "not_deliverable_sku_ids": [],
    }
    await _template(shop, is_default=True)
    # 深圳 (city rate): 500 + one further step of 2 begun (3 pieces) = 600.
    assert (await _quote(client, shop, "440305", 2, 1)).json()["freight"] == 600
    # 北京 (default): 1000 + 2 x 300.
    assert (await _quote(client, shop, "110101", 3)).json()["freight"] == 1600
    # 上海, 5 pieces: free.
    assert (await _quote(client, shop, "310104", 5)).json()["freight"] == 0
    r = await _quote(client, shop, "650102", 1, 1)
    assert r.status_code == 200
    assert r.json()["deliverable"] is False and r.json()["freight"] is None
    assert sorted(r.json()["not_deliverable_sku_ids"]) == sorted([shop.sku(0), shop.sku(1)])
    r = await _quote(client, shop, "999999", 1)
    assert (r.status_code, r.json()["code"]) == (422, "region_unknown")
    r = await client.post(
        f"/v1/storefront/shops/{shop.shop_id}/freight-quote",
        json={
            "items": [{"sku_id": "sku_01jd8m3k2x9v7q4w5e6r7t8y9z", "quantity": 1}],
            "region_code": "440305",
        },
    )
    assert (r.status_code, r.json()["code"]) == (404, "sku_not_found")

    b = await f.buyer(new_client())
    await f.buyer_address(b)  # 440305
    r = await place(b, shop, 2, 1)
    assert r.status_code == 201, r.text
    assert (r.json()["freight"], r.json()["total"]) == (600, 25600)
    far = await f.buyer_address(b, region_code="650102")
    r = await place(b, shop, 1, address_id=far["id"])
    assert (r.status_code, r.json()["code"]) == (409, "region_not_sellable")


async def test_concurrent_default_changes_leave_exactly_one_default(
    client: httpx.AsyncClient,
) -> None:
    """Several templates made the default at once, and defaults created at once into an
    empty shop: every request answers (no 500 from the one-default index), one default
    remains. (On PostgreSQL the requests really run together; SQLite takes them in turn.)"""
    p = await provider(client)
    created = await asyncio.gather(
        *(
            p.client.post(
                "/v1/freight-templates",
                json=template_body(name=f"T{i}", is_default=True),
                headers=p.h,
            )
            for i in range(4)
        )
    )
    assert [r.status_code for r in created] == [201] * 4, [r.text for r in created]
    ids = [r.json()["id"] for r in created]
    made = await asyncio.gather(
        *(p.client.post(f"/v1/freight-templates/{i}/default", headers=p.h) for i in ids)
    )
    assert [r.status_code for r in made] == [200] * 4, [r.text for r in made]
    listed = (await p.get("/v1/freight-templates")).json()["data"]
    assert sum(t["is_default"] for t in listed) == 1
