"""Enforcement on the provider (open) API.

1. Every operation whose OpenAPI `security` names `providerOAuth` is found in `app.openapi()`
   and checked for authentication (401 + RFC 6750 challenge), scope (403 insufficient_scope)
   and tenancy (shop A's token never reaches shop B). A route added later is covered without
   touching this file — unless it has a path parameter, which makes
   `test_every_provider_path_parameter_has_a_factory` fail until `PATH_ID_FACTORIES` can
   create such a resource.
2. Token tampering: every forged, foreign, expired or malformed bearer is 401 invalid_token.
3. Live state: a revoked grant and a suspended app stop old tokens at the next request.
4. `PATCH /v1/shop`: the change, its audit entry, If-Match and a suspended shop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jose import jwt

from app.container import Container
from tests import factories as f
from tests.oauth_support import ALL_SCOPES, Authorized, authorized, exchange, get_code

NewClient = Callable[..., httpx.AsyncClient]

OAUTH = "providerOAuth"
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
PROBLEM_JSON = "application/problem+json"


# --- The registry the tenancy test needs ---------------------------------------------------


@dataclass
class ShopContext:
    """A shop that authorized the app under test (`auth.bearer` is its own token)."""

    auth: Authorized
    client: httpx.AsyncClient
    container: Container


#: Creates a resource in the given shop and returns its id.
PathIdFactory = Callable[[ShopContext], Awaitable[str]]


#: Path parameter name → factory. Empty while `/v1/shop` is the only provider resource: the
#: change that adds a provider route with an id (`/v1/products/{product_id}`, ...) adds the
#: factory here, and the tenancy test then checks that shop A's token gets 404 on shop B's id.
async def _qualification(shop: ShopContext) -> str:
    r = await shop.client.post(
        "/v1/qualifications",
        json={"kind": "food_business_licence", "documents": ["https://cdn.example.com/l.jpg"]},
        headers=shop.auth.bearer,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def product_body(**overrides: Any) -> dict[str, Any]:
    """A valid product for any shop (the category is open to personal shops)."""
    body: dict[str, Any] = {
        "title": f"Product {secrets.token_hex(3)}",
        "images": ["https://cdn.example.com/p.jpg"],
        "category_id": "cat_apparel_women_dresses",
        "skus": [{"sale_attrs": {"size": "S"}, "price": 9900, "stock": 10}],
    }
    body.update(overrides)
    return body


async def _create_product(shop: ShopContext, **overrides: Any) -> dict[str, Any]:
    r = await shop.client.post(
        "/v1/products", json=product_body(**overrides), headers=shop.auth.bearer
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _product(shop: ShopContext) -> str:
    return str((await _create_product(shop))["id"])


async def _freight_template(shop: ShopContext) -> str:
    r = await shop.client.post(
        "/v1/freight-templates",
        json={
            "name": f"Template {secrets.token_hex(3)}",
            "valuation": "piece",
            "default_rate": {
                "first_units": 1,
                "first_price": 800,
                "additional_units": 1,
                "additional_price": 200,
            },
        },
        headers=shop.auth.bearer,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _out_product_id(shop: ShopContext) -> str:
    out_id = f"erp-{secrets.token_hex(4)}"
    await _create_product(shop, out_product_id=out_id)
    return out_id


async def _out_sku_id(shop: ShopContext) -> str:
    out_id = f"erp-sku-{secrets.token_hex(4)}"
    body = product_body()
    body["skus"][0]["out_sku_id"] = out_id
    r = await shop.client.post("/v1/products", json=body, headers=shop.auth.bearer)
    assert r.status_code == 201, r.text
    return out_id


async def _sku(shop: ShopContext, ids: dict[str, str] | None = None) -> str:
    """The first SKU of the product already made for this call, or of a new one."""
    if ids and "product_id" in ids:
        r = await shop.client.get(f"/v1/products/{ids['product_id']}", headers=shop.auth.bearer)
        assert r.status_code == 200, r.text
        return str(r.json()["skus"][0]["id"])
    return str((await _create_product(shop))["skus"][0]["id"])


async def _bulk_job(shop: ShopContext) -> str:
    """An export job (it needs no file to upload)."""
    r = await shop.client.post(
        "/v1/products/bulk-exports", json={"format": "jsonl"}, headers=shop.auth.bearer
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def _order(shop: ShopContext) -> str:
    """An order of a listed product, placed by the shop's merchant as a buyer."""
    from app.domain.orders import services as orders

    product = await _create_product(shop)
    await _listed(shop, {"product_id": product["id"]})
    async with shop.container.uow() as uow:
        order = await orders.place(
            uow,
            shop_id=str(shop.auth.shop["id"]),
            buyer_id=shop.auth.merchant.id,
            items=[orders.Item(product["skus"][0]["id"], 2)],
            address=orders.Destination("Li Lei", "13800138000", "440305", "1 Keyuan Road"),
            buyer_note=None,
            payment_timeout=timedelta(minutes=30),
        )
        await uow.commit()
        return order.id


async def _paid(shop: ShopContext, ids: dict[str, str]) -> None:
    """The order paid through the sandbox gateway: its payment made by its buyer, and the
    gateway's notification settled (so a cancellation has a payment to refund)."""
    from tests.payment_support import open_payment, settle_in_process

    payment = await open_payment(shop.container, shop.auth.merchant.id, ids["order_id"])
    assert await settle_in_process(shop.container, payment) == "paid"


async def _shipment(shop: ShopContext, ids: dict[str, str]) -> str:
    """A shipment of one of the two units of the order made for the same call."""
    await _paid(shop, ids)
    r = await shop.client.get(f"/v1/orders/{ids['order_id']}", headers=shop.auth.bearer)
    assert r.status_code == 200, r.text
    line = r.json()["lines"][0]["id"]
    r = await shop.client.post(
        f"/v1/orders/{ids['order_id']}/shipments",
        json={
            "carrier": "SF",
            "waybill_no": "SF1234567890123",
            "lines": [{"line_id": line, "quantity": 1}],
        },
        headers=shop.auth.bearer,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _aftersale(shop: ShopContext) -> str:
    """A return asked for by the buyer of a paid and shipped order of the shop (one unit)."""
    from app.domain.aftersales import services as aftersales
    from app.domain.aftersales.model import AfterSaleReason, AfterSaleType
    from app.domain.aftersales.refundable import Ask

    order_id = await _order(shop)
    await _paid(shop, {"order_id": order_id})
    r = await shop.client.post(
        f"/v1/orders/{order_id}/shipments",
        json={"carrier": "SF", "waybill_no": "SF1234567890123"},
        headers=shop.auth.bearer,
    )
    assert r.status_code == 201, r.text
    async with shop.container.uow() as uow:
        order = await uow.orders.get(str(shop.auth.shop["id"]), order_id)
        assert order is not None
        made = await aftersales.request(
            uow,
            shop.auth.merchant.id,
            order_id,
            type_=AfterSaleType.RETURN_REFUND,
            reason=AfterSaleReason.DAMAGED,
            asks=[Ask(order.lines[0].id, 1)],
        )
        await uow.commit()
        return made.id


RETURN_ADDRESS = {
    "recipient": "售后部",
    "phone": "13800138000",
    "region_code": "440305",
    "detail": "1 Keyuan Road",
}


async def _returned(shop: ShopContext, ids: dict[str, str]) -> None:
    """The return accepted and its goods sent back by the buyer."""
    from app.domain.aftersales import services as aftersales
    from app.domain.audit.model import Actor, ActorType, Surface

    actor = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)
    async with shop.container.uow() as uow:
        await aftersales.accept(
            uow,
            actor,
            str(shop.auth.shop["id"]),
            ids["aftersale_id"],
            address=aftersales.return_address(**RETURN_ADDRESS),
        )
        await aftersales.ship_back(
            uow,
            shop.auth.merchant.id,
            ids["aftersale_id"],
            carrier_code="SF",
            waybill_no="SF1234567890123",
        )
        await uow.commit()


async def _logistics_account(shop: ShopContext) -> str:
    r = await shop.client.post(
        "/v1/logistics/accounts",
        json={
            "carrier": "SF",
            "customer_code": f"755{secrets.randbelow(10**7):07d}",
            "key": "SFPARTNER01",
            "secret": "sk_sandbox_5f3c9a1d7e",
        },
        headers=shop.auth.bearer,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _sender_address(shop: ShopContext) -> str:
    r = await shop.client.post(
        "/v1/logistics/addresses",
        json={"name": "张伟", "phone": "13800138000", "region_code": "440305", "detail": "1号"},
        headers=shop.auth.bearer,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _issuable(shop: ShopContext, ids: dict[str, str]) -> None:
    """The order paid, and the shop with a carrier account and a sender address: their ids
    go into `ids` for the body (`BODY_FROM_IDS`)."""
    await _paid(shop, ids)
    ids["logistics_account_id"] = await _logistics_account(shop)
    await _sender_address(shop)


async def _waybill(shop: ShopContext) -> str:
    """A waybill issued (not shipped) for a paid order of the shop."""
    ids = {"order_id": await _order(shop)}
    await _issuable(shop, ids)
    r = await shop.client.post(
        f"/v1/orders/{ids['order_id']}/waybills",
        json={"logistics_account_id": ids["logistics_account_id"], "weight_grams": 500},
        headers=shop.auth.bearer,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _pickup_point(shop: ShopContext) -> str:
    r = await shop.client.post(
        "/v1/pickup-points",
        json={
            "name": f"Store {secrets.token_hex(3)}",
            "region_code": "440305",
            "detail": "深南大道10000号",
            "hours": "09:00-21:00",
            "contact_name": "张伟",
            "contact_phone": "13800138000",
        },
        headers=shop.auth.bearer,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _batchable(shop: ShopContext, ids: dict[str, str]) -> None:
    """A paid order to print, and the shop's carrier account and sender (ids in `ids`)."""
    ids["order_id"] = await _order(shop)
    await _issuable(shop, ids)


async def _waybill_batch(shop: ShopContext) -> str:
    """A batch printing job of one paid order, run by the worker: its PDF is ready."""
    from tests.bulk_support import run_job

    ids: dict[str, str] = {}
    await _batchable(shop, ids)
    r = await shop.client.post(
        "/v1/waybill-batches",
        json={
            "logistics_account_id": ids["logistics_account_id"],
            "order_ids": [ids["order_id"]],
            "weight_grams": 500,
        },
        headers=shop.auth.bearer,
    )
    assert r.status_code == 202, r.text
    await run_job(shop.container, r.json()["id"])
    return str(r.json()["id"])


PATH_ID_FACTORIES: dict[str, PathIdFactory] = {
    "qualification_id": _qualification,
    "product_id": _product,
    "out_product_id": _out_product_id,
    "sku_id": _sku,
    "out_sku_id": _out_sku_id,
    "job_id": _bulk_job,
    "order_id": _order,
    "shipment_id": _shipment,
    "aftersale_id": _aftersale,
    "logistics_account_id": _logistics_account,
    "sender_address_id": _sender_address,
    "template_id": _freight_template,
    "waybill_id": _waybill,
    "batch_id": _waybill_batch,
    "pickup_point_id": _pickup_point,
}

#: Path parameters naming a child of the resource made for the same call (named before them).
CHILD_FACTORIES = frozenset({"sku_id", "shipment_id"})


async def _approved(shop: ShopContext, ids: dict[str, str]) -> None:
    """Submit through the API, approve as the platform (a system actor, no operator login)."""
    from app.domain.audit.model import Actor, ActorType, Surface
    from app.domain.catalog import product_lifecycle

    r = await shop.client.post(f"/v1/products/{ids['product_id']}/submit", headers=shop.auth.bearer)
    assert r.status_code == 200, r.text
    async with shop.container.uow() as uow:
        actor = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)
        await product_lifecycle.review(uow, actor, ids["product_id"], "approve")
        await uow.commit()


async def _listed(shop: ShopContext, ids: dict[str, str]) -> None:
    await _approved(shop, ids)
    r = await shop.client.post(
        f"/v1/products/{ids['product_id']}/listing", headers=shop.auth.bearer
    )
    assert r.status_code == 200, r.text


async def _revised(shop: ShopContext, ids: dict[str, str]) -> None:
    """A listed product with a pending revision of its title."""
    await _listed(shop, ids)
    r = await shop.client.patch(
        f"/v1/products/{ids['product_id']}",
        json={"title": "A pending title"},
        headers=shop.auth.bearer,
    )
    assert r.status_code == 200 and r.json()["pending_revision"], r.text


#: operationId → brings the fresh resources of one call into the state the operation needs
#: (a lifecycle step is only legal from some states).
async def _export_done(shop: ShopContext, ids: dict[str, str]) -> None:
    """The worker's job processing, in this process: the export's file exists."""
    from app.api.schemas.bulk import SchemaRowValidator
    from app.worker import bulk_worker

    worker = bulk_worker(shop.container, SchemaRowValidator())
    assert await worker.run_next(ids["job_id"]) == ids["job_id"]


async def _paid_pickup(shop: ShopContext, ids: dict[str, str]) -> None:
    """`order_id` becomes a paid pickup order of the shop (at a point made for it)."""
    from app.domain.orders import services as orders
    from app.domain.orders.pickup import PickupDelivery
    from tests.payment_support import open_payment, settle_in_process

    product = await _create_product(shop)
    await _listed(shop, {"product_id": product["id"]})
    point_id = await _pickup_point(shop)
    async with shop.container.uow() as uow:
        order = await orders.place(
            uow,
            shop_id=str(shop.auth.shop["id"]),
            buyer_id=shop.auth.merchant.id,
            items=[orders.Item(product["skus"][0]["id"], 1)],
            address=PickupDelivery(point_id),
            buyer_note=None,
            payment_timeout=timedelta(minutes=30),
        )
        await uow.commit()
    payment = await open_payment(shop.container, shop.auth.merchant.id, order.id)
    assert await settle_in_process(shop.container, payment) == "paid"
    ids["order_id"] = order.id


async def _ready_pickup(shop: ShopContext, ids: dict[str, str]) -> None:
    """A paid pickup order of the shop marked ready: its code, in `ids`, verifies it."""
    from app.domain.audit.model import Actor, ActorType, Surface
    from app.domain.orders import pickup_services

    await _paid_pickup(shop, ids)
    shop_id = str(shop.auth.shop["id"])
    async with shop.container.uow() as uow:
        actor = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)
        order = await pickup_services.mark_ready(uow, actor, shop_id, ids["order_id"])
        assert order.pickup_code is not None
        ids["pickup_code"] = order.pickup_code
        await uow.commit()


STATE_SETUP: dict[str, Callable[[ShopContext, dict[str, str]], Awaitable[None]]] = {
    "listProduct": _approved,
    "delistProduct": _listed,
    "discardProductRevision": _revised,
    "getBulkJobFile": _export_done,
    "createOrderShipment": _paid,
    # Paid: the control's cancellation refunds through the gateway.
    "cancelOrder": _paid,
    "confirmAftersaleReturn": _returned,
    "createOrderWaybill": _issuable,
    "createWaybillBatch": _batchable,
    "markOrderReadyForPickup": _paid_pickup,
    "verifyPickupCode": _ready_pickup,
}

#: Path parameters naming platform-wide resources that no shop owns (the category tree):
#: every shop reaches the same id, so the tenancy check treats them as "no id".
SHARED_PATH_IDS: dict[str, str] = {
    "category_id": "cat_apparel_women_dresses",
    "brand_id": "brand_lining",
}

#: operationId → a valid JSON body, where the one built from the schema's examples is not.
BODY_OVERRIDES: dict[str, dict[str, Any]] = {
    # The factory's product has a {"size": "S"} SKU: another combination, no out_sku_id.
    "addSku": {"sale_attrs": {"size": "XL"}, "price": 9900, "stock": 5},
    # The examples name a line of no real order: re-price the freight, ship everything.
    "changeOrderPrice": {"freight": 0},
    "createOrderShipment": {"carrier": "SF", "waybill_no": "SF1234567890123"},
    # The factory's shipment is an SF one: a ZTO number needs the carrier changed too.
    "updateOrderShipment": {"carrier": "ZTO", "waybill_no": "78123456789012"},
    # The factory's after-sale is a return: accepting it needs the address.
    "acceptAftersale": {"return_address": RETURN_ADDRESS},
}

#: operationId → the body made of the state its `STATE_SETUP` left in the ids (a code the
#: set-up drew, the carrier account it bound); without that state, the body built from the
#: examples.
BODY_FROM_IDS: dict[str, Callable[[dict[str, str]], dict[str, Any] | None]] = {
    "verifyPickupCode": lambda ids: {"code": ids["pickup_code"]} if "pickup_code" in ids else None,
    "createOrderWaybill": lambda ids: (
        {"logistics_account_id": ids["logistics_account_id"], "weight_grams": 500}
        if "logistics_account_id" in ids
        else None
    ),
    "createWaybillBatch": lambda ids: (
        {
            "logistics_account_id": ids["logistics_account_id"],
            "order_ids": [ids["order_id"]],
            "weight_grams": 500,
        }
        if "logistics_account_id" in ids
        else None
    ),
}

#: operationId → (body, Content-Type) of the operations that take a file, not JSON.
RAW_BODIES: dict[str, tuple[bytes, str]] = {
    "createBulkImport": (
        b'{"out_product_id": "bulk-1", "title": "Bulk", "category_id": '
        b'"cat_apparel_women_dresses", "images": ["https://cdn.example.com/p.jpg"], '
        b'"sale_attrs": {"size": "S"}, "price": 9900}\n',
        "application/x-ndjson",
    ),
}


# --- The operations, from the OpenAPI document ---------------------------------------------


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    scopes: tuple[str, ...]
    path_params: tuple[str, ...]
    required_query: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None
    response_schema: str | None
    responses: frozenset[str]

    def __str__(self) -> str:
        return f"{self.id} ({self.method} {self.path})"


def _ref_name(schema: dict[str, Any] | None) -> str | None:
    ref = (schema or {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def provider_operations(app: FastAPI) -> list[Operation]:
    spec = app.openapi()
    ops: list[Operation] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            requirements = [r for r in op.get("security", []) if OAUTH in r]
            if not requirements:
                continue
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            ok = next((r for s, r in op["responses"].items() if s.startswith("2")), {})
            ok_schema = ok.get("content", {}).get("application/json", {}).get("schema")
            ops.append(
                Operation(
                    id=op["operationId"],
                    method=method.upper(),
                    path=path,
                    scopes=tuple(sorted({s for r in requirements for s in r[OAUTH]})),
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    required_query=tuple(
                        p for p in params if p["in"] == "query" and p.get("required")
                    ),
                    body_schema=body["schema"] if body else None,
                    response_schema=_ref_name(ok_schema),
                    responses=frozenset(op["responses"]),
                )
            )
    return ops


def _example(schema: dict[str, Any], spec: dict[str, Any], where: str) -> Any:
    name = _ref_name(schema)
    if name:
        schema = spec["components"]["schemas"][name]
    for key in ("examples", "example", "default", "enum"):
        if key in schema:
            value = schema[key]
            return value[0] if key in ("examples", "enum") else value
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {p: _example(props[p], spec, f"{where}.{p}") for p in schema.get("required", [])}
    pytest.fail(f"{where}: no example to build a valid value from; add one to BODY_OVERRIDES")


def request_body(app: FastAPI, op: Operation) -> dict[str, Any] | None:
    """A valid JSON body, so a 422 never stands in for the auth result."""
    if op.body_schema is None:
        return None
    if op.id in BODY_OVERRIDES:
        return BODY_OVERRIDES[op.id]
    body = _example(op.body_schema, app.openapi(), f"{op} body")
    assert isinstance(body, dict)
    return body


def query_params(app: FastAPI, op: Operation) -> dict[str, Any]:
    return {
        p["name"]: _example({**p.get("schema", {}), **p}, app.openapi(), f"{op} ?{p['name']}")
        for p in op.required_query
    }


def missing_factories(ops: list[Operation]) -> list[str]:
    known = PATH_ID_FACTORIES.keys() | SHARED_PATH_IDS.keys()
    return [
        f"{op}: {', '.join(p for p in op.path_params if p not in known)}"
        for op in ops
        if any(p not in known for p in op.path_params)
    ]


MISSING_FACTORY_HELP = (
    "Provider operations with path parameters that PATH_ID_FACTORIES in "
    "tests/test_provider_enforcement.py cannot fill:\n  {}\nAdd an async factory per "
    "parameter that creates such a resource in the given shop and returns its id, so the "
    "tenancy test checks that shop A's token gets 404 on shop B's ids."
)


async def path_ids(ops: list[Operation], shop: ShopContext) -> dict[str, str]:
    """Fresh resources of `shop` for every path parameter the operations use."""
    missing = missing_factories(ops)
    if missing:
        pytest.fail(MISSING_FACTORY_HELP.format("\n  ".join(missing)))
    names = sorted({p for op in ops for p in op.path_params if p not in SHARED_PATH_IDS})
    ids = dict(SHARED_PATH_IDS)
    for name in names:
        factory: Any = PATH_ID_FACTORIES[name]
        # A child resource (a SKU) belongs to the parent made for the same call.
        ids[name] = await (factory(shop, ids) if name in CHILD_FACTORIES else factory(shop))
    return ids


async def op_ids(op: Operation, shop: ShopContext) -> dict[str, str]:
    """Fresh resources for one operation, in the state it needs."""
    ids = await path_ids([op], shop)
    if op.id in STATE_SETUP:
        await STATE_SETUP[op.id](shop, ids)
    return ids


async def call(
    app: FastAPI,
    client: httpx.AsyncClient,
    op: Operation,
    ids: dict[str, str],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    if op.id in RAW_BODIES:
        content, ctype = RAW_BODIES[op.id]
        return await client.request(
            op.method,
            op.path.format(**ids),
            params=query_params(app, op),
            headers={**(headers or {}), "Content-Type": ctype},
            content=content,
        )
    from_ids = BODY_FROM_IDS[op.id](ids) if op.id in BODY_FROM_IDS else None
    body = from_ids if from_ids is not None else request_body(app, op)
    return await client.request(
        op.method,
        op.path.format(**ids),
        params=query_params(app, op),
        headers=headers or {},
        **({"json": body} if body is not None else {}),
    )


# --- Assertions ----------------------------------------------------------------------------


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers
    body = dict(r.json())
    assert body["code"] == code, body
    assert body["status"] == status
    return body


def challenge(r: httpx.Response) -> dict[str, str]:
    """The parameters of the `WWW-Authenticate: Bearer ...` challenge (RFC 6750 §3)."""
    value = r.headers.get("www-authenticate", "")
    assert value.startswith("Bearer "), f"no Bearer challenge: {value!r}"
    return dict(re.findall(r'(\w+)="([^"]*)"', value))


def assert_invalid_token(r: httpx.Response) -> None:
    problem(r, 401, "invalid_token")
    params = challenge(r)
    assert params["error"] == "invalid_token", params
    assert params["realm"] == "minishop"
    assert "error_description" in params


def assert_insufficient_scope(r: httpx.Response, needed: str) -> None:
    body = problem(r, 403, "insufficient_scope")
    assert body["required_scope"] == needed
    params = challenge(r)
    assert params["error"] == "insufficient_scope", params
    assert params["scope"] == needed, params


def collect(failures: list[str], op: Operation, check: Callable[..., None], *args: Any) -> None:
    """Run one assertion, keep going: the report names every failing operation at once."""
    try:
        check(*args)
    except AssertionError as e:
        failures.append(f"{op}: {e}")


def _shop_ids(node: Any) -> list[Any]:
    if isinstance(node, dict):
        own = [node["shop_id"]] if "shop_id" in node else []
        return own + [x for v in node.values() for x in _shop_ids(v)]
    if isinstance(node, list):
        return [x for v in node for x in _shop_ids(v)]
    return []


@dataclass
class Tenants:
    """Shop A and shop B (another merchant's) that both authorized the same app."""

    a: ShopContext
    b: ShopContext
    ops: list[Operation]


async def _unlimited(container: Container, app_id: str) -> None:
    from app.domain.audit.model import Actor, ActorType, Surface
    from app.domain.authz import apps as app_services

    async with container.uow() as uow:
        actor = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)
        await app_services.set_rate_limit(uow, actor, app_id, burst=10**6, per_second=10.0**6)
        await uow.commit()


async def tenants(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> Tenants:
    a = await authorized(client)
    b_client = new_client()
    b = await authorized(b_client, app=a.app)
    # Every operation runs against one (app, shop) bucket, with the set-up calls it needs:
    # the operator's per-app override lifts the limit (the limiter still runs on each call).
    await _unlimited(container, a.app.id)
    ops = provider_operations(app)
    # The enumeration must see the routes that exist today; anything else means the scheme
    # or the document changed and this module would silently test nothing.
    assert {"getShop", "updateShop"} <= {op.id for op in ops}, [str(op) for op in ops]
    return Tenants(ShopContext(a, client, container), ShopContext(b, b_client, container), ops)


# --- 1. Every provider operation -----------------------------------------------------------


async def test_every_provider_path_parameter_has_a_factory(app: FastAPI) -> None:
    missing = missing_factories(provider_operations(app))
    assert not missing, MISSING_FACTORY_HELP.format("\n  ".join(missing))


async def test_every_provider_operation_declares_its_scope_and_errors(app: FastAPI) -> None:
    failures = []
    for op in provider_operations(app):
        if not op.scopes:
            failures.append(f"{op}: providerOAuth lists no scope")
        if not set(op.scopes) <= set(ALL_SCOPES):
            failures.append(f"{op}: unknown scope in {op.scopes}")
        for status in ("401", "403", "429"):
            if status not in op.responses:
                failures.append(f"{op}: does not document {status}")
    assert not failures, "\n".join(failures)


async def test_every_provider_operation_needs_a_valid_bearer(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    t = await tenants(app, client, container, new_client)
    ids = await path_ids(t.ops, t.b)
    merchant = t.b.auth.merchant  # a logged-in session cookie is no provider credential
    failures: list[str] = []
    for op in t.ops:
        for headers in (
            {},
            merchant.h,
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer not-a-token"},
            {"Authorization": f"bearer{t.a.auth.tokens['access_token']}"},
        ):
            r = await call(app, merchant.client, op, ids, headers)
            collect(failures, op, assert_invalid_token, r)
    assert not failures, "\n".join(failures)


async def narrowed(client: httpx.AsyncClient, auth: Authorized, scopes: list[str]) -> str:
    """An access token with only `scopes`: a refresh may narrow (RFC 6749 §6)."""
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": auth.tokens["refresh_token"],
            "scope": " ".join(scopes),
        },
        auth=(auth.app.client_id, auth.app.client_secret),
    )
    assert r.status_code == 200, r.text
    auth.tokens["refresh_token"] = r.json()["refresh_token"]  # rotated
    assert sorted(r.json()["scope"].split()) == sorted(scopes)
    return str(r.json()["access_token"])


async def test_every_provider_operation_enforces_its_declared_scope(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    t = await tenants(app, client, container, new_client)
    b_ids = await path_ids(t.ops, t.b)
    failures: list[str] = []
    for op in t.ops:
        needed = " ".join(op.scopes)
        # Every scope but the operation's: refused before any lookup, even on shop B's ids.
        token = await narrowed(client, t.a.auth, [s for s in ALL_SCOPES if s not in op.scopes])
        r = await call(app, client, op, b_ids, {"Authorization": f"Bearer {token}"})
        collect(failures, op, assert_insufficient_scope, r, needed)
        collect(failures, op, _has_rate_headers, r)
        # Only the operation's scope, on the token's own shop: the declared scope suffices.
        token = await narrowed(client, t.a.auth, list(op.scopes))
        r = await call(app, client, op, await op_ids(op, t.a), {"Authorization": f"Bearer {token}"})
        collect(failures, op, _succeeds, r)
    assert not failures, "\n".join(failures)


def _succeeds(r: httpx.Response) -> None:
    assert r.is_success, f"with only the declared scope: {r.status_code} {r.text}"
    _has_rate_headers(r)


def _has_rate_headers(r: httpx.Response) -> None:
    for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert h in r.headers, f"{r.status_code} without {h}"


def _not_found_without_b(r: httpx.Response, b_id: str, b_name: str) -> None:
    assert r.status_code == 404, f"{r.status_code} {r.text}"
    assert b_name not in r.text and b_id not in r.text, r.text


def _control_succeeds(r: httpx.Response) -> None:
    assert r.is_success, f"control with shop B's own token: {r.status_code} {r.text}"
    _has_rate_headers(r)


def _own_shop_only(r: httpx.Response, op: Operation, a_id: str, b_id: str, b_name: str) -> None:
    assert r.is_success, f"{r.status_code} {r.text}"
    _has_rate_headers(r)
    assert b_id not in r.text and b_name not in r.text, r.text
    if not r.content:
        return
    body = r.json()
    assert all(s == a_id for s in _shop_ids(body)), body
    if op.response_schema == "Shop":
        assert body["id"] == a_id, body


async def test_shop_a_token_never_reaches_shop_b(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    t = await tenants(app, client, container, new_client)
    a_id, b_id = t.a.auth.shop["id"], t.b.auth.shop["id"]
    b_name = t.b.auth.shop["name"]
    b_merchant = t.b.auth.merchant
    before = (await b_merchant.client.get(f"/merchant/shops/{b_id}")).json()
    failures: list[str] = []
    for op in t.ops:
        if any(p not in SHARED_PATH_IDS for p in op.path_params):
            # Fresh ids per operation: a lifecycle step changes the state the next one needs.
            b_ids = await op_ids(op, t.b)
            # Shop A's token on shop B's resources: as if they did not exist.
            r = await call(app, client, op, b_ids, t.a.auth.bearer)
            collect(failures, op, _not_found_without_b, r, b_id, b_name)
            # Control: the ids are real — shop B's own token reaches them.
            r = await call(app, client, op, b_ids, t.b.auth.bearer)
            collect(failures, op, _control_succeeds, r)
        else:
            # No id to aim at another shop: the operation acts on the token's own shop (with
            # what its state setup made there, when its body names resources).
            r = await call(app, client, op, await op_ids(op, t.a), t.a.auth.bearer)
            collect(failures, op, _own_shop_only, r, op, a_id, b_id, b_name)
    assert not failures, "\n".join(failures)
    after = (await b_merchant.client.get(f"/merchant/shops/{b_id}")).json()
    assert after == before, "shop B changed"


# --- 2. Token tampering --------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def fresh_ec_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(private_pem: str) -> bytes:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def tampered_tokens(container: Container, auth: Authorized) -> dict[str, str]:
    token = auth.tokens["access_token"]
    header_seg, payload_seg, sig_seg = token.split(".")
    header = jwt.get_unverified_header(token)
    claims = jwt.get_unverified_claims(token)
    kid = header["kid"]
    now = int(time.time())
    sign = container.tokens.encode  # the server's own key: only the claims are wrong

    def hs256(secret: bytes) -> str:
        head = segment({"alg": "HS256", "typ": "JWT", "kid": kid})
        body = segment(claims)
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64(mac)}"

    sig = bytearray(unb64(sig_seg))
    sig[10] ^= 0x01
    flipped = f"{header_seg}.{payload_seg}.{b64(bytes(sig))}"
    other_shop = segment({**claims, "shop_id": "shop_01jd8m3k2x9v7q4w5e6r7t8y9z"})
    wider = segment({**claims, "scope": " ".join(ALL_SCOPES)})
    no_aud = {k: v for k, v in claims.items() if k != "aud"}
    no_jti = {k: v for k, v in claims.items() if k != "jti"}
    fresh = fresh_ec_pem()
    server_public = public_pem(container.keys.jwt_private_pem)

    return {
        "alg none, no signature": f"{segment({'alg': 'none', 'typ': 'JWT'})}.{payload_seg}.",
        "alg none, kid kept": f"{segment({'alg': 'none', 'kid': kid})}.{payload_seg}.",
        "alg None, signature kept": f"{segment({'alg': 'None', 'kid': kid})}.{payload_seg}."
        f"{sig_seg}",
        "HS256 keyed with the public key PEM": hs256(server_public),
        "HS256 keyed with the JWKS": hs256(json.dumps(container.tokens.jwks()).encode()),
        "wrong aud": sign({**claims, "aud": "https://evil.example/v1"}),
        "aud of the issuer": sign({**claims, "aud": container.oauth.issuer}),
        "no aud": sign(no_aud),
        "wrong iss": sign({**claims, "iss": "https://evil.example"}),
        "no jti": sign(no_jti),
        "expired": sign({**claims, "iat": now - 7200, "exp": now - 60}),
        "unknown kid, fresh key": jwt.encode(
            claims, fresh, algorithm="ES256", headers={"kid": "unknown-kid"}
        ),
        "server kid, fresh key": jwt.encode(claims, fresh, algorithm="ES256", headers={"kid": kid}),
        "no kid, fresh key": jwt.encode(claims, fresh, algorithm="ES256"),
        "signature byte flipped": flipped,
        "signature stripped": f"{header_seg}.{payload_seg}.",
        "payload: other shop, old signature": f"{header_seg}.{other_shop}.{sig_seg}",
        "payload: wider scope, old signature": f"{header_seg}.{wider}.{sig_seg}",
        "signed, unknown token family": sign({**claims, "fam": "fam_does_not_exist"}),
        "signed, unknown scope": sign({**claims, "scope": "shop:read admin:all"}),
        "signed, scope not a string": sign({**claims, "scope": ["shop:read"]}),
        "signed, exp not a number": sign({**claims, "exp": "tomorrow"}),
        "signed, no shop_id": sign({k: v for k, v in claims.items() if k != "shop_id"}),
        "header is a JSON list": f"{b64(b'[1]')}.{payload_seg}.{sig_seg}",
        "payload is not JSON": f"{header_seg}.{b64(b'not json')}.{sig_seg}",
        "payload is a JSON list": f"{header_seg}.{b64(b'[1]')}.{sig_seg}",
        "non-ASCII": token[:-4] + "\u00e9\u00e9\u00e9\u00e9",
        "huge": token + "A" * 20_000,
        "garbage": "garbage",
        "three garbage segments": "a.b.c",
        "refresh token as bearer": auth.tokens["refresh_token"],
        "client secret as bearer": auth.app.client_secret,
    }


async def test_tampered_tokens_are_invalid_token(
    client: httpx.AsyncClient, container: Container
) -> None:
    # Narrower than the app's scopes, so "wider scope" really is a different payload.
    auth = await authorized(client, scope="shop:read shop:write")
    failures: list[str] = []
    for name, token in tampered_tokens(container, auth).items():
        assert token != auth.tokens["access_token"], name
        for method, path in (("GET", "/v1/shop"), ("PATCH", "/v1/shop")):
            r = await client.request(
                method,
                path,
                json={"name": "Hacked"} if method == "PATCH" else None,
                headers={"Authorization": f"Bearer {token}".encode()},  # bytes: may be UTF-8
            )
            try:
                assert_invalid_token(r)
                assert "RateLimit-Remaining" not in r.headers  # refused before counting
            except AssertionError as e:
                failures.append(f"{name} ({method}): {e}")
    # Basic credentials are no bearer token (RFC 6750 only knows `Bearer`).
    basic = base64.b64encode(f"{auth.app.client_id}:{auth.app.client_secret}".encode()).decode()
    r = await client.get("/v1/shop", headers={"Authorization": f"Basic {basic}"})
    assert_invalid_token(r)
    assert not failures, "\n".join(failures)
    # Control: the untampered token works, and nothing renamed the shop.
    r = await client.get("/v1/shop", headers=auth.bearer)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == auth.shop["name"]


# --- 3. Live state: revoked grants, suspended apps -----------------------------------------


async def refresh(
    client: httpx.AsyncClient,
    auth: Authorized,
    token: str | None = None,
    *,
    secret: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token or auth.tokens["refresh_token"],
        },
        auth=(auth.app.client_id, secret or auth.app.client_secret),
    )


def oauth_error(r: httpx.Response, status: int, error: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == error, r.json()
    assert r.headers["cache-control"] == "no-store"


async def revoke_grant(auth: Authorized) -> None:
    m = auth.merchant
    r = await m.client.delete(f"/merchant/shops/{auth.shop['id']}/apps/{auth.app.id}", headers=m.h)
    assert r.status_code == 204, r.text


async def test_revoked_grant_stops_the_next_call_and_refresh(
    client: httpx.AsyncClient, new_client: NewClient
) -> None:
    auth = await authorized(client)
    other = await authorized(new_client(), app=auth.app)  # the app on another shop
    assert (await client.get("/v1/shop", headers=auth.bearer)).status_code == 200

    await revoke_grant(auth)
    assert_invalid_token(await client.get("/v1/shop", headers=auth.bearer))
    assert_invalid_token(await client.patch("/v1/shop", json={}, headers=auth.bearer))
    oauth_error(await refresh(client, auth), 400, "invalid_grant")

    # Only that grant: the app's token for the other shop still works.
    r = await client.get("/v1/shop", headers=other.bearer)
    assert r.status_code == 200 and r.json()["id"] == other.shop["id"]

    # Authorizing again makes a new grant; the old tokens stay dead.
    code, verifier = await get_code(auth.merchant, auth.app, shop_id=auth.shop["id"])
    r = await exchange(client, auth.app, code, verifier)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["grant_id"] != auth.tokens["grant_id"]
    ok = await client.get("/v1/shop", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert ok.status_code == 200
    assert_invalid_token(await client.get("/v1/shop", headers=auth.bearer))
    oauth_error(await refresh(client, auth), 400, "invalid_grant")


async def test_suspended_app_is_refused_until_reinstated(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    auth = await authorized(client)
    revoked = await authorized(new_client(), app=auth.app)
    op = await f.operator(container, new_client())
    assert (await client.get("/v1/shop", headers=auth.bearer)).status_code == 200

    r = await op.client.post(
        f"/v1/platform/apps/{auth.app.id}/suspend",
        json={"reason": "Collected buyer data beyond its scopes."},
        headers=op.h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended"

    r = await client.get("/v1/shop", headers=auth.bearer)
    assert_invalid_token(r)
    assert "suspended" in r.json()["detail"]
    # The token endpoint: the client authenticates fine but may not use any grant
    # (RFC 6749 §5.2 unauthorized_client, 400); invalid_client (401) is for failed client
    # authentication — a wrong secret still gets that, so suspension is no secret oracle.
    oauth_error(await refresh(client, auth), 400, "unauthorized_client")
    oauth_error(await refresh(client, auth, secret="mss_wrong"), 401, "invalid_client")
    # The consent page sends the merchant back with the same error.
    page = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": auth.app.client_id,
            "redirect_uri": auth.app.redirect_uri,
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
            "state": "s1",
        },
    )
    assert page.status_code == 302, page.text
    assert "error=unauthorized_client" in page.headers["location"]
    # While suspended, the merchant of the other shop revokes the app.
    await revoke_grant(revoked)

    r = await op.client.post(f"/v1/platform/apps/{auth.app.id}/reinstate", headers=op.h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    # The same access token works again, and the refresh token refused above was not spent.
    r = await client.get("/v1/shop", headers=auth.bearer)
    assert r.status_code == 200, r.text
    r = await refresh(client, auth)
    assert r.status_code == 200, r.text
    r = await client.get(
        "/v1/shop", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert r.status_code == 200
    # A token revoked for another reason stays revoked.
    assert_invalid_token(await client.get("/v1/shop", headers=revoked.bearer))
    oauth_error(await refresh(client, revoked), 400, "invalid_grant")


# --- 4. PATCH /v1/shop ---------------------------------------------------------------------


async def test_patch_shop_renames_with_an_app_audit_entry(client: httpx.AsyncClient) -> None:
    auth = await authorized(client, scope="shop:read shop:write")
    sid = auth.shop["id"]
    r = await client.get("/v1/shop", headers=auth.bearer)
    etag = r.headers["etag"]

    r = await client.patch(
        "/v1/shop", json={"name": "Mountain Tea House"}, headers={**auth.bearer, "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    request_id = r.headers["x-request-id"]
    assert r.json()["id"] == sid and r.json()["name"] == "Mountain Tea House"
    assert r.headers["etag"] != etag
    m = auth.merchant
    assert (await m.client.get(f"/merchant/shops/{sid}")).json()["name"] == "Mountain Tea House"

    r = await m.client.get(f"/merchant/shops/{sid}/audit-log", params={"action": "shop.updated"})
    assert r.status_code == 200, r.text
    [entry] = r.json()["data"]
    assert entry["actor_type"] == "app"
    assert entry["actor_id"] == auth.app.id
    assert entry["grant_id"] == auth.tokens["grant_id"]
    assert entry["surface"] == "open_api"
    assert entry["target_id"] == sid
    assert entry["before"]["name"] == auth.shop["name"]
    assert entry["after"]["name"] == "Mountain Tea House"
    assert entry["request_id"] == request_id

    # An empty change is no change: no second entry.
    r = await client.patch("/v1/shop", json={}, headers=auth.bearer)
    assert r.status_code == 200, r.text
    r = await m.client.get(f"/merchant/shops/{sid}/audit-log", params={"action": "shop.updated"})
    assert len(r.json()["data"]) == 1


async def test_patch_shop_honours_if_match(client: httpx.AsyncClient) -> None:
    auth = await authorized(client, scope="shop:write")
    stale = (await client.patch("/v1/shop", json={}, headers=auth.bearer)).headers["etag"]
    r = await client.patch("/v1/shop", json={"name": "First"}, headers=auth.bearer)
    assert r.status_code == 200, r.text
    current = r.headers["etag"]

    r = await client.patch(
        "/v1/shop", json={"name": "Second"}, headers={**auth.bearer, "If-Match": stale}
    )
    body = problem(r, 412, "precondition_failed")
    assert f'"{body["current_version"]}"' == current
    r = await client.patch(
        "/v1/shop", json={"name": "Second"}, headers={**auth.bearer, "If-Match": current}
    )
    assert r.status_code == 200 and r.json()["name"] == "Second"


async def test_patch_shop_refused_while_the_shop_is_suspended(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    auth = await authorized(client, scope="shop:read shop:write")
    sid = auth.shop["id"]
    op = await f.operator(container, new_client())
    r = await op.client.post(
        f"/v1/platform/shops/{sid}/suspend", json={"reason": "Counterfeit goods."}, headers=op.h
    )
    assert r.status_code == 200, r.text

    r = await client.patch("/v1/shop", json={"name": "Renamed"}, headers=auth.bearer)
    body = problem(r, 403, "shop_suspended")
    assert body["shop_id"] == sid
    # Reading is still allowed, and shows why.
    r = await client.get("/v1/shop", headers=auth.bearer)
    assert r.status_code == 200 and r.json()["suspended"] is True
    assert r.json()["name"] == auth.shop["name"]

    r = await op.client.post(f"/v1/platform/shops/{sid}/reinstate", headers=op.h)
    assert r.status_code == 200, r.text
    r = await client.patch("/v1/shop", json={"name": "Renamed"}, headers=auth.bearer)
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
