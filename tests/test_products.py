"""Products and SKUs on the open API: create with validation, read, list, edit, delete, tenancy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.container import Container
from tests import factories as f
from tests.product_support import LEAF, audit, events, listed, product_body, provider, sku

NewClient = Callable[..., httpx.AsyncClient]


def field_errors(r: httpx.Response, status: int = 422) -> dict[str, dict[str, Any]]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return {".".join(str(x) for x in e["loc"]): e for e in r.json()["errors"]}


async def test_create_a_draft_with_its_skus(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    r = await client.post("/v1/products", json=product_body(out_product_id="erp-1"), headers=p.h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/products/{body['id']}"
    assert r.headers["etag"] == f'"{body["version"]}"'
    assert body["id"].startswith("prod_")
    assert body["shop_id"] == p.shop_id
    assert body["status"] == "draft"
    assert body["category_id"] == LEAF and body["regions"] == ["11", "31", "44"]
    assert body["description"][1] == {"type": "image", "url": "https://cdn.example.com/d.jpg"}
    assert sorted(s["sale_attrs"]["size"] for s in body["skus"]) == ["L", "M"]
    red_m = next(s for s in body["skus"] if s["sale_attrs"]["size"] == "M")
    assert red_m["price"] == 19900 and red_m["market_price"] == 25900
    assert red_m["stock"] == 10 and red_m["currency"] == "CNY"
    assert red_m["id"].startswith("sku_") and red_m["shop_id"] == p.shop_id

    r = await p.get(f"/v1/products/{body['id']}")
    assert r.status_code == 200 and r.json() == body
    r = await p.get("/v1/products/by-out-id/erp-1")
    assert r.status_code == 200 and r.json()["id"] == body["id"]

    [entry] = await audit(p, action="product.created")
    assert entry["actor_type"] == "app" and entry["target_id"] == body["id"]
    assert entry["after"]["skus"] == 2


async def test_create_validation_answers_field_errors(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"category_id": "cat_apparel"}, "body.category_id", "not_a_leaf"),
        ({"category_id": "cat_nope"}, "body.category_id", "unknown_category"),
        ({"category_id": "cat_food_snacks_nuts"}, "body.category_id", "category_not_open"),
        ({"condition": "second_hand"}, "body.condition", "condition_not_allowed"),
        ({"regions": ["11", "99"]}, "body.regions.1", "unknown_region"),
        (
            {
                "skus": [
                    sku(sale_attrs={"size": "M", "colour": "red"}),
                    sku(sale_attrs={"colour": "red", "size": "M"}),
                ]
            },
            "body.skus.1.sale_attrs",
            "duplicate_sale_attrs",
        ),
        ({"skus": [sku(price=500, market_price=400)]}, "body.skus.0.market_price", "invalid"),
    ]
    for overrides, loc, type_ in cases:
        r = await client.post("/v1/products", json=product_body(**overrides), headers=p.h)
        errors = field_errors(r)
        assert loc in errors, (overrides, r.json())
        assert errors[loc]["type"] == type_, errors
    dup = field_errors(
        await client.post(
            "/v1/products",
            json=product_body(skus=[sku(), sku(sale_attrs={"size": "L"}), sku()]),
            headers=p.h,
        )
    )
    assert "SKU 2" in dup["body.skus.2.sale_attrs"]["msg"]
    assert "SKU 0" in dup["body.skus.2.sale_attrs"]["msg"]
    # Schema rules are field errors too.
    for overrides, loc in (
        ({"images": []}, "body.images"),
        ({"skus": []}, "body.skus"),
        ({"skus": [sku(price=0)]}, "body.skus.0.price"),
        ({"skus": [sku(stock=-1)]}, "body.skus.0.stock"),
        ({"description": [{"type": "text"}]}, "body.description.0"),
        ({"description": [{"type": "video", "text": "x"}]}, "body.description.0.type"),
    ):
        errors = field_errors(
            await client.post("/v1/products", json=product_body(**overrides), headers=p.h)
        )
        assert any(k.startswith(loc) for k in errors), (overrides, errors)
    # Nothing was created.
    assert (await p.get("/v1/products")).json()["data"] == []


async def test_second_hand_only_where_the_leaf_allows_it(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    r = await client.post(
        "/v1/products",
        json=product_body(category_id="cat_secondhand_books_general", condition="second_hand"),
        headers=p.h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["condition"] == "second_hand"
    # A second-hand leaf takes second-hand goods only.
    errors = field_errors(
        await client.post(
            "/v1/products",
            json=product_body(category_id="cat_secondhand_books_general"),
            headers=p.h,
        )
    )
    assert "body.condition" in errors


async def test_out_ids_are_unique_per_shop(
    client: httpx.AsyncClient, new_client: NewClient
) -> None:
    p = await provider(client)
    first = await p.create(out_product_id="erp-7")
    r = await client.post("/v1/products", json=product_body(out_product_id="erp-7"), headers=p.h)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "out_product_id_taken"
    assert r.json()["product_id"] == first["id"]
    r = await client.post(
        "/v1/products",
        json=product_body(skus=[sku(out_sku_id="s-1")]),
        headers=p.h,
    )
    assert r.status_code == 201
    r = await client.post(
        "/v1/products", json=product_body(skus=[sku(out_sku_id="s-1")]), headers=p.h
    )
    assert r.status_code == 409, r.text
    # Another shop may use the same ids.
    other = await provider(new_client(), app=p.auth.app)
    await other.create(out_product_id="erp-7", skus=[sku(out_sku_id="s-1")])


async def test_another_shops_products_do_not_exist(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    a = await provider(client)
    b = await provider(new_client(), app=a.auth.app)
    product = await b.create(out_product_id="b-1")
    pid, sid = product["id"], product["skus"][0]["id"]
    for method, path, body in (
        ("GET", f"/v1/products/{pid}", None),
        ("GET", "/v1/products/by-out-id/b-1", None),
        ("PATCH", f"/v1/products/{pid}", {"title": "Stolen"}),
        ("DELETE", f"/v1/products/{pid}", None),
        ("POST", f"/v1/products/{pid}/skus", sku(sale_attrs={"size": "XS"})),
        ("PATCH", f"/v1/products/{pid}/skus/{sid}", {"price": 1}),
        ("PUT", f"/v1/products/{pid}/skus/{sid}/stock", {"stock": 0}),
        ("POST", f"/v1/products/{pid}/skus/{sid}/stock-adjustments", {"delta": -1}),
        ("POST", f"/v1/products/{pid}/submit", None),
        ("POST", f"/v1/products/{pid}/listing", None),
        ("POST", f"/v1/products/{pid}/delisting", None),
    ):
        r = await client.request(method, path, json=body, headers=a.h)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["code"] == "product_not_found"
    # A's own product with B's SKU id: still 404.
    mine = await a.create()
    r = await client.put(
        f"/v1/products/{mine['id']}/skus/{sid}/stock", json={"stock": 1}, headers=a.h
    )
    assert r.status_code == 404 and r.json()["code"] == "sku_not_found"
    assert [x["id"] for x in (await a.get("/v1/products")).json()["data"]] == [mine["id"]]
    # B's product is as it was.
    r = await b.get(f"/v1/products/{pid}")
    assert r.json() == product


async def test_list_pages_filters_and_search(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    made = [
        await p.create(title=title, out_product_id=f"o-{i}")
        for i, title in enumerate(
            ["Linen dress", "LINEN shirt", "Cotton 100% tee", "Silk_scarf", "Wool coat"]
        )
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await p.get("/v1/products", **params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 2
        assert all(len(x["skus"]) == 2 for x in page["data"])
        seen += [x["id"] for x in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [x["id"] for x in made]  # (updated_at, id) order, each once

    async def titles(**params: Any) -> list[str]:
        r = await p.get("/v1/products", **params)
        assert r.status_code == 200, r.text
        return [x["title"] for x in r.json()["data"]]

    assert await titles(q="linen") == ["Linen dress", "LINEN shirt"]
    assert await titles(q="%") == ["Cotton 100% tee"]
    assert await titles(q="_") == ["Silk_scarf"]
    assert await titles(q="k_s") == ["Silk_scarf"]
    assert await titles(out_product_id="o-4") == ["Wool coat"]
    assert await titles(status="draft", category_id=LEAF, limit=100) == [x["title"] for x in made]
    assert await titles(status="listed") == []
    assert await titles(category_id="cat_food") == []
    assert len(await titles(category_id="cat_apparel")) == 5  # a branch: its leaves
    assert await titles(category_id="cat_nope") == []
    later = made[-1]["updated_at"]
    assert await titles(updated_since=later) == ["Wool coat"]
    r = await p.get("/v1/products", updated_since="2026-11-25T08:00:00")
    assert r.status_code == 422
    r = await p.get("/v1/products", cursor="WyJ4Il0")
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"


async def test_patch_honours_if_match_and_sends_reviewed_edits_back_to_draft(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    product = await p.create()
    pid = product["id"]
    r = await client.patch(
        f"/v1/products/{pid}", json={"title": "Renamed"}, headers={**p.h, "If-Match": '"99"'}
    )
    assert r.status_code == 412 and r.json()["current_version"] == product["version"]
    r = await client.patch(
        f"/v1/products/{pid}",
        json={"title": "Renamed", "brand_id": "brand_none"},
        headers={**p.h, "If-Match": f'"{product["version"]}"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Renamed" and r.json()["brand"] is None
    assert r.json()["brand_id"] == "brand_none"
    assert r.json()["version"] == product["version"] + 1
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    # A null for a field that cannot be empty, and the category rules, are field errors.
    errors = field_errors(
        await client.patch(f"/v1/products/{pid}", json={"title": None}, headers=p.h)
    )
    assert "body.title" in errors
    errors = field_errors(
        await client.patch(f"/v1/products/{pid}", json={"category_id": "cat_food"}, headers=p.h)
    )
    assert errors["body.category_id"]["type"] == "not_a_leaf"

    # Approved: a reviewed field sends it back to draft; your own id does not.
    from tests.product_support import approved

    await approved(p, op, pid)
    r = await client.patch(f"/v1/products/{pid}", json={"out_product_id": "x-1"}, headers=p.h)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = await client.patch(f"/v1/products/{pid}", json={"subtitle": "New line"}, headers=p.h)
    assert r.status_code == 200 and r.json()["status"] == "draft"

    types = [t for t, _ in await events(container, pid)]
    assert types.count("product.updated") == 3
    assert "product.review_passed" in types
    entries = await audit(p, action="product.updated", target_id=pid)
    assert len(entries) == 3

    # In review: 409 naming the state (a listed product takes a pending revision instead,
    # see test_product_revisions.py).
    assert (await p.post(f"/v1/products/{pid}/submit")).status_code == 200
    r = await client.patch(f"/v1/products/{pid}", json={"title": "Live edit"}, headers=p.h)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "invalid_state_transition"
    assert r.json()["current_status"] == "in_review"


async def test_delete_only_what_was_never_listed(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    draft = await p.create()
    r = await client.delete(f"/v1/products/{draft['id']}", headers=p.h)
    assert r.status_code == 204, r.text
    assert "RateLimit-Remaining" in r.headers
    assert (await p.get(f"/v1/products/{draft['id']}")).status_code == 404
    sid = draft["skus"][0]["id"]
    r = await client.put(
        f"/v1/products/{draft['id']}/skus/{sid}/stock", json={"stock": 1}, headers=p.h
    )
    assert r.status_code == 404
    assert (await audit(p, action="product.deleted"))[0]["target_id"] == draft["id"]

    sold = await p.create()
    await listed(p, op, sold["id"])
    r = await p.post(f"/v1/products/{sold['id']}/delisting")
    assert r.status_code == 200 and r.json()["status"] == "delisted"
    r = await client.delete(f"/v1/products/{sold['id']}", headers=p.h)
    assert r.status_code == 409 and r.json()["code"] == "product_was_listed"


async def test_skus_add_and_price_changes(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    product = await p.create()
    pid = product["id"]
    r = await p.post(f"/v1/products/{pid}/skus", sku(sale_attrs={"colour": "blue", "size": "M"}))
    assert r.status_code == 201, r.text
    new_sku = r.json()
    assert new_sku["product_id"] == pid
    r = await p.post(f"/v1/products/{pid}/skus", sku(sale_attrs={"size": "M", "colour": "blue"}))
    errors = field_errors(r)
    assert errors["body.sale_attrs"]["type"] == "duplicate_sale_attrs"
    assert new_sku["id"] in errors["body.sale_attrs"]["msg"]
    assert len((await p.get(f"/v1/products/{pid}")).json()["skus"]) == 3

    # Price changes apply at once, even while listed, without review.
    await listed(p, op, pid)
    sid = product["skus"][0]["id"]
    r = await client.patch(
        f"/v1/products/{pid}/skus/{sid}", json={"price": 17900, "barcode": "690"}, headers=p.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["price"] == 17900 and r.json()["barcode"] == "690"
    got = (await p.get(f"/v1/products/{pid}")).json()
    assert got["status"] == "listed"
    assert next(s for s in got["skus"] if s["id"] == sid)["price"] == 17900
    errors = field_errors(
        await client.patch(
            f"/v1/products/{pid}/skus/{sid}", json={"market_price": 100}, headers=p.h
        )
    )
    assert "body.market_price" in errors
    [entry] = await audit(p, action="sku.updated")
    assert entry["before"]["price"] == 19900 and entry["after"]["price"] == 17900

    # Banned: no more changes.
    r = await op.client.post(
        f"/v1/platform/products/{pid}/ban", json={"reason": "Counterfeit."}, headers=op.h
    )
    assert r.status_code == 200, r.text
    r = await client.patch(f"/v1/products/{pid}/skus/{sid}", json={"price": 1}, headers=p.h)
    assert r.status_code == 409 and r.json()["current_status"] == "banned"


async def test_missing_qualifications_are_named_until_held(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    merchant = await f.user(client)
    shop = await f.business_shop_in_review(merchant, subject_type="individual")
    p = await provider(client, merchant=merchant, shop=shop)
    leaf = "cat_food_fruit_citrus"  # needs food_business_licence only
    errors = field_errors(
        await client.post("/v1/products", json=product_body(category_id=leaf), headers=p.h)
    )
    assert errors["body.category_id"]["type"] == "missing_qualifications"
    assert "food_business_licence" in errors["body.category_id"]["msg"]

    op = await f.operator(container, new_client())
    r = await p.post(
        "/v1/qualifications",
        {"kind": "food_business_licence", "documents": ["https://cdn.example.com/l.jpg"]},
    )
    assert r.status_code == 201, r.text
    r = await op.client.post(f"/v1/platform/qualifications/{r.json()['id']}/approve", headers=op.h)
    assert r.status_code == 200, r.text
    r = await client.post("/v1/products", json=product_body(category_id=leaf), headers=p.h)
    assert r.status_code == 201, r.text


async def test_a_replayed_stock_adjustment_counts_once(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    product = await p.create(skus=[sku(stock=5)])
    url = f"/v1/products/{product['id']}/skus/{product['skus'][0]['id']}/stock-adjustments"
    headers = {**p.h, "Idempotency-Key": "adjust-1"}
    first = await client.post(url, json={"delta": 4}, headers=headers)
    again = await client.post(url, json={"delta": 4}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json() == {**again.json(), "stock": 9}
    got = (await p.get(f"/v1/products/{product['id']}")).json()["skus"][0]["stock"]
    assert got == 9


async def test_a_page_loads_its_skus_in_one_query(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No N+1: the statements a list runs do not grow with the page size."""
    from sqlalchemy import event

    from app.infra.db.driver import DriverReader

    p = await provider(client)
    for _ in range(6):
        await p.create()
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if " skus" in statement:
            statements.append(statement)

    # On PostgreSQL the reads go to the driver, past SQLAlchemy's events: count them there.
    driver_fetch = DriverReader.fetch

    async def counted_fetch(self: DriverReader, sql: str, *args: object) -> object:
        count(None, None, sql)
        return await driver_fetch(self, sql, *args)

    monkeypatch.setattr(DriverReader, "fetch", counted_fetch)
    engine = container.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        small = await p.get("/v1/products", limit=1)
        n_small = len(statements)
        statements.clear()
        big = await p.get("/v1/products", limit=6)
        n_big = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert small.status_code == big.status_code == 200
    assert len(big.json()["data"]) == 6
    assert n_small == n_big == 1


async def test_read_and_update_by_your_own_ids(
    client: httpx.AsyncClient, new_client: NewClient
) -> None:
    p = await provider(client)
    other = await provider(new_client())
    product = await p.create(
        out_product_id="erp-77",
        skus=[sku(sale_attrs={"size": "M"}, out_sku_id="erp-77-m", stock=4)],
    )
    r = await client.patch(
        "/v1/products/by-out-id/erp-77",
        json={"title": "Renamed by out id"},
        headers={**p.h, "If-Match": f'"{product["version"]}"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == product["id"] and r.json()["title"] == "Renamed by out id"
    r = await p.get("/v1/skus/by-out-id/erp-77-m")
    assert r.status_code == 200 and r.json()["id"] == product["skus"][0]["id"]
    assert r.json()["stock"] == 4
    r = await client.patch("/v1/skus/by-out-id/erp-77-m", json={"price": 12300}, headers=p.h)
    assert r.status_code == 200 and r.json()["price"] == 12300
    assert (await p.get(f"/v1/products/{product['id']}")).json()["skus"][0]["price"] == 12300
    # Unknown here, or another shop's: 404 either way, and nothing changes.
    r = await client.patch("/v1/skus/by-out-id/nope", json={"price": 1}, headers=p.h)
    assert r.status_code == 404 and r.json()["code"] == "sku_not_found"
    for path in ("/v1/products/by-out-id/erp-77", "/v1/skus/by-out-id/erp-77-m"):
        r = await client.patch(
            path, json={"price": 1} if "skus" in path else {"title": "x"}, headers=other.h
        )
        assert r.status_code == 404, r.text
    assert (await p.get("/v1/skus/by-out-id/erp-77-m")).json()["price"] == 12300
