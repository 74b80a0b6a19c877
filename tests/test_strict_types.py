"""Request bodies take JSON types as they are (item 15): `{"stock": true}` used to set stock
to 1. Every JSON request body reachable from the route table is walked, nested models
included, and each integer, money, number and boolean field is fed the wrong JSON type."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError

from app.api.schemas.base import Input
from tests.product_support import Provider, product_body, provider

#: Wrong JSON values per field type, each with the right one as the control.
WRONG: dict[type, tuple[list[Any], Any]] = {
    int: ([True, False, "5", 5.5], 5),
    float: ([True, "5", "0.5"], 5),
    bool: (["true", 1, 0, "1"], True),
}


def _scalar(annotation: Any) -> type | None:
    if get_origin(annotation) in (Union, types.UnionType):
        arms = [a for a in get_args(annotation) if a is not type(None)]
        return arms[0] if len(arms) == 1 and arms[0] in WRONG else None
    return annotation if annotation in WRONG else None


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models(arg)


def json_body_models(app: FastAPI) -> list[type[BaseModel]]:
    """Every model a JSON request body may contain, from the routes' body fields down."""
    roots = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        model = route.body_field.field_info.annotation
        if route.body_field.field_info.__class__.__name__ == "Form":
            continue  # an HTML form: strings on the wire, like a query
        roots.append(model)
    seen: dict[type[BaseModel], None] = {}
    todo = list(roots)
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen[model] = None
        for field in model.model_fields.values():
            todo.extend(_models(field.annotation))
    return list(seen)


def _errors_at(model: type[BaseModel], data: dict[str, Any], name: str) -> list[str]:
    try:
        model.model_validate(data)
    except ValidationError as e:
        return [err["type"] for err in e.errors() if err["loc"][:1] == (name,)]
    return []


def test_every_json_body_is_an_input_model(app: FastAPI) -> None:
    models = json_body_models(app)
    assert any(m.__name__ == "StockSet" for m in models), [m.__name__ for m in models]
    assert not [m.__name__ for m in models if not issubclass(m, Input)]


def test_every_number_and_boolean_field_of_a_request_body_is_strict(app: FastAPI) -> None:
    failures = []
    checked = 0
    for model in json_body_models(app):
        for name, field in model.model_fields.items():
            alias = field.alias or name
            kind = _scalar(field.annotation)
            if kind is None:
                continue
            checked += 1
            wrong, right = WRONG[kind]
            assert not _errors_at(model, {alias: right}, alias), f"{model.__name__}.{name}"
            for value in wrong:
                if not _errors_at(model, {alias: value}, alias):
                    failures.append(f"{model.__name__}.{name} ({kind.__name__}) took {value!r}")
    assert checked >= 15, checked  # stock, prices, deltas, versions, flags ...
    assert not failures, "\n".join(failures)


@pytest.fixture
async def seller(client: httpx.AsyncClient) -> Provider:
    return await provider(client)


@pytest.mark.parametrize("value", [True, "5", 5.0])
async def test_stock_true_is_a_422_and_changes_nothing(
    client: httpx.AsyncClient, seller: Provider, value: Any
) -> None:
    r = await client.post("/v1/products", json=product_body(), headers=seller.h)
    assert r.status_code == 201, r.text
    product = r.json()
    sku = product["skus"][0]
    path = f"/v1/products/{product['id']}/skus/{sku['id']}"

    r = await client.put(f"{path}/stock", json={"stock": value}, headers=seller.h)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"], r.json()
    r = await client.post(f"{path}/stock-adjustments", json={"delta": value}, headers=seller.h)
    assert r.status_code == 422, r.text
    # A batch validates item by item: the item answers 422 inside the 200.
    r = await client.post(
        "/v1/stock/batch", json={"items": [{"sku_id": sku["id"], "stock": value}]}, headers=seller.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["status"] == 422, r.text
    r = await client.get(f"/v1/products/{product['id']}", headers=seller.h)
    assert r.json()["skus"][0]["stock"] == sku["stock"]
    # Control: a JSON integer works.
    r = await client.put(f"{path}/stock", json={"stock": 5}, headers=seller.h)
    assert r.status_code == 200 and r.json()["stock"] == 5, r.text
