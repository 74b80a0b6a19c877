"""The cross-tenant matrix, generated from the route table (`app.routes`), not a hand list.

- Every provider operation that takes an id: shop A's token (every scope) on shop B's real ids
  answers 404, leaks nothing of B, and changes none of shop B's rows; shop B's own token
  reaches the same ids (control).
- Every session operation of the merchant and developer surfaces that takes an id: another
  account's session (a merchant and developer of its own) on B's real ids answers 404 and
  changes nothing (B's shop, A's, the rows of no shop, any table's row count); B's own
  session gets past the lookup (control).
- Every buyer operation of the storefront that takes an id: another buyer's access token on
  buyer B's real ids answers 404 and changes nothing; B's own token gets past the lookup.
- Every public operation that takes an id (the service market, the storefront's reads): B's
  public ids answer (control); any one of them swapped for a real id of the same kind that
  is not public (a draft product, a shop in review, an unpublished app) answers 404; and a
  shop's id with B's ids under it (shop A's storefront, B's product) answers 404. None leaks
  what it hides, nor changes anything.

A route added later is covered by itself: its path parameters must be in the maps below
(`PATH_ID_FACTORIES` for the provider surface, `SESSION_IDS`, `BUYER_IDS` and `PUBLIC_IDS`
here), or
`test_every_id_taking_route_can_be_filled` fails and names it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.api.deps import current_account, operator_account
from app.api.provider import provider_access
from app.api.storefront.auth import buyer_bearer
from app.container import Container
from tests import factories as f
from tests.oauth_support import make_app
from tests.order_support import buyer_order, on_sale, order_in_shop
from tests.product_support import listed, provider
from tests.test_provider_enforcement import (
    PATH_ID_FACTORIES,
    SHARED_PATH_IDS,
    NewClient,
    Operation,
    _example,
    call,
    collect,
    op_ids,
    provider_operations,
    tenants,
)

# --- The route table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    operation_id: str
    method: str
    path: str
    auth: str  # "provider" | "session" | "operator" | "buyer" | "public"
    path_params: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method} {self.path})"


def _calls(dependant: Dependant) -> set[Any]:
    found = {dependant.call} if dependant.call is not None else set()
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def routes(app: FastAPI) -> list[Route]:
    out = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        calls = _calls(route.dependant)
        if provider_access in calls:
            auth = "provider"
        elif operator_account in calls or any(
            getattr(c, "__name__", "") == "operator_csrf_account" for c in calls
        ):
            auth = "operator"
        elif current_account in calls:
            auth = "session"
        elif buyer_bearer in calls:
            auth = "buyer"
        else:
            auth = "public"
        params = tuple(p.name for p in route.dependant.path_params)
        for method in sorted(context.methods or ()):
            out.append(Route(str(route.operation_id), method, str(context.path), auth, params))
    return out


def id_routes(app: FastAPI, auth: str) -> list[Route]:
    return [
        r
        for r in routes(app)
        if r.auth == auth and any(p not in SHARED_PATH_IDS for p in r.path_params)
    ]


# --- B's ids for the session surfaces ----------------------------------------------------------


@dataclass
class World:
    """Account B: a merchant with a shop (and a member) and a developer with an app (authorized
    on that shop, with a webhook endpoint and one delivery). Made on demand, per operation."""

    user: f.User
    ids: dict[str, str] = field(default_factory=dict)


async def _shop(w: World) -> str:
    return str((await f.open_shop(w.user))["id"])


async def _member(w: World) -> str:
    c = w.user.client
    async with httpx.AsyncClient(transport=c._transport, base_url=c.base_url) as own:
        other = await f.register(own)
    shop_id = await ensure(w, "shop_id")
    r = await w.user.client.post(
        f"/merchant/shops/{shop_id}/members",
        json={"username": other["username"], "role": "operator"},
        headers=w.user.h,
    )
    assert r.status_code == 201, r.text
    return str(other["id"])


async def _app(w: World) -> str:
    """B's own app, authorized by B on B's shop: an id for both surfaces that name `app_id`."""
    r = await w.user.client.post(
        "/v1/apps",
        json={
            "name": f"App {secrets.token_hex(3)}",
            "description": "B's app.",
            "service_types": ["batch_order"],
            "redirect_uris": ["http://127.0.0.1:8765/callback"],
            "scopes": ["shop:read"],
        },
        headers=w.user.h,
    )
    assert r.status_code == 201, r.text
    app = r.json()
    r = await w.user.client.post(f"/v1/apps/{app['id']}/publish", headers=w.user.h)
    assert r.status_code == 200, r.text
    return str(app["id"])


async def _authorized_app(w: World) -> str:
    from tests.oauth_support import AppCreds, get_code

    app_id = await ensure(w, "app_id")
    shop_id = await ensure(w, "shop_id")
    r = await w.user.client.get(f"/v1/apps/{app_id}")
    creds = AppCreds(
        w.user, app_id, r.json()["client_id"], "", "http://127.0.0.1:8765/callback", r.json()
    )
    await get_code(w.user, creds, shop_id=shop_id)  # the grant exists once consent is given
    return app_id


async def _endpoint(w: World) -> str:
    app_id = await ensure(w, "app_id")
    r = await w.user.client.post(
        f"/v1/apps/{app_id}/webhook-endpoints",
        json={"url": "http://127.0.0.1:8999/hook", "topics": ["*"]},
        headers=w.user.h,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _delivery(w: World) -> str:
    app_id = await ensure(w, "app_id")
    endpoint_id = await ensure(w, "endpoint_id")
    r = await w.user.client.post(
        f"/v1/apps/{app_id}/webhook-endpoints/{endpoint_id}/test", headers=w.user.h
    )
    assert r.status_code in (200, 201, 202), r.text
    return str(r.json()["id"])


#: Path parameter name → how to get account B's real id of that type (session surfaces).
async def _shop_order(w: World) -> str:
    container = f.app_container(w.user.client)
    assert container is not None
    return await order_in_shop(container, await ensure(w, "shop_id"), w.user.id)


async def _shop_aftersale(w: World) -> str:
    """A refund asked for by B (as a buyer of B's own shop) on a paid order of that shop."""
    from app.domain.aftersales import services as aftersales
    from app.domain.aftersales.model import AfterSaleReason, AfterSaleType
    from app.domain.aftersales.refundable import Ask
    from tests.payment_support import open_payment, settle_in_process

    container = f.app_container(w.user.client)
    assert container is not None
    shop_id = await ensure(w, "shop_id")
    order_id = await order_in_shop(container, shop_id, w.user.id)
    assert await settle_in_process(container, await open_payment(container, w.user.id, order_id))
    async with container.uow() as uow:
        order = await uow.orders.get(shop_id, order_id)
        assert order is not None
        made = await aftersales.request(
            uow,
            w.user.id,
            order_id,
            type_=AfterSaleType.REFUND,
            reason=AfterSaleReason.OTHER,
            asks=[Ask(order.lines[0].id, 1)],
        )
        await uow.commit()
        return made.id


SESSION_IDS: dict[str, Callable[[World], Awaitable[str]]] = {
    "shop_id": _shop,
    "order_id": _shop_order,
    "aftersale_id": _shop_aftersale,
    "account_id": _member,
    "app_id": _app,
    "endpoint_id": _endpoint,
    "delivery_id": _delivery,
}

#: operationId → a factory used instead of the parameter's default one.
SESSION_ID_OVERRIDES: dict[tuple[str, str], Callable[[World], Awaitable[str]]] = {
    # Revoking needs an app that B's shop authorized, not merely one that B registered.
    ("revokeAppAuthorization", "app_id"): _authorized_app,
}


async def ensure(w: World, name: str, operation_id: str = "") -> str:
    if name not in w.ids:
        factory = SESSION_ID_OVERRIDES.get((operation_id, name), SESSION_IDS[name])
        w.ids[name] = await factory(w)
    return w.ids[name]


# --- 0. Every id-taking route is filled -------------------------------------------------------


def test_every_id_taking_route_can_be_filled(app: FastAPI) -> None:
    all_routes = routes(app)
    # The classification must see today's surfaces, else this module would test nothing.
    kinds = {r.auth for r in all_routes}
    assert {"provider", "session", "operator", "buyer", "public"} <= kinds, kinds
    unknown = (
        [
            f"{r}: {p}"
            for r in id_routes(app, "provider")
            for p in r.path_params
            if p not in PATH_ID_FACTORIES and p not in SHARED_PATH_IDS
        ]
        + [
            f"{r}: {p}"
            for r in id_routes(app, "session")
            for p in r.path_params
            if p not in SESSION_IDS
        ]
        + [
            f"{r}: {p}"
            for r in id_routes(app, "buyer")
            for p in r.path_params
            if p not in BUYER_IDS
        ]
        + [
            f"{r}: {p}"
            for r in id_routes(app, "public")
            for p in r.path_params
            if p not in PUBLIC_IDS
        ]
    )
    assert not unknown, (
        "Routes with path parameters this matrix cannot fill with another tenant's id:\n  "
        + "\n  ".join(unknown)
        + "\nAdd a factory (PATH_ID_FACTORIES in tests/test_provider_enforcement.py for the "
        "provider surface, SESSION_IDS or BUYER_IDS in tests/test_cross_shop_matrix.py for "
        "sessions and buyers, PUBLIC_IDS there for public reads)."
    )
    # The provider matrix calls the operations by their documented form: same set.
    documented = {op.id for op in provider_operations(app)}
    assert {r.operation_id for r in all_routes if r.auth == "provider"} == documented


# --- 1. Provider: shop A's token on shop B's ids ------------------------------------------------


def _not_found(r: httpx.Response, b_texts: list[str]) -> None:
    assert r.status_code == 404, f"{r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    leaked = [t for t in b_texts if t in r.text]
    assert not leaked, f"leaks {leaked}: {r.text}"


def _unchanged(before: dict[str, str], after: dict[str, str]) -> None:
    changed = sorted(t for t in before if before[t] != after.get(t))
    assert not changed, f"changed rows in {changed}"


def _reached(r: httpx.Response) -> None:
    assert r.is_success, f"control with B's own credentials: {r.status_code} {r.text}"


async def test_provider_matrix_shop_a_token_on_shop_b_ids(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    t = await tenants(app, client, container, new_client)
    ops: dict[str, Operation] = {op.id: op for op in t.ops}
    matrix = id_routes(app, "provider")
    assert {"getProduct", "setSkuStock", "deleteProduct"} <= {r.operation_id for r in matrix}
    b_id, b_name = t.b.auth.shop["id"], t.b.auth.shop["name"]
    failures: list[str] = []
    for route in matrix:
        op = ops[route.operation_id]
        b_ids = await op_ids(op, t.b)  # fresh, in the state the operation needs
        before = await f.shop_fingerprint(container, b_id)
        r = await call(app, client, op, b_ids, t.a.auth.bearer)
        # Echoing the id the caller sent is no leak; anything else of shop B is.
        collect(failures, op, _not_found, r, [b_id, b_name])
        collect(failures, op, _unchanged, before, await f.shop_fingerprint(container, b_id))
        r = await call(app, client, op, b_ids, t.b.auth.bearer)
        collect(failures, op, _reached, r)
    assert not failures, "\n".join(failures)


# --- 2. Sessions: another account on B's ids ----------------------------------------------------


def _session_body(app: FastAPI, route: Route, w: World) -> dict[str, Any] | None:
    spec = app.openapi()
    op = spec["paths"][route.path][route.method.lower()]
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    if route.operation_id == "transferShopOwnership":
        return {"to_account_id": w.ids.get("account_id", "acct_01jd8m3k2x9v7q4w5e6r7t8y9z")}
    if route.operation_id == "createWebhookEndpoint":
        return {"url": "http://127.0.0.1:8999/other", "topics": ["*"]}
    body = _example(content["schema"], spec, f"{route} body")
    assert isinstance(body, dict)
    return body


def _control(r: httpx.Response, refused: httpx.Response) -> None:
    # B's own session gets past authentication, CSRF and the lookup that refused A: the ids
    # are B's and real (a 409, 422 or another 404 of the operation's own rules is fine).
    assert r.status_code not in (401, 403) and r.status_code < 500, (
        f"control with B's own session: {r.status_code} {r.text}"
    )
    if r.status_code == 404:
        assert r.json()["code"] != refused.json()["code"], f"control: {r.text}"


async def test_session_matrix_another_account_on_b_ids(
    app: FastAPI, container: Container, new_client: NewClient
) -> None:
    matrix = id_routes(app, "session")
    ids = {r.operation_id for r in matrix}
    assert {"getMyShop", "removeShopMember", "revokeAppAuthorization", "getApp"} <= ids, ids
    # A: a merchant with a shop of its own and a developer with an app of its own.
    a = await f.user(new_client())
    a_shop = (await f.open_shop(a))["id"]
    await make_app(a.client)
    failures: list[str] = []
    for route in matrix:
        # B afresh for each operation: the control may change what the next one needs.
        w = World(await f.user(new_client()))
        b_ids = {p: await ensure(w, p, route.operation_id) for p in route.path_params}
        path = route.path.format(**b_ids)
        body = _session_body(app, route, w)
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        # B's shop, if the operation made one, and A's own: the refused call must change
        # neither (nor any row of no shop, such as B's app, nor any table's row count).
        shops = [w.ids["shop_id"], a_shop] if "shop_id" in w.ids else [a_shop]
        before = await f.fingerprint(container, *shops)
        refused = await a.client.request(route.method, path, headers=a.h, **kwargs)
        collect(failures, route, _not_found, refused, [w.user.username, w.user.id])
        collect(failures, route, _unchanged, before, await f.fingerprint(container, *shops))
        r = await w.user.client.request(route.method, path, headers=w.user.h, **kwargs)
        collect(failures, route, _control, r, refused)
    assert not failures, "\n".join(failures)


# --- 3. Buyers: another buyer's token on B's ids --------------------------------------------------


async def _address(b: f.Buyer) -> str:
    return str((await f.buyer_address(b))["id"])


#: Path parameter name → how to get buyer B's real id of that type (the storefront's buyer
#: operations).
async def _order(b: f.Buyer) -> str:
    container = f.app_container(b.client)
    assert container is not None
    shop = await on_sale(b.client, container)
    return str((await buyer_order(b, shop))["id"])


async def _aftersale(b: f.Buyer) -> str:
    """B's refund request on a paid order of B's."""
    from app.domain.orders import services as orders

    container = f.app_container(b.client)
    assert container is not None
    shop = await on_sale(b.client, container)
    order = await buyer_order(b, shop)
    async with container.uow() as uow:
        (await orders.get(uow, shop.shop_id, order["id"], lock=True)).pay()
        await uow.commit()
    r = await b.client.post(
        f"/v1/storefront/orders/{order['id']}/aftersales",
        json={
            "type": "refund",
            "reason": "other",
            "lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}],
        },
        headers=b.h,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


BUYER_IDS: dict[str, Callable[[f.Buyer], Awaitable[str]]] = {
    "address_id": _address,
    "order_id": _order,
    "aftersale_id": _aftersale,
}


async def test_buyer_matrix_another_buyer_on_b_ids(
    app: FastAPI, container: Container, new_client: NewClient
) -> None:
    matrix = id_routes(app, "buyer")
    ids = {r.operation_id for r in matrix}
    assert {"getBuyerAddress", "updateBuyerAddress", "deleteBuyerAddress"} <= ids, ids
    a = await f.buyer(new_client())
    await f.buyer_address(a)  # A has an address book of its own
    spec = app.openapi()
    failures: list[str] = []
    for route in matrix:
        b = await f.buyer(new_client())  # afresh: the control may delete what it reads
        b_ids = {p: await BUYER_IDS[p](b) for p in route.path_params}
        path = route.path.format(**b_ids)
        op = spec["paths"][route.path][route.method.lower()]
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        kwargs: dict[str, Any] = {}
        if content is not None:
            kwargs["json"] = _example(content["schema"], spec, f"{route} body")
        # Buyers' rows belong to no shop: every row of every table, compared.
        before = await f.db_fingerprint(container)
        refused = await a.client.request(route.method, path, headers=a.h, **kwargs)
        collect(failures, route, _not_found, refused, [b.username, b.id])
        collect(failures, route, _unchanged, before, await f.db_fingerprint(container))
        r = await b.client.request(route.method, path, headers=b.h, **kwargs)
        collect(failures, route, _control, r, refused)
    assert not failures, "\n".join(failures)


# --- 3. Public reads: B's public ids, its hidden ones, and another shop's ------------------------


@dataclass
class Showcase:
    """Per path parameter, a real id of B that anyone may read and one of the same kind that
    no one may (`hidden`); shop A's own open shop to put B's ids under; and the texts of B's
    that a refusal must not show."""

    public: dict[str, str]
    hidden: dict[str, str]
    a_shop_id: str
    texts: list[str]
    #: operationId → the JSON body of a public operation that takes one (B's listed SKU).
    bodies: dict[str, Any] = field(default_factory=dict)


#: Path parameter name → what anyone may read of that kind, and what not: (public, hidden).
PUBLIC_IDS: dict[str, str] = {
    "shop_id": "B's open shop / a shop still in qualification review",
    "product_id": "B's listed product / B's draft product",
    "app_id": "a published app / an unpublished one",
}


async def _showcase(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> Showcase:
    op = await f.operator(container, new_client())
    b = await provider(new_client())
    on_sale = await b.create()
    await listed(b, op, on_sale["id"])
    draft = await b.create()
    in_review = await f.business_shop_in_review(await f.user(new_client()))
    published = await make_app(client)
    unpublished = await make_app(client, publish=False)
    a = await provider(new_client())
    return Showcase(
        public={"shop_id": b.shop_id, "product_id": on_sale["id"], "app_id": published.id},
        hidden={
            "shop_id": in_review["id"],
            "product_id": draft["id"],
            "app_id": unpublished.id,
        },
        a_shop_id=a.shop_id,
        texts=[
            on_sale["title"],
            draft["title"],
            in_review["name"],
            b.auth.shop["name"],
            unpublished.body["name"],
        ],
        bodies={
            "quoteFreight": {
                "items": [{"sku_id": on_sale["skus"][0]["id"], "quantity": 1}],
                "region_code": "440305",
            }
        },
    )


async def test_public_matrix_hidden_and_other_shops_ids(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    matrix = id_routes(app, "public")
    ids = {r.operation_id for r in matrix}
    assert {"getMarketApp", "getStorefrontProduct", "listStorefrontProducts"} <= ids, ids
    w = await _showcase(client, container, new_client)
    anon = new_client()
    failures: list[str] = []

    async def refused(route: Route, values: dict[str, str], shown: list[str]) -> None:
        shops = [s for s in (values.get("shop_id"), w.public["shop_id"], w.a_shop_id) if s]
        before = await f.fingerprint(container, *shops)
        r = await anon.request(
            route.method, route.path.format(**values), json=w.bodies.get(route.operation_id)
        )
        collect(failures, route, _not_found, r, shown)
        collect(failures, route, _unchanged, before, await f.fingerprint(container, *shops))

    for route in matrix:
        public = {p: w.public[p] for p in route.path_params}
        r = await anon.request(
            route.method, route.path.format(**public), json=w.bodies.get(route.operation_id)
        )
        collect(failures, route, _reached, r)
        for p in route.path_params:
            # The hidden id is the caller's own input: echoing it is no leak; its content is.
            await refused(route, {**public, p: w.hidden[p]}, w.texts)
        if "shop_id" in route.path_params and len(route.path_params) > 1:
            await refused(route, {**public, "shop_id": w.a_shop_id}, w.texts)
    assert not failures, "\n".join(failures)
