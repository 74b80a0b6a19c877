"""The hot product reads serialise records themselves: byte for byte what the schema writes."""

from __future__ import annotations

import httpx

from app.api.schemas.product_documents import product_out
from app.container import Container
from app.domain.catalog import product_services as services
from tests import factories as f
from tests.product_support import listed, provider, sku
from tests.test_product_revisions import NewClient


async def _schema_json(container: Container, shop_id: str, pid: str, view: str) -> bytes:
    """The document the `Product` schema makes from the entities (the ORM path)."""
    async with container.uow() as uow:
        product = await services.get_for_shop(uow, shop_id, pid)
        skus = await services.skus_of(uow, [product])
        out = product_out(product, skus[pid], view)  # type: ignore[arg-type]
    return out.model_dump_json().encode()


async def test_reads_answer_exactly_what_the_product_schema_writes(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    p = await provider(client)
    op = await f.operator(container, new_client())
    product = await p.create(
        title="亚麻连衣裙 — été",
        brand_id="brand_none",
        out_product_id="doc-1",
        description=[
            {"type": "text", "text": 'Pure linen, cut for summer "à la plage".'},
            {"type": "image", "url": "https://cdn.example.com/d/1.jpg"},
        ],
        skus=[
            sku(sale_attrs={"colour": "white", "size": "M"}, market_price=None),
            sku(low_stock_threshold=3),
        ],
    )
    pid = product["id"]
    await listed(p, op, pid)
    # A pending revision, so both views differ and `pending_revision` is filled in.
    r = await p.client.patch(
        f"/v1/products/{pid}",
        json={"title": "Linen dress, new cut", "condition": "new", "regions": ["11"]},
        headers=p.h,
    )
    assert r.status_code == 200, r.text

    for view in ("live", "pending"):
        expected = await _schema_json(container, p.shop_id, pid, view)
        one = await p.get(f"/v1/products/{pid}", version=view)
        assert one.status_code == 200, one.text
        assert one.content == expected
        assert one.headers["content-type"] == "application/json"
        assert one.headers["etag"] == f'"{one.json()["version"]}"'
        assert "ratelimit-limit" in one.headers and "x-request-id" in one.headers

        by_out = await p.get("/v1/products/by-out-id/doc-1", version=view)
        assert by_out.status_code == 200 and by_out.content == expected
        assert by_out.headers["etag"] == one.headers["etag"]

        page = await p.get("/v1/products", limit=1, out_product_id="doc-1", version=view)
        assert page.status_code == 200, page.text
        assert page.content == b'{"data":[' + expected + b'],"next_cursor":null}'
        assert "ratelimit-limit" in page.headers
