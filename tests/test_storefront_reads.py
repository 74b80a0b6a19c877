"""The storefront's public reads: a shop's profile and its products on sale, for anyone.

Only listed products of an open shop, as they are live; SKU availability that follows the
stock path; cursor pages; a digest ETag with 304 and a short public Cache-Control; no
credential read, so a garbage one changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.api.schemas.storefront import StorefrontProduct, StorefrontShop
from app.container import Container
from app.domain.catalog.storefront import STOCK_HINT_CAP
from tests import factories as f
from tests.product_support import Provider, listed, provider, sku

NewClient = Callable[..., httpx.AsyncClient]
CACHE_CONTROL = "public, max-age=30"
#: What a product document may hold, and nothing more (no review state, provider ids,
#: pending revision, exact stock, version).
PRODUCT_KEYS = {
    "id",
    "shop_id",
    "title",
    "subtitle",
    "description",
    "images",
    "category_id",
    "brand",
    "attributes",
    "condition",
    "regions",
    "listed_at",
    "skus",
}
SKU_KEYS = {"id", "sale_attrs", "price", "market_price", "currency", "available", "stock_hint"}


def _base(shop_id: str) -> str:
    return f"/v1/storefront/shops/{shop_id}"


def _problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.text


async def _walk(anon: httpx.AsyncClient, shop_id: str, limit: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await anon.get(f"{_base(shop_id)}/products", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["data"]) <= limit
        seen += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


@pytest.fixture
async def seller(client: httpx.AsyncClient) -> Provider:
    return await provider(client)


@pytest.fixture
async def op(container: Container, new_client: NewClient) -> f.User:
    return await f.operator(container, new_client())


async def test_only_listed_products_show_and_only_as_they_are_live(
    seller: Provider, op: f.User, new_client: NewClient
) -> None:
    anon = new_client()
    on_sale = await seller.create(out_product_id="erp-live")
    await listed(seller, op, on_sale["id"])
    draft = await seller.create()
    delisted = await seller.create()
    await listed(seller, op, delisted["id"])
    assert (await seller.post(f"/v1/products/{delisted['id']}/delisting")).status_code == 200
    banned = await seller.create()
    await listed(seller, op, banned["id"])
    r = await op.client.post(
        f"/v1/platform/products/{banned['id']}/ban", json={"reason": "Counterfeit."}, headers=op.h
    )
    assert r.status_code == 200, r.text
    revised = await seller.create()
    await listed(seller, op, revised["id"])
    r = await seller.client.patch(
        f"/v1/products/{revised['id']}",
        json={"title": "A title still in review", "regions": ["11"]},
        headers=seller.h,
    )
    assert r.status_code == 200 and r.json()["pending_revision"], r.text

    page = await anon.get(f"{_base(seller.shop_id)}/products")
    assert page.status_code == 200, page.text
    # The latest listed first: the revised product went on sale after the other one.
    assert [p["id"] for p in page.json()["data"]] == [revised["id"], on_sale["id"]]
    assert page.json()["next_cursor"] is None

    for doc in page.json()["data"]:
        assert set(doc) == PRODUCT_KEYS, doc
        assert all(set(s) == SKU_KEYS for s in doc["skus"]), doc
        assert StorefrontProduct.model_validate(doc).model_dump(mode="json") == doc
    live = next(p for p in page.json()["data"] if p["id"] == revised["id"])
    assert live["title"] == revised["title"] and live["regions"] == ["11", "31", "44"]
    assert "still in review" not in page.text and "erp-live" not in page.text

    one = await anon.get(f"{_base(seller.shop_id)}/products/{revised['id']}")
    assert one.status_code == 200, one.text
    assert one.json() == live
    assert "still in review" not in one.text
    for hidden in (draft, delisted, banned):
        r = await anon.get(f"{_base(seller.shop_id)}/products/{hidden['id']}")
        _problem(r, 404, "product_not_found")
        assert hidden["title"] not in r.text


async def test_another_shops_product_or_an_unknown_shop_is_not_found(
    client: httpx.AsyncClient, seller: Provider, op: f.User, new_client: NewClient
) -> None:
    anon = new_client()
    product = await seller.create()
    await listed(seller, op, product["id"])
    other = await provider(client)
    r = await anon.get(f"{_base(other.shop_id)}/products/{product['id']}")
    _problem(r, 404, "product_not_found")
    assert product["title"] not in r.text and seller.shop_id not in r.text
    # The other shop's list does not hold it either.
    r = await anon.get(f"{_base(other.shop_id)}/products")
    assert r.status_code == 200 and r.json()["data"] == [], r.text
    for path in ("", "/products", f"/products/{product['id']}"):
        _problem(
            await anon.get(_base("shop_01nosuchshop0000000000000") + path), 404, "shop_not_found"
        )


async def test_a_shop_that_is_not_open_has_no_storefront(
    seller: Provider, op: f.User, new_client: NewClient
) -> None:
    anon = new_client()
    product = await seller.create()
    await listed(seller, op, product["id"])
    paths = ("", "/products", f"/products/{product['id']}")
    for path in paths:
        r = await anon.get(_base(seller.shop_id) + path)
        assert r.status_code == 200, r.text

    r = await op.client.post(
        f"/v1/platform/shops/{seller.shop_id}/suspend", json={"reason": "Fraud."}, headers=op.h
    )
    assert r.status_code == 200, r.text
    for path in paths:
        r = await anon.get(_base(seller.shop_id) + path)
        _problem(r, 404, "shop_not_found")
        assert "Fraud" not in r.text and product["title"] not in r.text

    r = await op.client.post(f"/v1/platform/shops/{seller.shop_id}/reinstate", headers=op.h)
    assert r.status_code == 200, r.text
    assert (await anon.get(_base(seller.shop_id) + paths[2])).status_code == 200

    # An enterprise shop in qualification review is not open yet.
    merchant = await f.user(new_client())
    in_review = await f.business_shop_in_review(merchant)
    for path in paths[:2]:
        _problem(await anon.get(_base(in_review["id"]) + path), 404, "shop_not_found")


async def test_the_public_profile_holds_nothing_private(
    seller: Provider, new_client: NewClient
) -> None:
    anon = new_client()
    r = await anon.get(_base(seller.shop_id))
    assert r.status_code == 200, r.text
    shop = seller.auth.shop
    assert r.json() == {
        "id": shop["id"],
        "name": shop["name"],
        "logo_url": shop["logo_url"],
        "subject_type": "personal",
        "opened_at": shop["opened_at"],
    }
    assert StorefrontShop.model_validate(r.json()).model_dump(mode="json") == r.json()


async def test_the_cursor_walks_every_listed_product_exactly_once(
    seller: Provider, op: f.User, new_client: NewClient
) -> None:
    anon = new_client()
    ids = []
    for _ in range(7):
        product = await seller.create()
        await listed(seller, op, product["id"])
        ids.append(product["id"])
    await seller.create()  # a draft, never shown
    for limit in (1, 3, 7, 100):
        seen = await _walk(anon, seller.shop_id, limit)
        assert [p["id"] for p in seen] == ids[::-1], limit
    listed_at = [p["listed_at"] for p in await _walk(anon, seller.shop_id, 2)]
    assert listed_at == sorted(listed_at, reverse=True)
    r = await anon.get(f"{_base(seller.shop_id)}/products", params={"cursor": "bm90IG91cnM"})
    _problem(r, 400, "invalid_cursor")


async def test_etag_if_none_match_and_cache_control(
    seller: Provider, op: f.User, new_client: NewClient
) -> None:
    anon = new_client()
    product = await seller.create()
    await listed(seller, op, product["id"])
    sku_id = product["skus"][0]["id"]
    paths = (
        _base(seller.shop_id),
        f"{_base(seller.shop_id)}/products",
        f"{_base(seller.shop_id)}/products/{product['id']}",
    )
    tags = {}
    for path in paths:
        r = await anon.get(path)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == CACHE_CONTROL
        tag = r.headers["etag"]
        assert tag.startswith('W/"') and tag.endswith('"'), tag
        tags[path] = tag
        # The same content, the same tag; the caller's copy is current: 304, no body.
        assert (await anon.get(path)).headers["etag"] == tag
        for sent in (tag, tag[2:], f'"other", {tag}', "*"):
            r = await anon.get(path, headers={"If-None-Match": sent})
            assert r.status_code == 304, (sent, r.text)
            assert r.content == b""
            assert r.headers["etag"] == tag and r.headers["cache-control"] == CACHE_CONTROL
        for sent in ('"other"', "garbage", 'W/"', ""):
            r = await anon.get(path, headers={"If-None-Match": sent})
            assert r.status_code == 200 and r.json(), sent
    assert len(set(tags.values())) == 3

    # A stock change (the stock path) moves the product's and the list's tags, not the shop's.
    r = await seller.client.put(
        f"/v1/products/{product['id']}/skus/{sku_id}/stock", json={"stock": 3}, headers=seller.h
    )
    assert r.status_code == 200, r.text
    for path in paths:
        r = await anon.get(path, headers={"If-None-Match": tags[path]})
        if path == paths[0]:
            assert r.status_code == 304, r.text
        else:
            assert r.status_code == 200 and r.headers["etag"] != tags[path], r.text
    # A price change too.
    r = await seller.client.patch(
        f"/v1/products/{product['id']}/skus/{sku_id}", json={"price": 100}, headers=seller.h
    )
    assert r.status_code == 200, r.text
    r = await anon.get(paths[2])
    assert r.json()["skus"][0]["price"] == 100
    # Renaming the shop moves the profile's tag.
    m = seller.auth.merchant
    r = await m.client.patch(
        f"/merchant/shops/{seller.shop_id}", json={"name": "Renamed Shop"}, headers=m.h
    )
    assert r.status_code == 200, r.text
    r = await anon.get(paths[0], headers={"If-None-Match": tags[paths[0]]})
    assert r.status_code == 200 and r.json()["name"] == "Renamed Shop", r.text
    # Errors are not made cacheable.
    r = await anon.get(f"{_base(seller.shop_id)}/products/prod_01nosuchproduct0000000000")
    _problem(r, 404, "product_not_found")
    assert "etag" not in r.headers and "public" not in r.headers.get("cache-control", "")


async def test_sku_availability_follows_the_stock_path(
    seller: Provider, op: f.User, new_client: NewClient
) -> None:
    anon = new_client()
    product = await seller.create(
        skus=[sku(sale_attrs={"size": "M"}, stock=10), sku(sale_attrs={"size": "L"}, stock=0)]
    )
    await listed(seller, op, product["id"])
    m, big = (s["id"] for s in product["skus"])
    path = f"{_base(seller.shop_id)}/products/{product['id']}"

    async def availability() -> dict[str, tuple[bool, int]]:
        one = (await anon.get(path)).json()
        page = (await anon.get(f"{_base(seller.shop_id)}/products")).json()["data"][0]
        assert page == one
        return {s["id"]: (s["available"], s["stock_hint"]) for s in one["skus"]}

    assert await availability() == {m: (True, 10), big: (False, 0)}
    stock = f"/v1/products/{product['id']}/skus"
    r = await seller.client.post(
        f"{stock}/{m}/stock-adjustments", json={"delta": -10}, headers=seller.h
    )
    assert r.status_code == 200, r.text
    r = await seller.client.put(f"{stock}/{big}/stock", json={"stock": 5000}, headers=seller.h)
    assert r.status_code == 200, r.text
    assert await availability() == {m: (False, 0), big: (True, STOCK_HINT_CAP)}
    r = await seller.client.post(
        f"{stock}/{m}/stock-adjustments", json={"delta": 2}, headers=seller.h
    )
    assert r.status_code == 200, r.text
    assert await availability() == {m: (True, 2), big: (True, STOCK_HINT_CAP)}
    assert "5000" not in (await anon.get(path)).text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "Bearer " + "x" * 4000},
        {"Authorization": "garbage"},
        {"Cookie": "minishop_session=forged"},
    ],
)
async def test_no_credential_is_read_so_a_bad_one_changes_nothing(
    seller: Provider, op: f.User, new_client: NewClient, headers: dict[str, str]
) -> None:
    product = await seller.create()
    await listed(seller, op, product["id"])
    plain = new_client()
    odd = new_client()
    for path in ("", "/products", f"/products/{product['id']}"):
        expected = await plain.get(_base(seller.shop_id) + path)
        r = await odd.get(_base(seller.shop_id) + path, headers=headers)
        assert r.status_code == 200, r.text
        assert r.content == expected.content and r.headers["etag"] == expected.headers["etag"]
    # A real provider token of the shop reads the same public document, nothing more.
    r = await odd.get(f"{_base(seller.shop_id)}/products/{product['id']}", headers=seller.h)
    assert r.status_code == 200 and set(r.json()) == PRODUCT_KEYS
