"""Each route declares the domain errors it raises (`problem_responses`), and the docs list
their codes under their status: an error a client really gets is documented where it occurs."""

from __future__ import annotations

import re
from typing import Any

import httpx

from app.api.errors import problem_responses
from app.domain.catalog.errors import OutOfStock, ProductNotFound
from tests.product_support import provider, sku


def documented_codes(spec: dict[str, Any], operation_id: str, status: int) -> set[str]:
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if operation.get("operationId") == operation_id:
                response = operation["responses"].get(str(status), {})
                return set(re.findall(r"`([a-z_]+)`", response.get("description", "")))
    raise AssertionError(f"no operation {operation_id}")


def test_an_error_class_gives_its_status_and_its_code() -> None:
    responses = problem_responses(401, ProductNotFound, OutOfStock, 404)
    assert list(responses) == [401, 404, 409]
    assert responses[404]["description"] == "Not found (`product_not_found`)"
    assert (
        responses[409]["description"] == "Conflicts with the current state (`insufficient_stock`)"
    )
    assert responses[401]["description"] == "Not authenticated"


async def test_the_errors_clients_get_are_documented_with_their_codes(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    p = await provider(client)
    product = await p.create(skus=[sku(stock=2)])
    base = f"/v1/products/{product['id']}/skus/{product['skus'][0]['id']}"
    got = [
        ("getProduct", await p.get("/v1/products/prod_01jd8m3k2x9v7q4w5e6r7t8y9z")),
        ("adjustSkuStock", await p.post(f"{base}/stock-adjustments", {"delta": -3})),
        ("getProduct", await client.get(f"/v1/products/{product['id']}")),
    ]
    for operation_id, r in got:
        problem = r.json()
        assert r.status_code >= 400 and problem["code"], r.text
        assert problem["code"] in documented_codes(spec, operation_id, r.status_code), (
            operation_id,
            problem,
        )
    assert [r.json()["code"] for _, r in got] == [
        "product_not_found",
        "insufficient_stock",
        "invalid_token",
    ]
