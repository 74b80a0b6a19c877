"""The brand catalogue: brands bound to categories, "no brand", and authorization per brand."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from app.container import Container
from app.domain.catalog.brands import brand_catalogue
from tests import factories as f
from tests.product_support import LEAF, listed, product_body, provider

NewClient = Callable[..., httpx.AsyncClient]


def test_the_catalogue_binds_every_brand_to_real_categories() -> None:
    catalogue = brand_catalogue()
    assert len(catalogue.brands) >= 50
    none = catalogue.require("brand_none")
    assert not none.authorization_required and catalogue.fits(none, "cat_food_snacks")
    lining = catalogue.require("brand_lining")
    assert catalogue.fits(lining, "cat_sports") and not catalogue.fits(lining, "cat_food")


async def test_brands_by_category_and_what_the_shop_may_use(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    r = await p.get("/v1/brands", category_id="cat_digital_phones")
    assert r.status_code == 200, r.text
    ids = [b["id"] for b in r.json()]
    assert {"brand_none", "brand_huawei", "brand_xiaomi"} <= set(ids)
    assert "brand_lining" not in ids
    by_id = {b["id"]: b for b in r.json()}
    assert by_id["brand_none"]["authorized"] is True
    assert by_id["brand_huawei"] == {
        "id": "brand_huawei",
        "name": "Huawei",
        "name_zh": "华为",
        "categories": [
            "cat_digital_phones",
            "cat_digital_computers",
            "cat_digital_audio",
            "cat_digital_accessories",
            "cat_secondhand_phones",
        ],
        "authorization_required": True,
        "authorized": False,
    }
    assert [b["id"] for b in (await p.get("/v1/brands", q="李宁")).json()] == ["brand_lining"]
    assert (await p.get("/v1/brands", category_id="cat_nope")).status_code == 404
    assert (await p.get("/v1/brands/brand_lining")).json()["name"] == "Li-Ning"
    r = await p.get("/v1/brands/brand_nope")
    assert r.status_code == 404 and r.json()["code"] == "brand_not_found"


async def test_a_brand_needs_its_category_and_an_approved_authorization(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    skus = product_body()["skus"]

    async def create(brand_id: str, category_id: str = LEAF) -> httpx.Response:
        body = product_body(brand_id=brand_id, category_id=category_id, skus=skus)
        return await client.post("/v1/products", json=body, headers=p.h)

    def error_type(r: httpx.Response) -> str:
        assert r.status_code == 422, r.text
        [err] = [e for e in r.json()["errors"] if e["loc"] == ["body", "brand_id"]]
        return str(err["type"])

    assert error_type(await create("brand_nope")) == "unknown_brand"
    assert error_type(await create("brand_huawei")) == "brand_not_in_category"
    assert error_type(await create("brand_peacebird")) == "missing_brand_authorization"
    r = await client.get("/v1/products", params={"limit": 100}, headers=p.h)
    assert r.json()["data"] == []  # nothing was made

    # A brand authorization must name a known brand, and only it names one.
    docs = ["https://cdn.example.com/tm.jpg"]
    for body, loc in (
        ({"kind": "brand_authorization", "documents": docs}, "brand_id"),
        ({"kind": "brand_authorization", "brand_id": "brand_x", "documents": docs}, "brand_id"),
        (
            {"kind": "food_business_licence", "brand_id": "brand_anta", "documents": docs},
            "brand_id",
        ),
    ):
        r = await p.post("/v1/qualifications", body)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", loc], r.text
    r = await p.post(
        "/v1/qualifications",
        {"kind": "brand_authorization", "brand_id": "brand_peacebird", "documents": docs},
    )
    assert r.status_code == 201, r.text
    # In review is not enough.
    assert error_type(await create("brand_peacebird")) == "missing_brand_authorization"
    r = await op.client.post(f"/v1/platform/qualifications/{r.json()['id']}/approve", headers=op.h)
    assert r.status_code == 200, r.text
    assert (await p.get("/v1/brands/brand_peacebird")).json()["authorized"] is True

    r = await create("brand_peacebird")
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["brand_id"] == "brand_peacebird" and made["brand"] == "Peacebird"
    # Moving to a category the brand is not bound to is refused; no brand fits everywhere.
    r = await client.patch(
        f"/v1/products/{made['id']}", json={"category_id": "cat_food_snacks_nuts"}, headers=p.h
    )
    assert r.status_code == 422
    r = await client.patch(
        f"/v1/products/{made['id']}", json={"brand_id": "brand_none"}, headers=p.h
    )
    assert r.status_code == 200 and r.json()["brand"] is None

    # On a listed product a brand change is reviewed content: it waits in the revision.
    await listed(p, op, made["id"])
    r = await client.patch(
        f"/v1/products/{made['id']}", json={"brand_id": "brand_peacebird"}, headers=p.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["brand_id"] == "brand_none"
    assert r.json()["pending_revision"]["changes"] == {
        "brand_id": "brand_peacebird",
        "brand": "Peacebird",
    }
    r = await p.get(f"/v1/products/{made['id']}", version="pending")
    assert r.json()["brand"] == "Peacebird"
