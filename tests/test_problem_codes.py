"""Each route declares the domain errors it raises (`problem_responses`), and the docs list
their codes under their status: an error a client really gets is documented where it occurs."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import httpx

import app.api
import app.domain
import app.infra
from app.api.errors import listed_codes, problem_responses, with_codes
from app.domain.catalog.errors import OutOfStock, ProductNotFound
from app.domain.errors import DomainError
from tests.problem_codes_plugin import GENERIC_CODES, Answered, documented, recorder
from tests.product_support import provider, sku


def documented_codes(spec: dict[str, Any], operation_id: str, status: int) -> set[str]:
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if operation.get("operationId") == operation_id:
                response = operation["responses"].get(str(status), {})
                return listed_codes(response.get("description", ""))
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


def test_the_guard_finds_an_undeclared_status_or_code() -> None:
    spec = {
        "paths": {
            "/x": {
                "get": {
                    "operationId": "getX",
                    "responses": {"404": {"description": "Not found (`x_not_found`)"}},
                }
            }
        }
    }

    def check(status: int, code: str | None, path: str = "/x") -> str | None:
        return documented(spec, Answered("GET", path, status, code, "t"))

    assert check(404, "x_not_found") is None
    assert check(404, "not_found") is None  # a generic code: the status says it
    assert check(404, None) is None
    assert "a code its docs do not list" in (check(404, "y_not_found") or "")
    assert "a status it does not declare" in (check(409, "conflict") or "")
    assert check(404, "y_not_found", path="/page") is None  # not in the document


def test_codes_are_listed_at_the_end_of_a_description_once_and_sorted() -> None:
    assert with_codes("Not found", ["b", "a"]) == "Not found (`a`, `b`)"
    assert with_codes("Not found (`b`)", ["a", "b"]) == "Not found (`a`, `b`)"
    assert with_codes("Send an `Idempotency-Key`", []) == "Send an `Idempotency-Key`"
    assert listed_codes("Send an `Idempotency-Key` (`x_y`)") == {"x_y"}


#: Domain errors no operation of the document answers as a problem: the authorization
#: server's (RFC 6749 `{"error": ...}` bodies, documented by `OAUTH_ERRORS`), the HTML
#: authorization page's, and a base class nothing raises itself.
NOT_IN_THE_DOCUMENT = {
    "oauth_error",
    "invalid_authorization_request",
    "limit_exceeded",
}


def _every_domain_error() -> set[type[DomainError]]:
    for package in (app.domain, app.api, app.infra):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found: set[type[DomainError]] = set()
    todo = [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return found


async def test_every_specific_domain_error_is_documented_by_some_operation(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    documented_anywhere = {
        code
        for path_item in spec["paths"].values()
        for operation in path_item.values()
        for response in operation.get("responses", {}).values()
        for code in listed_codes(response.get("description", ""))
    }
    missing = sorted(
        f"{cls.__module__}.{cls.__name__} `{cls.code}`"
        for cls in _every_domain_error()
        if cls.code not in GENERIC_CODES | NOT_IN_THE_DOCUMENT | documented_anywhere
    )
    assert not missing, missing


async def test_the_suite_wide_guard_sees_what_routes_answer(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/apps/app_01jd8m3k2x9v7q4w5e6r7t8y9z")
    assert r.status_code == 401
    seen = {(method, path, status, code) for (_, method, path, status, code) in recorder.answered}
    assert ("GET", "/v1/apps/{app_id}", 401, "session_required") in seen
