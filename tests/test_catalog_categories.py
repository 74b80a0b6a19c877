"""Categories for the calling shop, and the industry-qualification review that unlocks them."""

from __future__ import annotations

import httpx

from app.domain.catalog.categories import category_tree
from tests.factories import business_shop_in_review, operator, user
from tests.oauth_support import authorized


def test_the_shipped_tree_is_realistic_and_consistent() -> None:
    tree = category_tree()
    leaves = [c for c in tree.by_id.values() if c.is_leaf]
    assert len(leaves) >= 150 and len(tree.roots) >= 10
    assert all(c.level == 3 for c in leaves)
    for leaf in leaves:
        assert leaf.shop_types and leaf.conditions
        assert set(leaf.qualifications) <= set(tree.qualifications)
    food = tree.by_id["cat_food"]
    assert any(tree.by_id[leaf].qualifications for leaf in tree.leaves_under(food.id))
    second_hand = [c for c in leaves if "second_hand" in c.conditions]
    assert any("personal" in c.shop_types for c in second_hand)


async def test_categories_tell_a_personal_shop_what_it_can_use(
    client: httpx.AsyncClient,
) -> None:
    auth = await authorized(client)
    r = await client.get("/v1/categories", headers=auth.bearer)
    assert r.status_code == 200, r.text
    roots = r.json()
    assert {n["id"] for n in roots} >= {"cat_apparel", "cat_food"}
    assert all(n["level"] == 1 and n["children"] is None for n in roots)
    r = await client.get(
        "/v1/categories",
        params={"parent_id": "cat_apparel", "tree": "true"},
        headers=auth.bearer,
    )
    level2 = r.json()
    assert all(n["parent_id"] == "cat_apparel" for n in level2)
    dresses = next(
        leaf for n in level2 for leaf in n["children"] if leaf["id"] == "cat_apparel_women_dresses"
    )
    assert dresses["usable"] is True and dresses["is_leaf"] is True
    # A regulated leaf is closed to a personal shop whatever it holds.
    tree = category_tree()
    closed = next(c for c in tree.by_id.values() if c.is_leaf and "personal" not in c.shop_types)
    r = await client.get(f"/v1/categories/{closed.id}", headers=auth.bearer)
    body = r.json()
    assert body["usable"] is False and body["open_to_shop_type"] is False
    assert (await client.get("/v1/categories/cat_nope", headers=auth.bearer)).status_code == 404
    r = await client.get("/v1/categories", params={"parent_id": "cat_nope"}, headers=auth.bearer)
    assert r.status_code == 404


async def test_an_approved_qualification_unlocks_a_regulated_category(
    client: httpx.AsyncClient, new_client, container
) -> None:  # type: ignore[no-untyped-def]
    merchant = await user(new_client())
    shop = await business_shop_in_review(merchant)
    op = await operator(container, new_client())
    r = await op.client.post(f"/v1/platform/shops/{shop['id']}/approve", headers=op.h)
    assert r.status_code == 200, r.text
    auth = await authorized(client, merchant=merchant, shop=shop)
    tree = category_tree()
    leaf = next(
        c
        for c in tree.by_id.values()
        if c.is_leaf
        and "enterprise" in c.shop_types
        and len(c.qualifications) == 1
        # A brand authorization names a brand: see test_brands.py.
        and c.qualifications != ("brand_authorization",)
    )
    [kind] = leaf.qualifications
    node = (await client.get(f"/v1/categories/{leaf.id}", headers=auth.bearer)).json()
    assert node["usable"] is False and node["missing_qualifications"] == [kind]

    r = await client.post(
        "/v1/qualifications",
        json={
            "kind": kind,
            "category_id": leaf.id,
            "documents": ["https://cdn.example.com/doc.jpg"],
        },
        headers=auth.bearer,
    )
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["status"] == "in_review" and r.headers["location"] == f"/v1/qualifications/{q['id']}"
    queue = (await op.client.get("/v1/platform/review-queue/qualifications")).json()["data"]
    assert q["id"] in {x["id"] for x in queue}
    r = await op.client.post(f"/v1/platform/qualifications/{q['id']}/approve", headers=op.h)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = await op.client.post(f"/v1/platform/qualifications/{q['id']}/approve", headers=op.h)
    assert r.status_code == 409
    node = (await client.get(f"/v1/categories/{leaf.id}", headers=auth.bearer)).json()
    assert node["usable"] is True and node["missing_qualifications"] == []
    listed = (
        await client.get("/v1/qualifications", params={"status": "approved"}, headers=auth.bearer)
    ).json()["data"]
    assert [x["id"] for x in listed] == [q["id"]]


async def test_qualification_rules_rejection_and_tenancy(
    client: httpx.AsyncClient, new_client, container
) -> None:  # type: ignore[no-untyped-def]
    a = await authorized(client)
    b = await authorized(client)
    doc = ["https://cdn.example.com/doc.jpg"]
    for body in (
        {"kind": "no_such_kind", "documents": doc},
        {"kind": "food_business_licence", "category_id": "cat_nope", "documents": doc},
        {
            "kind": "food_business_licence",
            "category_id": "cat_apparel_women_dresses",
            "documents": doc,
        },
        {"kind": "food_business_licence", "documents": []},
        {"kind": "food_business_licence", "documents": ["not a url"]},
    ):
        r = await client.post("/v1/qualifications", json=body, headers=a.bearer)
        assert r.status_code == 422, (body, r.text)
    r = await client.post(
        "/v1/qualifications",
        json={"kind": "food_business_licence", "documents": doc},
        headers=a.bearer,
    )
    q = r.json()
    op = await operator(container, new_client())
    r = await op.client.post(
        f"/v1/platform/qualifications/{q['id']}/reject",
        json={"reason": "Blurry scan"},
        headers=op.h,
    )
    assert r.json()["status"] == "rejected" and r.json()["rejection_reason"] == "Blurry scan"
    got = await client.get(f"/v1/qualifications/{q['id']}", headers=a.bearer)
    assert got.json()["status"] == "rejected"
    # Shop B's token never sees shop A's qualification.
    r = await client.get(f"/v1/qualifications/{q['id']}", headers=b.bearer)
    assert r.status_code == 404
    assert (await client.get("/v1/qualifications", headers=b.bearer)).json()["data"] == []
    kinds = (await client.get("/v1/qualification-kinds", headers=a.bearer)).json()
    assert "food_business_licence" in {k["code"] for k in kinds}
