"""The published contract: OpenAPI 3.1, hand-chosen operation ids, documented errors and
security, a description and a valid example on every schema field, and the committed copy
in `openapi/openapi.json` in step with the code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.api.deps import SESSION_COOKIE, session_cookie
from app.api.openapi import dump

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
def spec(app: FastAPI) -> dict[str, Any]:
    return dict(app.openapi())


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


# --- a small JSON Schema checker for the examples ---------------------------------------------


def schema_errors(value: Any, schema: dict[str, Any], spec: dict[str, Any], at: str) -> list[str]:
    """Why `value` does not match `schema` (the subset of JSON Schema that pydantic emits)."""
    components = spec["components"]["schemas"]
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema_errors(value, target, spec, at)
    errors: list[str] = []
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [schema_errors(value, o, spec, at) for o in schema[key]]
            if all(options):
                errors.append(f"{at}: {value!r} matches none of {key}: {options}")
    for sub in schema.get("allOf", []):
        errors += schema_errors(value, sub, spec, at)
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} not in {schema['enum']}")
    kind = schema.get("type")
    if kind is None:
        return errors
    kinds = kind if isinstance(kind, list) else [kind]
    checks = {
        "null": lambda v: v is None,
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if not any(checks[k](value) for k in kinds):
        return [*errors, f"{at}: {value!r} is not of type {kinds}"]
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{at}: {value!r} shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{at}: {value!r} longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{at}: {value!r} does not match {schema['pattern']}")
        fmt = schema.get("format")
        if fmt == "date-time":
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                assert parsed.tzinfo is not None
            except (ValueError, AssertionError):
                errors.append(f"{at}: {value!r} is not an RFC 3339 date-time with a zone")
        elif fmt == "uri":
            url = urlparse(value)
            if not (url.scheme and url.netloc):
                errors.append(f"{at}: {value!r} is not an absolute URI")
        elif fmt == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            errors.append(f"{at}: {value!r} is not an e-mail address")
    if isinstance(value, int | float) and not isinstance(value, bool):
        for key, ok in (
            ("minimum", lambda v, b: v >= b),
            ("maximum", lambda v, b: v <= b),
            ("exclusiveMinimum", lambda v, b: v > b),
            ("exclusiveMaximum", lambda v, b: v < b),
        ):
            if key in schema and not ok(value, schema[key]):
                errors.append(f"{at}: {value!r} violates {key}={schema[key]}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{at}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{at}: more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                errors += schema_errors(item, schema["items"], spec, f"{at}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{at}: required {name!r} missing")
        for name, item in value.items():
            if name in props:
                errors += schema_errors(item, props[name], spec, f"{at}.{name}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{at}: unknown field {name!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += schema_errors(item, schema["additionalProperties"], spec, f"{at}.{name}")
    return errors


def test_the_example_checker_catches_bad_examples(spec: dict[str, Any]) -> None:
    shop_create = {"$ref": "#/components/schemas/ShopCreate"}
    assert not schema_errors({"name": "Tea", "subject_type": "personal"}, shop_create, spec, "")
    assert schema_errors({"name": "Tea", "subject_type": "pirate"}, shop_create, spec, "")
    assert schema_errors({"name": "", "subject_type": "personal"}, shop_create, spec, "")
    assert schema_errors({"name": "Tea"}, shop_create, spec, "")
    assert schema_errors({"name": "Tea", "subject_type": "personal", "x": 1}, shop_create, spec, "")
    account = {"$ref": "#/components/schemas/Account"}
    good = {
        "id": "acct_1",
        "username": "li.wei",
        "display_name": "Li Wei",
        "email": None,
        "is_operator": False,
        "created_at": "2026-11-25T08:00:00Z",
    }
    assert not schema_errors(good, account, spec, "")
    assert schema_errors({**good, "created_at": "yesterday"}, account, spec, "")
    assert schema_errors({**good, "created_at": "2026-11-25T08:00:00"}, account, spec, "")
    assert schema_errors({**good, "is_operator": "no"}, account, spec, "")
    assert schema_errors({**good, "email": 5}, account, spec, "")


# --- the document -----------------------------------------------------------------------------


def test_spec_is_openapi_3_1_with_metadata(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    info = spec["info"]
    assert info["title"] and info["version"] and len(info["description"]) > 100


async def test_served_spec_is_the_same_document(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json() == json.loads(json.dumps(spec))


def test_operation_ids_are_hand_chosen_unique_camel_case(spec: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert ids and all(ids), "every operation has an operationId"
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates
    for method, path, op in operations(spec):
        op_id = op["operationId"]
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", op_id), f"{method} {path}: {op_id!r}"
        # FastAPI's generated ids look like `open_shop_merchant_shops_post`.
        assert not re.search(r"(_|^)(get|post|put|patch|delete)$", op_id), op_id


def test_no_route_is_registered_twice(app: FastAPI) -> None:
    # The document keeps one operation per method and path, so a router included twice
    # would not show there: count the routes themselves.
    ids = [
        c.original_route.operation_id
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute) and c.original_route.include_in_schema
    ]
    assert len(ids) > 100
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_operation_has_a_summary_and_declared_tags(spec: dict[str, Any]) -> None:
    declared = {t["name"]: t for t in spec.get("tags", [])}
    for tag in declared.values():
        assert tag.get("description"), f"tag {tag['name']!r} has no description"
    for method, path, op in operations(spec):
        where = f"{method} {path}"
        assert isinstance(op.get("summary"), str) and op["summary"].strip(), where
        assert op["summary"] != op["operationId"], where
        assert op.get("tags"), f"{where} has no tag"
        for tag in op["tags"]:
            assert tag in declared, f"{where}: tag {tag!r} is not declared in the document"


def test_every_operation_declares_its_error_responses(spec: dict[str, Any]) -> None:
    problems: list[str] = []
    for method, path, op in operations(spec):
        where = f"{method} {path}"
        responses = op.get("responses", {})
        statuses = set(responses)
        params = op.get("parameters", [])
        needed: set[str] = set()
        if "OAuth" in op.get("tags", []):
            # RFC 6749 endpoints: form bodies, errors as {"error", "error_description"}.
            if "requestBody" in op:
                needed |= {"400", "401"}
            if missing := needed - statuses:
                problems.append(f"{where} does not declare {sorted(missing)}")
            for status in needed:
                content = responses.get(status, {}).get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if schema != {"$ref": "#/components/schemas/OAuthErrorBody"}:
                    problems.append(f"{where} {status}: not documented as OAuthErrorBody")
            continue
        if "requestBody" in op:
            needed |= {"400", "413", "415", "422"}
        if params or "requestBody" in op:
            needed.add("422")
        if any(p["in"] == "path" for p in params):
            needed.add("404")
        requirements = op.get("security", [])
        if requirements:
            needed.add("401")
        if any("csrfToken" in req for req in requirements):
            needed.add("403")
        if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in params):
            needed.add("412")
        if missing := needed - statuses:
            problems.append(f"{where} does not declare {sorted(missing)}")
        if not any(s.startswith("2") for s in statuses):
            problems.append(f"{where} declares no success response")
        for status, response in responses.items():
            if not response.get("description"):
                problems.append(f"{where} {status}: no description")
            if status.startswith("4") and response.get("content") != PROBLEM:
                problems.append(
                    f"{where} {status}: documented as {response.get('content')}, "
                    "not application/problem+json with the Problem schema"
                )
    assert not problems, "\n".join(problems)
    components = spec["components"]["schemas"]
    assert "HTTPValidationError" not in components, "FastAPI's 422 body is never sent"
    problem = components["Problem"]
    for field in ("type", "title", "status", "detail", "code", "request_id", "errors"):
        assert field in problem["properties"], field


def test_security_schemes_are_declared_and_used_correctly(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["sessionCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "minishop_session",
        "description": schemes["sessionCookie"]["description"],
    }
    assert schemes["csrfToken"]["type"] == "apiKey"
    assert schemes["csrfToken"]["in"] == "header"
    assert schemes["csrfToken"]["name"] == "X-CSRF-Token"
    for name, scheme in schemes.items():
        assert scheme.get("description"), f"security scheme {name!r} has no description"
    secured = 0
    for method, path, op in operations(spec):
        for requirement in op.get("security", []):
            secured += 1
            assert set(requirement) <= set(schemes), f"{method} {path}: {requirement}"
            # The CSRF header means nothing alone: it goes with the session (AND, one object).
            if "csrfToken" in requirement:
                assert "sessionCookie" in requirement, f"{method} {path}: {op['security']}"
            if "sessionCookie" in requirement and method != "GET":
                assert "csrfToken" in requirement, f"{method} {path} changes state without CSRF"
    assert secured >= 10


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependencies(sub)


def test_every_cookie_authenticated_operation_declares_cookie_and_csrf(
    app: FastAPI, spec: dict[str, Any]
) -> None:
    """A client (a generated one too) learns from the spec alone that an operation needs the
    session cookie, and for a change also `X-CSRF-Token`: both apiKey schemes, required
    together (one requirement object). Found from what each route reads, not from the spec."""
    cookie_routes = 0
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not (isinstance(route, APIRoute) and route.include_in_schema):
            continue
        deps = list(_dependencies(route.dependant))
        reads_session = any(d.call is session_cookie for d in deps) or any(
            param.alias == SESSION_COOKIE for d in deps for param in d.cookie_params
        )
        if not reads_session:
            continue
        cookie_routes += 1
        for method in route.methods:
            op = spec["paths"][route.path][method.lower()]
            wanted = {"sessionCookie": []}
            if method not in ("GET", "HEAD"):
                wanted["csrfToken"] = []
            assert wanted in op.get("security", []), f"{method} {route.path}: {op.get('security')}"
    assert cookie_routes >= 50


def test_request_bodies_reject_unknown_fields(spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]
    for method, path, op in operations(spec):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        ref = content["application/json"]["schema"].get("$ref", "")
        assert ref, f"{method} {path}: the body is not a named schema"
        schema = components[ref.rsplit("/", 1)[-1]]
        assert schema.get("additionalProperties") is False, f"{method} {path}: {ref}"


def test_every_schema_and_field_has_a_description_and_a_valid_example(
    spec: dict[str, Any],
) -> None:
    problems: list[str] = []
    components = spec["components"]["schemas"]
    assert len(components) >= 10
    for name, schema in components.items():
        if not (schema.get("description") or "").strip():
            problems.append(f"{name}: no description")
        for field, prop in schema.get("properties", {}).items():
            where = f"{name}.{field}"
            if not (prop.get("description") or "").strip():
                problems.append(f"{where}: no description")
            examples = prop.get("examples", [prop["example"]] if "example" in prop else [])
            if not examples:
                problems.append(f"{where}: no example")
            for example in examples:
                problems += schema_errors(example, prop, spec, where)
    assert not problems, "\n".join(problems)


def test_composed_examples_of_every_schema_are_valid(spec: dict[str, Any]) -> None:
    """The field examples put together make a valid object (as Swagger UI shows it)."""
    components = spec["components"]["schemas"]
    for name, schema in components.items():
        if "properties" not in schema:
            continue
        example = {
            field: (prop.get("examples") or [prop.get("example")])[0]
            for field, prop in schema["properties"].items()
        }
        errors = schema_errors(example, {"$ref": f"#/components/schemas/{name}"}, spec, name)
        assert not errors, errors


def test_query_parameters_are_documented(spec: dict[str, Any]) -> None:
    problems = []
    for method, path, op in operations(spec):
        for param in op.get("parameters", []):
            where = f"{method} {path} {param['in']} {param['name']}"
            if param["in"] in ("query", "header") and not param.get("description"):
                problems.append(f"{where}: no description")
            if param["in"] == "query":
                examples = param["schema"].get("examples", [])
                if not examples:
                    problems.append(f"{where}: no example")
                for example in examples:
                    problems += schema_errors(example, param["schema"], spec, where)
            if param["in"] == "query" and param["name"] == "limit":
                assert param["schema"]["maximum"] == 100, where
                assert param["schema"]["minimum"] == 1, where
    assert not problems, "\n".join(problems)


def test_list_operations_use_the_cursor_envelope(spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]
    lists = 0
    for method, path, op in operations(spec):
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        if "cursor" not in names:
            continue
        lists += 1
        assert "limit" in names, f"{method} {path}"
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        envelope = components[ref.rsplit("/", 1)[-1]]
        assert set(envelope["properties"]) == {"data", "next_cursor"}, f"{method} {path}"
        assert envelope["properties"]["data"]["type"] == "array"
    assert lists >= 4


def test_committed_spec_matches_the_code(spec: dict[str, Any]) -> None:
    if not COMMITTED.exists():
        pytest.skip(f"{COMMITTED} has not been generated yet: run `make openapi`")
    committed = COMMITTED.read_text(encoding="utf-8")
    live = dump(spec)
    assert json.loads(committed) == json.loads(live), (
        "openapi/openapi.json is out of date: run `make openapi` and commit the result"
    )
    assert committed == live, "openapi/openapi.json is not in the export format: run `make openapi`"


def unresolved_refs(document: dict[str, Any]) -> list[str]:
    """Every `$ref` of the document (paths, webhooks, components) that points at nothing."""
    problems: list[str] = []

    def resolve(ref: str) -> bool:
        if not ref.startswith("#/"):
            return False  # the spec is one self-contained document
        node: Any = document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                return False
            node = node[token]
        return True

    def walk(node: Any, at: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not resolve(ref):
                problems.append(f"{at}: {ref}")
            for key, value in node.items():
                walk(value, f"{at}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{at}/{i}")

    walk(document, "#")
    return problems


def test_the_ref_checker_catches_a_dangling_ref(spec: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(spec))
    webhook = next(iter(broken["webhooks"].values()))["post"]
    webhook["responses"]["422"] = {
        "description": "x",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}},
    }
    assert unresolved_refs(broken) == [
        f"#/webhooks/{next(iter(broken['webhooks']))}/post/responses/422/content/"
        "application/json/schema: #/components/schemas/Nope"
    ]


def test_every_ref_of_the_committed_spec_resolves() -> None:
    """ReDoc refuses the whole document over one dangling `$ref` ("Invalid reference token")."""
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert unresolved_refs(committed) == []


async def test_every_ref_of_the_served_spec_resolves(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    served = r.json()
    assert served["webhooks"] and served["components"]["schemas"]
    assert unresolved_refs(served) == []


def test_webhooks_document_their_payload_and_a_2xx_answer(spec: dict[str, Any]) -> None:
    """A webhook documents what the platform sends (the body) and what the receiver answers
    (2xx, described): no 422 nobody reads, no empty 200 body."""
    assert len(spec["webhooks"]) >= 11
    components = spec["components"]["schemas"]
    for name, item in spec["webhooks"].items():
        op = item["post"]
        body = op["requestBody"]
        assert body["required"] is True, name
        ref = body["content"]["application/json"]["schema"]["$ref"]
        payload = components[ref.rsplit("/", 1)[-1]]
        assert {"type", "timestamp", "data"} <= set(payload["properties"]), name
        assert list(op["responses"]) == ["2XX"], name
        answer = op["responses"]["2XX"]
        assert answer["description"] and "content" not in answer, name


def component_name_problems(document: dict[str, Any]) -> list[str]:
    """Schema components must have unique, meaningful names that generated clients can use as
    class names: two models with one title become `app__api__…__Qualification` keys, which
    openapi-python-client cannot generate."""
    problems = []
    seen: dict[str, str] = {}
    for key, component in document["components"]["schemas"].items():
        title = component.get("title")
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", key):
            problems.append(f"{key}: not a PascalCase name (no `_`, no module path)")
        if title != key:
            problems.append(f"{key}: titled {title!r}")
        if title in seen:
            problems.append(f"{key}: title {title!r} also names {seen[title]}")
        seen.setdefault(title, key)
    return problems


def test_schema_components_have_unique_meaningful_names(spec: dict[str, Any]) -> None:
    assert component_name_problems(spec) == []
    names = spec["components"]["schemas"]
    assert {"ShopQualification", "IndustryQualification", "ShopList"} <= set(names)
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert component_name_problems(committed) == []


def test_the_name_checker_catches_module_paths_and_duplicate_titles() -> None:
    document = {
        "components": {
            "schemas": {
                "app__api__v1__schemas__shops__Qualification": {"title": "Qualification"},
                "Qualification": {"title": "Qualification"},
                "ListResponse_Shop_": {"title": "ListResponse[Shop]"},
            }
        }
    }
    assert component_name_problems(document) == [
        "app__api__v1__schemas__shops__Qualification: not a PascalCase name (no `_`, no module "
        "path)",
        "app__api__v1__schemas__shops__Qualification: titled 'Qualification'",
        "Qualification: title 'Qualification' also names "
        "app__api__v1__schemas__shops__Qualification",
        "ListResponse_Shop_: not a PascalCase name (no `_`, no module path)",
        "ListResponse_Shop_: titled 'ListResponse[Shop]'",
    ]


def test_path_parameters_have_a_description_and_an_example(spec: dict[str, Any]) -> None:
    problems = []
    seen = 0
    for method, path, op in operations(spec):
        for param in op.get("parameters", []):
            if param["in"] != "path":
                continue
            seen += 1
            where = f"{method} {path} path {param['name']}"
            if not param.get("description"):
                problems.append(f"{where}: no description")
            examples = param["schema"].get("examples", [])
            if not examples:
                problems.append(f"{where}: no example")
            for example in examples:
                problems += schema_errors(example, param["schema"], spec, where)
                if f"{{{param['name']}}}" in path and param["name"].endswith("_id"):
                    prefix = {"shop_id": "shop_", "account_id": "acct_"}.get(param["name"])
                    if prefix and not example.startswith(prefix):
                        problems.append(f"{where}: example {example!r} is not a {prefix} id")
    assert seen >= 10
    assert not problems, "\n".join(problems)


def _string_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The free-text string schemas in a parameter's schema (not enums, times or `$ref`s)."""
    if "anyOf" in schema:
        return [s for option in schema["anyOf"] for s in _string_schemas(option)]
    if schema.get("type") == "array":
        return _string_schemas(schema.get("items", {}))
    if schema.get("type") == "string" and not ({"enum", "format", "const"} & schema.keys()):
        return [schema]
    return []


def test_control_characters_in_the_url_are_documented(spec: dict[str, Any]) -> None:
    """The service refuses control characters in the path and the query of every operation
    but the HTML pages' (400 `invalid_characters`, before any route runs): every operation
    with path or query parameters declares the 400, and every free-text string parameter
    says with its `pattern` that control characters are refused."""
    from app.api.middleware import InvalidCharactersMiddleware
    from app.main import FORM_PATHS

    problems = []
    checked = 0
    for method, path, op in operations(spec):
        where = f"{method} {path}"
        params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
        path_checked = any(p["in"] == "path" for p in params)
        query_checked = InvalidCharactersMiddleware.checks_query(path, FORM_PATHS)
        if params:
            assert path_checked or query_checked, f"{where}: parameters nobody checks"
        if (path_checked or query_checked) and "400" not in op["responses"]:
            problems.append(f"{where} does not declare 400")
        for param in params:
            for string in _string_schemas(param["schema"]):
                checked += 1
                pattern = string.get("pattern")
                if pattern is None:
                    problems.append(f"{where} {param['name']}: no pattern")
                    continue
                for bad in ("a\x00b", "\x01", "x\x1f", "\x7f", "a\nb", "\t"):
                    if re.search(pattern, bad):
                        problems.append(f"{where} {param['name']}: {pattern} allows {bad!r}")
                for good in param["schema"].get("examples", []):
                    for value in good if isinstance(good, list) else [good]:
                        if not re.search(pattern, value):
                            problems.append(f"{where} {param['name']}: refuses {value!r}")
    assert checked > 50, checked
    assert not problems, "\n".join(problems)


#: Never replayed: login sets a cookie; the OAuth endpoints follow RFC 6749 (a code or
#: refresh token is single use by itself).
IDEMPOTENCY_EXEMPT = ("/auth/login", "/oauth/", "/v1/storefront/token")


def test_writes_declare_idempotency_key(spec: dict[str, Any]) -> None:
    writes = 0
    for method, path, op in operations(spec):
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        params = {(p["in"], p["name"]): p for p in op.get("parameters", [])}
        key = params.get(("header", "Idempotency-Key"))
        success = [r for s, r in op["responses"].items() if s.startswith("2")]
        assert success, f"{method} {path}: no success response"
        replayed = [r for r in success if "Idempotent-Replayed" in r.get("headers", {})]
        if path.startswith(IDEMPOTENCY_EXEMPT):
            assert key is None, f"{method} {path} is never replayed (it sets a cookie)"
            assert not replayed
            continue
        writes += 1
        assert key is not None, f"{method} {path}: no Idempotency-Key parameter"
        assert key["required"] is False
        assert key.get("description")
        assert key["schema"].get("examples"), f"{method} {path}: no example"
        assert len(replayed) == len(success), f"{method} {path}: Idempotent-Replayed missing"
    assert writes >= 10
    # Reads never carry it.
    for method, path, op in operations(spec):
        if method == "GET":
            names = {p["name"] for p in op.get("parameters", [])}
            assert "Idempotency-Key" not in names, path


def test_response_headers_are_documented(spec: dict[str, Any]) -> None:
    headers = spec["components"]["headers"]
    for name in ("X-Request-Id", "ETag", "Location", "Idempotent-Replayed"):
        assert headers[name]["description"], name
        assert headers[name]["schema"]["examples"], name
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            assert "X-Request-Id" in response.get("headers", {}), f"{method} {path} {status}"
            for ref in response.get("headers", {}).values():
                assert ref["$ref"].rsplit("/", 1)[-1] in headers

    def success_headers(op_id: str) -> dict[str, set[str]]:
        for _, _, op in operations(spec):
            if op["operationId"] == op_id:
                return {
                    s: set(r.get("headers", {})) for s, r in op["responses"].items() if s < "300"
                }
        raise AssertionError(op_id)

    assert {"ETag", "Location"} <= success_headers("openShop")["201"]
    for op_id in ("getMyShop", "updateMyShop", "changeShopMemberRole"):
        assert "ETag" in success_headers(op_id)["200"], op_id
    assert "ETag" in success_headers("addShopMember")["201"]


async def test_documented_response_headers_are_sent(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    """What the document promises for openShop is what the server sends."""
    from tests import factories as f

    u = await f.user(client)
    r = await client.post(
        "/merchant/shops",
        json={"name": "Header Check", "subject_type": "personal"},
        headers={**u.h, "Idempotency-Key": "hdr-" + u.id},
    )
    assert r.status_code == 201
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    assert r.headers["location"] == f"/merchant/shops/{r.json()['id']}"
    assert r.headers["x-request-id"]
    again = await client.post(
        "/merchant/shops",
        json={"name": "Header Check", "subject_type": "personal"},
        headers={**u.h, "Idempotency-Key": "hdr-" + u.id},
    )
    assert again.headers["idempotent-replayed"] == "true"
