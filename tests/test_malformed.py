"""Malformed bodies on every JSON operation: a 4xx problem, never a 500, nothing changed.

The operations come from the live OpenAPI document, so a route added later is covered without
touching this file. Only path parameters need a value: a real one from `PATH_VALUES` when the
name is known, otherwise an id that does not exist.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.container import Container
from tests import factories as f

SESSION_SCHEMES = {"sessionCookie", "csrfToken"}
#: The caller is logged in on the storefront too: its buyer token is sent along.
CALLER_SCHEMES = {*SESSION_SCHEMES, "buyerBearer"}
EXTRA_FIELD = "unexpected_field_9f3"


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    schema: dict[str, Any]
    security: list[dict[str, list[str]]]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path} ({self.operation_id})"

    @property
    def session_is_enough(self) -> bool:
        """Our logged-in operator-owner (with a buyer's token too) satisfies the operation's
        security."""
        return not self.security or any(set(req) <= CALLER_SCHEMES for req in self.security)


def json_operations(spec: dict[str, Any]) -> list[Operation]:
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            out.append(
                Operation(
                    method.upper(),
                    path,
                    op["operationId"],
                    content["application/json"]["schema"],
                    op.get("security", []),
                )
            )
    return out


class Schemas:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.components = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def json_types(self, schema: dict[str, Any]) -> set[str]:
        """The JSON types a schema accepts (`number` stands for integer and number)."""
        schema = self.resolve(schema)
        found: set[str] = set()
        for option in schema.get("anyOf", []) + schema.get("oneOf", []):
            found |= self.json_types(option)
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if kind else []
        if "enum" in schema and not kinds:
            kinds = sorted({_json_type(v) for v in schema["enum"]})
        for k in kinds:
            found.add("number" if k == "integer" else k)
        if not found and not schema.get("anyOf") and not schema.get("oneOf"):
            return {"any"}
        return found

    def wrong_value(self, schema: dict[str, Any]) -> tuple[bool, Any]:
        """A value of a JSON type the schema does not accept, if there is one."""
        types = self.json_types(schema)
        if "any" in types:
            return False, None
        for value in ({"wrong": [1]}, [{"wrong": 1}], 12345.5, True, "not-a-valid-value"):
            if _json_type(value) not in types and not (
                isinstance(value, bool) and "number" in types
            ):
                return True, value
        return False, None

    def example(self, schema: dict[str, Any]) -> Any:
        if schema.get("examples"):
            return copy.deepcopy(schema["examples"][0])
        if "example" in schema:
            return copy.deepcopy(schema["example"])
        schema = self.resolve(schema)
        if schema.get("examples"):
            return copy.deepcopy(schema["examples"][0])
        if "enum" in schema:
            return schema["enum"][0]
        for option in schema.get("anyOf", []) + schema.get("oneOf", []):
            if option.get("type") != "null":
                return self.example(option)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {k: self.example(v) for k, v in schema.get("properties", {}).items()}
        if kind == "array":
            return [self.example(schema.get("items", {}))]
        return {"string": "text", "integer": 1, "number": 1.5, "boolean": True}.get(str(kind))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass
class Caller:
    user: f.User
    path_values: dict[str, str]
    buyer: f.Buyer | None = None

    @property
    def h(self) -> dict[str, str]:
        """The session's CSRF token, and the same account's buyer token (a session operation
        ignores it; a provider operation refuses it, as it refuses no token)."""
        return {**self.user.h, **(self.buyer.h if self.buyer else {})}

    async def fingerprint(self, container: Container) -> dict[str, str]:
        """Everything a refused call of this caller could have changed (`f.fingerprint`)."""
        return await f.fingerprint(container, self.path_values["shop_id"])

    def url(self, path: str) -> str:
        for name in _path_params(path):
            value = self.path_values.get(name) or _nonexistent_id(name)
            path = path.replace("{" + name + "}", value)
        return path


def gateway_signature(container: Container, path: str, content: bytes) -> dict[str, str]:
    """A gateway's callback is authenticated by the gateway's signature of the body: the
    caller signs as the sandbox gateway would, so the body's own checks are reached."""
    if path in ("/callbacks/payments/sandbox", "/callbacks/refunds/sandbox"):
        return container.sandbox_signer.headers(content)
    return {}


def _path_params(path: str) -> Iterator[str]:
    start = path.find("{")
    while start != -1:
        end = path.index("}", start)
        yield path[start + 1 : end]
        start = path.find("{", end)


def _nonexistent_id(name: str) -> str:
    prefix = name.removesuffix("_id") or "id"
    return f"{prefix[:8]}_{secrets.token_hex(13)}"


@pytest.fixture
def spec(app: FastAPI) -> dict[str, Any]:
    return dict(app.openapi())


@pytest.fixture
async def caller(client: httpx.AsyncClient, container: Container) -> Caller:
    """A platform operator who also owns an open shop and is logged in on the storefront as a
    buyer: authorized for every current route but the provider's."""
    user = await f.operator(container, client)
    shop = await f.open_shop(user)
    tokens = await f.buyer_token(client, username=user.username)
    buyer = f.Buyer(client, user.id, user.username, tokens["access_token"], tokens["refresh_token"])
    return Caller(user, {"shop_id": shop["id"], "account_id": user.id}, buyer)


BodyMaker = Callable[[Schemas, Operation], tuple[bytes, Callable[[dict[str, Any]], None] | None]]


async def _check_every_operation(
    spec: dict[str, Any],
    caller: Caller,
    container: Container,
    make_body: BodyMaker,
) -> int:
    """Send the body `make_body` builds to every JSON operation; return how many were sent."""
    schemas = Schemas(spec)
    operations = json_operations(spec)
    assert len(operations) >= 5, "the spec lost its JSON operations"
    failures: list[str] = []
    sent = 0
    after = await caller.fingerprint(container)
    for op in operations:
        content, check_422 = make_body(schemas, op)
        before = after
        r = await caller.user.client.request(
            op.method,
            caller.url(op.path),
            content=content,
            headers={
                **caller.h,
                "Content-Type": "application/json",
                **gateway_signature(container, op.path, content),
            },
        )
        sent += 1
        after = await caller.fingerprint(container)
        where = f"{op.label} with {content[:120]!r}: {r.status_code} {r.text[:300]}"
        if not 400 <= r.status_code < 500:
            failures.append(f"not a 4xx: {where}")
            continue
        if r.headers.get("content-type") != "application/problem+json":
            failures.append(f"not problem+json: {where}")
            continue
        problem = r.json()
        if problem.get("status") != r.status_code or not problem.get("code"):
            failures.append(f"incomplete problem: {where}")
        if problem.get("request_id") != r.headers.get("x-request-id"):
            failures.append(f"problem without the request id: {where}")
        if after != before:
            changed = sorted(k for k in after if after[k] != before.get(k))
            failures.append(f"database changed ({changed}): {where}")
        if check_422 is not None and op.session_is_enough:
            if r.status_code != 422 or problem.get("code") != "validation_error":
                failures.append(f"expected a 422 validation_error: {where}")
            else:
                try:
                    check_422(problem)
                except AssertionError as e:
                    failures.append(f"{e}: {where}")
    assert not failures, "\n".join(failures)
    return sent


MALFORMED = [b"{", b'{"name": }', b'{"name": "x",}', b"\xff\xfe", b"{'single': 1}", b"NaN-ish"]


async def test_malformed_json_on_every_operation(
    spec: dict[str, Any], caller: Caller, container: Container
) -> None:
    operations = json_operations(spec)
    assert len(operations) >= 5
    before = await caller.fingerprint(container)
    for op, raw in ((op, raw) for op in operations for raw in MALFORMED):
        r = await caller.user.client.request(
            op.method,
            caller.url(op.path),
            content=raw,
            headers={**caller.h, "Content-Type": "application/json"},
        )
        assert r.status_code == 400, (op.label, raw, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "malformed_json", (op.label, raw, r.text)
        assert await caller.fingerprint(container) == before, op.label


async def test_array_instead_of_object_on_every_operation(
    spec: dict[str, Any], caller: Caller, container: Container
) -> None:
    def make(schemas: Schemas, op: Operation) -> tuple[bytes, Callable[[dict[str, Any]], None]]:
        example = schemas.example(op.schema)
        if isinstance(example, list):  # a list body: send an object instead
            body: Any = {"items": example}
        else:
            body = [example]

        def check(problem: dict[str, Any]) -> None:
            assert any(e["loc"] == ["body"] for e in problem["errors"]), problem["errors"]

        return json.dumps(body).encode(), check

    assert await _check_every_operation(spec, caller, container, make) >= 5


async def test_wrong_types_for_every_field_on_every_operation(
    spec: dict[str, Any], caller: Caller, container: Container
) -> None:
    def make(schemas: Schemas, op: Operation) -> tuple[bytes, Callable[[dict[str, Any]], None]]:
        target = schemas.resolve(op.schema)
        wrap_in_list = target.get("type") == "array"
        if wrap_in_list:
            target = schemas.resolve(target.get("items", {}))
        body: dict[str, Any] = {}
        for name, prop in target.get("properties", {}).items():
            ok, value = schemas.wrong_value(prop)
            if ok:
                body[name] = value
        assert body or not target.get("properties"), f"no wrong value possible: {op.label}"

        def check(problem: dict[str, Any]) -> None:
            locs = [tuple(e["loc"]) for e in problem["errors"]]
            for name in body:
                prefix = ("body", 0, name) if wrap_in_list else ("body", name)
                assert any(loc[: len(prefix)] == prefix for loc in locs), (
                    f"no error for field {name!r} in {locs}"
                )

        return json.dumps([body] if wrap_in_list else body).encode(), check

    assert await _check_every_operation(spec, caller, container, make) >= 5


async def test_unknown_fields_on_every_operation(
    spec: dict[str, Any], caller: Caller, container: Container
) -> None:
    """A valid example plus one unknown field: refused, so a typo never passes silently."""

    def make(schemas: Schemas, op: Operation) -> tuple[bytes, Callable[[dict[str, Any]], None]]:
        example = schemas.example(op.schema)
        if isinstance(example, list):
            example[0][EXTRA_FIELD] = 1
            loc = ["body", 0, EXTRA_FIELD]
        else:
            example[EXTRA_FIELD] = 1
            loc = ["body", EXTRA_FIELD]

        def check(problem: dict[str, Any]) -> None:
            # The only error is the unknown field: the rest of the example is valid.
            assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
                (loc, "extra_forbidden")
            ], problem["errors"]

        return json.dumps(example).encode(), check

    assert await _check_every_operation(spec, caller, container, make) >= 5


def write_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every state-changing operation, with or without a request body."""
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("post", "put", "patch", "delete")
    ]


UNWANTED_BODIES = [
    (b"{bad json", "application/json"),
    (b'{"reason": "because"}', "application/json"),
    (b"[]", "application/json"),
    (b"x=1", "application/x-www-form-urlencoded"),
]


async def test_every_write_refuses_a_bad_or_unexpected_body_and_changes_nothing(
    spec: dict[str, Any], caller: Caller, container: Container
) -> None:
    """Operations that take no body used to ignore one: `{bad json` to reinstate reinstated."""
    operations = write_operations(spec)
    without_body = [op for op in operations if "requestBody" not in op[2]]
    assert len(without_body) >= 4, "expected approve, reinstate, logout, remove member..."
    failures: list[str] = []
    after = await caller.fingerprint(container)
    for (method, path, op), (raw, ctype) in (
        (op, body) for op in operations for body in UNWANTED_BODIES
    ):
        takes_body = "requestBody" in op
        if takes_body and raw.startswith((b'{"', b"[")):
            continue  # a well-formed body for an operation that takes one: covered above
        before = after
        r = await caller.user.client.request(
            method,
            caller.url(path),
            content=raw,
            headers={**caller.h, "Content-Type": ctype},
        )
        after = await caller.fingerprint(container)
        where = f"{method} {path} with {raw!r} ({ctype}): {r.status_code} {r.text[:200]}"
        if not 400 <= r.status_code < 500:
            failures.append(f"not a 4xx: {where}")
            continue
        if "OAuth" in op.get("tags", []):
            # RFC 6749 endpoints answer {"error", "error_description"}, never problem+json.
            if "error" not in r.json() or after != before:
                failures.append(f"not an RFC 6749 error, or a change: {where}")
            continue
        if r.headers.get("content-type") != "application/problem+json":
            failures.append(f"not problem+json: {where}")
            continue
        problem = r.json()
        if problem.get("request_id") != r.headers.get("x-request-id"):
            failures.append(f"problem without the request id: {where}")
        if after != before:
            changed = sorted(k for k in after if after[k] != before.get(k))
            failures.append(f"database changed ({changed}): {where}")
        # A file upload declares the media types it takes; everything else takes JSON.
        accepted = set(op.get("requestBody", {}).get("content", {})) or {"application/json"}
        if ctype not in accepted and method != "DELETE":
            expected = "unsupported_media_type"  # the media type is checked first
        elif takes_body and ctype == "application/x-www-form-urlencoded":
            # An operation that takes a form too (the storefront's token endpoint): `x=1` is
            # a well-formed form, whose field `x` the operation does not have.
            expected = "validation_error"
        elif takes_body:
            expected = "malformed_json"
        else:
            expected = "unexpected_body"
        if problem.get("code") != expected:
            failures.append(f"expected {expected}: {where}")
    assert not failures, "\n".join(failures)


async def test_operations_without_a_body_still_work_without_one(
    client: httpx.AsyncClient, container: Container
) -> None:
    op = await f.operator(container, client)
    shop = await f.open_shop(op)
    url = f"/v1/platform/shops/{shop['id']}"
    r = await client.post(f"{url}/suspend", json={"reason": "Fake goods"}, headers=op.h)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{url}/reinstate",
        content=b"{bad json",
        headers={**op.h, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == "unexpected_body", r.text
    assert (await client.get(url)).json()["suspended"] is True
    r = await client.post(f"{url}/reinstate", headers=op.h)
    assert r.status_code == 200, r.text
    assert r.json()["suspended"] is False
