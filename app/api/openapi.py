"""The OpenAPI document: metadata, tags per surface, and a stable export."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.api.errors import PROBLEM_JSON, with_codes
from app.api.idempotency import EXCLUDED_PATHS as NOT_IDEMPOTENT_PATHS
from app.api.idempotency import METHODS as IDEMPOTENT_METHODS
from app.api.middleware import InvalidCharactersMiddleware

DESCRIPTION = """
MiniShop Open Platform: merchants open free shops in minutes; authorized service providers
run those shops' products, orders and logistics through the versioned open API.

**Conventions.** Errors are RFC 9457 `application/problem+json` with a stable `code`.
Lists use cursor pagination (`limit` ≤ 100, `cursor`, `{"data", "next_cursor"}`).
Money is integer fen. Times are RFC 3339 UTC. Every `POST`, `PUT`, `PATCH` and `DELETE`
(except logging in) accepts `Idempotency-Key`; mutable resources carry an `ETag` and honour
`If-Match` (412). Every response carries `X-Request-Id`. An operation without a request body
refuses one (400 `unexpected_body`). Control characters (`%00`-`%1F`, `%7F`) in the path or
the query are refused (400 `invalid_characters`).

**Providers.** Register an app (`/v1/apps`), have a merchant authorize it through
`/oauth/authorize` (authorization code + PKCE S256), exchange the code at `/oauth/token`, and
call the open API with `Authorization: Bearer <access token>`. Each operation names its one
scope; responses carry `RateLimit-*` headers. **Authorize** above runs the flow from here.

**Buyers.** The merchant's mini program logs a buyer in at `POST /v1/storefront/token`
(`grant_type=password`, then `refresh_token`; JSON or form-encoded) and calls the buyer's
storefront operations with `Authorization: Bearer <access token>`: a token of its own kind,
which the open API refuses, as the storefront refuses a provider's.

**Merchant and operator sessions.** `POST /auth/login` sets an HttpOnly session cookie and
returns a `csrf_token`; send it as `X-CSRF-Token` on every state change. A browser that
logged in through the HTML `/login` page reads its `csrf_token` from `GET /auth/session`.
"""

TAGS = [
    {"name": "Accounts", "description": "Register, log in and out."},
    {"name": "Merchant: shops", "description": "Open shops, qualifications, audit log."},
    {"name": "Merchant: members", "description": "Members, roles and ownership."},
    {"name": "Merchant: orders", "description": "The shop's orders, by the members' roles."},
    {
        "name": "Merchant: funds",
        "description": "The shop's balances and ledger entries, for its finance members.",
    },
    {"name": "Platform: review", "description": "Operator review queue and enforcement."},
    {"name": "Platform: apps", "description": "Operator control of provider apps."},
    {"name": "Developer: apps", "description": "Register and manage provider apps."},
    {
        "name": "Developer: webhooks",
        "description": "An app's webhook endpoints, signing secrets, delivery log, redelivery.",
    },
    {"name": "Service market", "description": "Published apps, public."},
    {
        "name": "Storefront: public reads",
        "description": "A shop's profile and its products on sale, for anyone (no "
        "credential): what a merchant's mini program shows before a buyer logs in. Cacheable: "
        "`ETag`, `If-None-Match` (304) and `Cache-Control`. The freight quote too (a POST, "
        "not cached).",
    },
    {"name": "Merchant: authorized apps", "description": "Apps a shop authorized; revoke."},
    {"name": "OAuth", "description": "Token, introspection, revocation, metadata, keys."},
    {"name": "Open API: shop", "description": "The shop an access token is bound to."},
    {"name": "Open API: catalog", "description": "Categories and industry qualifications."},
    {
        "name": "Open API: products",
        "description": "Products and SKUs, stock, and the review and sale lifecycle.",
    },
    {
        "name": "Open API: orders",
        "description": "The shop's orders: read and sync, notes, price changes before payment, "
        "shipments; the carrier catalogue.",
    },
    {
        "name": "Open API: after-sales",
        "description": "Buyers' refund and return requests: read and sync them, accept or "
        "reject them, confirm returned goods came back.",
    },
    {
        "name": "Open API: logistics",
        "description": "The shop's carrier accounts for electronic waybills (bound once the "
        "carrier verifies them; credentials encrypted, shown masked) and its sender/return "
        "address book.",
    },
    {
        "name": "Open API: funds",
        "description": "The shop's balances and the entries of its ledger of payments and refunds.",
    },
    {
        "name": "Open API: freight templates",
        "description": "The shop's freight templates: rates by piece or weight, regional rates "
        "by GB/T 2260 code, free shipping, regions not delivered to, the default template. "
        "Orders and the storefront's freight quote price with them.",
    },
    {
        "name": "Open API: pickup",
        "description": "In-store pickup (门店自提): the shop's pickup points (address, hours, "
        "contact, on/off) and the verification of the pickup code a buyer shows, which "
        "completes a ready pickup order. Wrong codes are throttled per shop.",
    },
    {
        "name": "Open API: bulk jobs",
        "description": "Asynchronous import (CSV, JSON Lines, Shopify's product CSV) and "
        "export of the catalogue: jobs with progress, per-line errors and a report.",
    },
    {
        "name": "Storefront: buyers",
        "description": "A buyer's login for the merchant's mini program (a bearer token pair) "
        "and the buyer's address book.",
    },
    {
        "name": "Storefront: orders",
        "description": "A buyer's cart and orders: place one, pay it, read them, cancel "
        "before paying, confirm receipt.",
    },
    {
        "name": "Storefront: after-sales",
        "description": "A buyer's refund and return requests on paid orders: ask, follow, "
        "withdraw, send the goods of an accepted return back.",
    },
    {
        "name": "Callbacks: payments",
        "description": "What payment gateways send the platform (the sandbox gateway's "
        "notifications), authenticated by the gateway's own signature; not for providers or "
        "buyers.",
    },
    {"name": "Operations", "description": "Health, readiness and metrics."},
]


def build_openapi(app: FastAPI, *, page_paths: tuple[str, ...] = ()) -> dict[str, Any]:
    """The document; `page_paths` are the HTML pages' paths, whose query is theirs to check."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title="MiniShop Open Platform API",
        version=app.version,
        openapi_version="3.1.0",
        description=DESCRIPTION,
        routes=app.routes,
        webhooks=app.webhooks.routes,
        tags=TAGS,
    )
    schema["info"]["contact"] = {"name": "MiniShop platform team"}
    _components_named_by_title(schema)
    _webhook_responses(schema)
    _problem_documents(schema)
    _nested_examples(schema)
    _csrf_with_session(schema)
    _response_headers(schema)
    _idempotency(schema)
    _invalid_characters(schema, page_paths)
    _body_read_timeout(schema)
    app.openapi_schema = schema
    return schema


# --- headers ----------------------------------------------------------------------------------

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "The request's id (yours, if you sent a valid `X-Request-Id`); quote it "
        "to support. Also in every problem document as `request_id`.",
        "schema": {"type": "string", "examples": ["req_01jd8m3k2x9v7q4w5e6r7t8y9z"]},
    },
    "ETag": {
        "description": 'The version of the resource, e.g. `"3"`; send it back as `If-Match` to '
        "change the resource only if nobody else did (412 otherwise). A public read's is a "
        'digest of its content (`W/"…"`): send it back as `If-None-Match` to get 304 while '
        "your copy is current.",
        "schema": {"type": "string", "examples": ['"3"']},
    },
    "Cache-Control": {
        "description": "How long a browser or a shared cache may serve this response without "
        "asking again (a public read: `public, max-age=30`).",
        "schema": {"type": "string", "examples": ["public, max-age=30"]},
    },
    "Location": {
        "description": "Where the created resource can be read.",
        "schema": {
            "type": "string",
            "examples": ["/merchant/shops/shop_01jd8m3k2x9v7q4w5e6r7t8y9z"],
        },
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with the "
        "same `Idempotency-Key`; absent when the request ran.",
        "schema": {"type": "string", "enum": ["true"], "examples": ["true"]},
    },
}


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def sets_headers(
    status: int, *, etag: bool = False, location: bool = False
) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of a route whose success response sets `ETag` / `Location`.

    Merged by FastAPI into the route's own response for `status`.
    """
    headers = {}
    if etag:
        headers["ETag"] = _header_ref("ETag")
    if location:
        headers["Location"] = _header_ref("Location")
    return {status: {"headers": headers}}


def cacheable(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries of a public read that caches may keep: `ETag` and
    `Cache-Control` on its success, and the 304 a current `If-None-Match` gets."""
    headers = {"Cache-Control": _header_ref("Cache-Control"), "ETag": _header_ref("ETag")}
    return {
        status: {"headers": headers},
        304: {
            "description": "Not modified: the `ETag` sent in `If-None-Match` is current; no body.",
            "headers": dict(headers),
        },
    }


def _response_headers(schema: dict[str, Any]) -> None:
    """Every response carries `X-Request-Id` (the request-context middleware sets it)."""
    schema.setdefault("components", {})["headers"] = HEADERS
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for response in operation.get("responses", {}).values():
                headers = response.setdefault("headers", {})
                headers["X-Request-Id"] = _header_ref("X-Request-Id")
                response["headers"] = dict(sorted(headers.items()))


IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the first request with a key runs and its response is "
    "kept (24 hours by default); a retry with the same key and the same request gets that response "
    "again (`Idempotent-Replayed: true`), the same key with another request is a 422, and a "
    "retry while the first still runs a 409. Keys belong to the caller (your account for a "
    "session). Use a fresh UUID per operation.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[\\x21-\\x7e]+$",
        "examples": ["5f0c6c1e-8a34-4b1e-9a55-3e0f3bb0a1c2"],
    },
}


def _idempotency(schema: dict[str, Any]) -> None:
    """Declare `Idempotency-Key` on every operation the idempotency middleware handles, and
    `Idempotent-Replayed` on their success responses."""
    methods = {m.lower() for m in IDEMPOTENT_METHODS}
    for path, path_item in schema.get("paths", {}).items():
        if path.startswith(NOT_IDEMPOTENT_PATHS):
            continue
        for method, operation in path_item.items():
            if method not in methods:
                continue
            params = operation.setdefault("parameters", [])
            if not any(p.get("name") == "Idempotency-Key" for p in params):
                params.append(dict(IDEMPOTENCY_KEY_PARAMETER))
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.startswith("2"):
                    headers = response.setdefault("headers", {})
                    headers["Idempotent-Replayed"] = _header_ref("Idempotent-Replayed")
                    response["headers"] = dict(sorted(headers.items()))
            # What the middleware itself may answer, before the operation runs.
            for status, (description, codes) in _IDEMPOTENCY_ERRORS.items():
                _declare_problem(operation, status, description, codes)


#: What the idempotency middleware answers, by status: a description for an operation that
#: does not declare the status itself, and the codes listed either way.
_IDEMPOTENCY_ERRORS = {
    "400": (
        "Malformed request: an invalid `Idempotency-Key`, or a body sent to an operation "
        "that takes none",
        ("invalid_idempotency_key",),
    ),
    "409": (
        "Conflicts with the current state, or a request with this `Idempotency-Key` is "
        "still running",
        ("idempotency_key_in_use", "idempotency_response_unavailable"),
    ),
    "422": (
        "Validation failed, or the `Idempotency-Key` was used with another request",
        ("idempotency_key_reused",),
    ),
}


#: What a free-text path or query parameter may hold: no control characters.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


def _invalid_characters(schema: dict[str, Any], page_paths: tuple[str, ...]) -> None:
    """Declare the 400 `invalid_characters` that `InvalidCharactersMiddleware` answers before
    any route runs, on every operation whose path or query it checks, and say in the string
    parameters' schemas that control characters are refused."""
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            params = [
                p for p in operation.get("parameters", []) if p.get("in") in ("path", "query")
            ]
            for param in params:
                _refuse_control_characters(param.get("schema", {}))
            checked = InvalidCharactersMiddleware.checks_query(path, page_paths) or any(
                p["in"] == "path" for p in params
            )
            if not checked:
                continue
            _declare_problem(
                operation,
                "400",
                "Malformed request: control characters in the path or the query",
                ("invalid_characters",),
            )


def _body_read_timeout(schema: dict[str, Any]) -> None:
    """Declare the 408 `body_read_timeout` that `BodyLimitMiddleware` answers, before the
    route runs, to a request body not received whole in time: on every operation that takes
    a body."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if "requestBody" not in operation:
                continue
            _declare_problem(
                operation,
                "408",
                "The request body did not arrive whole in time; the connection is closed",
                ("body_read_timeout",),
            )


def _declare_problem(
    operation: dict[str, Any], status: str, description: str, codes: tuple[str, ...]
) -> None:
    """A problem response a middleware answers before the route runs: declared with
    `description` unless the operation declares that status already, and listing `codes`
    either way; responses kept in status order."""
    responses = operation.setdefault("responses", {})
    response = responses.setdefault(
        status,
        {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": dict(_PROBLEM_REF)}},
            "headers": {"X-Request-Id": _header_ref("X-Request-Id")},
        },
    )
    response["description"] = with_codes(response.get("description", ""), codes)
    operation["responses"] = dict(sorted(responses.items()))


def _refuse_control_characters(node: dict[str, Any]) -> None:
    """A `pattern` on each free-text string of a parameter schema; enums, formats (times)
    and patterns of their own already leave control characters out."""
    for option in node.get("anyOf", []):
        _refuse_control_characters(option)
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        _refuse_control_characters(node["items"])
    if node.get("type") == "string" and not ({"enum", "format", "const", "pattern"} & node.keys()):
        node["pattern"] = NO_CONTROL_CHARACTERS


def _csrf_with_session(schema: dict[str, Any]) -> None:
    """FastAPI lists each security dependency as its own requirement, which OpenAPI reads as
    alternatives; the CSRF header is only ever required together with the session cookie."""
    session: dict[str, list[str]] = {"sessionCookie": []}
    csrf: dict[str, list[str]] = {"csrfToken": []}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            security = operation.get("security") or []
            if session in security and csrf in security:
                rest = [req for req in security if req not in (session, csrf)]
                operation["security"] = [{**session, **csrf}, *rest]


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_FASTAPI_422 = {"$ref": "#/components/schemas/HTTPValidationError"}


def _components_named_by_title(schema: dict[str, Any]) -> None:
    """Name each schema component by its title. Pydantic keys a generic's component by the
    generic (`ListResponse_Shop_`) whatever its title (`ShopList`); generated clients name
    their classes after the key. Titles are unique (a test holds them to it), so a title
    that is already a key is left alone rather than overwritten."""
    components: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    renamed = {
        key: title
        for key, component in components.items()
        if (title := component.get("title")) and title != key and title not in components
    }
    if not renamed:
        return
    schema["components"]["schemas"] = {renamed.get(k, k): v for k, v in components.items()}
    refs = {
        f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in renamed.items()
    }

    def rewrite(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("$ref") in refs:
                node["$ref"] = refs[node["$ref"]]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for value in node:
                rewrite(value)

    rewrite(schema)


WEBHOOK_RECEIVED = {
    "description": "Received: any 2xx status within 5 s acknowledges the delivery (its body is "
    "ignored). Any other answer, or none, is retried; 410 Gone disables the endpoint."
}


def _webhook_responses(schema: dict[str, Any]) -> None:
    """A webhook is a request the platform sends: what matters is its payload (the request
    body) and that the receiver answers 2xx. FastAPI would document the receiver like one of
    our routes, with an empty 200 and a 422 the platform never reads."""
    for path_item in schema.get("webhooks", {}).values():
        for operation in path_item.values():
            operation["responses"] = {"2XX": dict(WEBHOOK_RECEIVED)}


def _problem_documents(schema: dict[str, Any]) -> None:
    """Document errors as the service sends them: `application/problem+json` with `Problem`.

    FastAPI files a declared error model under `application/json`, and gives every route that
    does not declare a 422 its own `HTTPValidationError` body, which the service never sends.
    """
    components = schema.get("components", {}).get("schemas", {})
    if "Problem" not in components:
        return
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                json_schema = content.get("application/json", {}).get("schema")
                if status == "422" and json_schema == _FASTAPI_422:
                    response["description"] = "Validation failed"
                elif not (PROBLEM_JSON in content and json_schema == _PROBLEM_REF):
                    continue
                response["content"] = {PROBLEM_JSON: {"schema": dict(_PROBLEM_REF)}}
    text = json.dumps(schema.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{name}"' not in text:
            components.pop(name, None)


def _nested_examples(schema: dict[str, Any]) -> None:
    """Give a field that holds another schema (or a list of them) an example built from the
    examples of that schema's own fields, so every field shows a valid example."""
    components = schema.get("components", {}).get("schemas", {})

    def example(node: dict[str, Any], depth: int) -> tuple[bool, Any]:
        if node.get("examples"):
            return True, node["examples"][0]
        if "example" in node:
            return True, node["example"]
        if depth > 6:
            return False, None
        if "$ref" in node:
            target = components.get(node["$ref"].rsplit("/", 1)[-1], {})
            if "enum" in target:
                return True, target["enum"][0]
            if "properties" not in target:
                return example(target, depth + 1)
            out = {}
            for name, prop in target["properties"].items():
                found, value = example(prop, depth + 1)
                if not found:
                    return False, None
                out[name] = value
            return True, out
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            found, value = example(node["items"], depth + 1)
            return (True, [value]) if found else (False, None)
        for option in node.get("anyOf", []):
            if option.get("type") != "null":
                return example(option, depth + 1)
        return False, None

    for component in components.values():
        for prop in component.get("properties", {}).values():
            if "examples" not in prop and "example" not in prop:
                found, value = example(prop, 0)
                if found:
                    prop["examples"] = [value]


def dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


SCOPES_START = "<!-- provider-scopes:start -->"
SCOPES_END = "<!-- provider-scopes:end -->"


def scope_table(schema: dict[str, Any]) -> str:
    """The README's route → scope table, generated from the spec's security requirements."""
    rows = []
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            for requirement in operation.get("security", []):
                if "providerOAuth" in requirement:
                    scopes = " ".join(f"`{s}`" for s in requirement["providerOAuth"])
                    rows.append(
                        f"| `{method.upper()} {path}` | `{operation['operationId']}` | {scopes} |"
                    )
    return "\n".join(["| operation | operationId | scope |", "|---|---|---|", *sorted(rows)])


def with_scope_table(readme: str, schema: dict[str, Any]) -> str:
    start = readme.index(SCOPES_START) + len(SCOPES_START)
    end = readme.index(SCOPES_END)
    return readme[:start] + "\n" + scope_table(schema) + "\n" + readme[end:]
