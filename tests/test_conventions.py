"""Cross-cutting API conventions: problem+json errors, request ids, health and metrics,
cursor pagination, ETag / If-Match."""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Request
from starlette.responses import JSONResponse

from app.container import Container, build_container
from app.infra import metrics
from app.infra.logging import configure_logging
from app.main import create_app
from tests import factories as f
from tests.conftest import random_ip

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id", "errors"}


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with every field the service promises."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body = r.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", body["code"])
    assert body["type"].startswith("https://") and body["type"].endswith("/" + body["code"])
    assert isinstance(body["errors"], list)
    assert body["request_id"] and body["request_id"] == r.headers["x-request-id"]
    if code is not None:
        assert body["code"] == code, body
    return dict(body)


# --- RFC 9457 problem documents -------------------------------------------------------------


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/no/such/route/{secrets.token_hex(4)}")
    assert_problem(r, 404, "not_found")
    r = await client.post("/v1/nothing-here", json={"a": 1})
    assert_problem(r, 404, "not_found")


async def test_wrong_method_is_a_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    r = await client.delete("/auth/register")
    assert_problem(r, 405, "method_not_allowed")
    assert "POST" in r.headers["allow"]
    r = await client.put("/healthz", json={})
    assert_problem(r, 405, "method_not_allowed")


def _allowed(r: httpx.Response) -> set[str]:
    return {m.strip() for m in r.headers["allow"].split(",")}


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.options("/v1/shop")
    assert_problem(r, 405, "method_not_allowed")
    assert _allowed(r) == {"GET", "PATCH"}
    r = await client.put("/v1/apps/app_x/webhook-endpoints/we_x")
    assert_problem(r, 405, "method_not_allowed")
    assert _allowed(r) == {"GET", "PATCH", "DELETE"}


async def test_405_allow_matches_the_route_table(app: Any, client: httpx.AsyncClient) -> None:
    """For every path of the route table, a method it does not serve gets a 405 whose `Allow`
    lists exactly the methods of the routes with that path."""
    from fastapi.routing import iter_route_contexts

    by_path: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        if route.methods and route.path:
            by_path.setdefault(route.path, set()).update(route.methods)
    assert len(by_path) > 50, sorted(by_path)
    problems = []
    for path, methods in sorted(by_path.items()):
        url = re.sub(r"\{[^}]+\}", "probe_1", path)
        method = next(m for m in ("OPTIONS", "TRACE", "PUT", "DELETE") if m not in methods)
        r = await client.request(method, url)
        if r.status_code != 405 or _allowed(r) != methods:
            problems.append(f"{method} {url}: {r.status_code} Allow {r.headers.get('allow')}")
        else:
            assert_problem(r, 405, "method_not_allowed")
    assert not problems, "\n".join(problems)


async def test_body_validation_is_a_422_with_per_field_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/auth/register", json={"username": "ab", "password": 12345, "surprise": True}
    )
    body = assert_problem(r, 422, "validation_error")
    for err in body["errors"]:
        assert set(err) == {"loc", "msg", "type"}, err
        assert isinstance(err["msg"], str) and err["msg"]
        assert isinstance(err["type"], str) and err["type"]
    by_loc = {tuple(e["loc"]): e for e in body["errors"]}
    assert by_loc[("body", "username")]["type"] == "string_too_short"
    assert by_loc[("body", "password")]["type"] == "string_type"
    assert by_loc[("body", "surprise")]["type"] == "extra_forbidden"
    assert "username" in body["detail"]


async def test_a_megabyte_of_unknown_keys_gets_a_short_422(container: Container) -> None:
    """Each unknown key is an error; the problem lists the first 50 and says how many."""
    settings = container.settings.model_copy(update={"max_body_bytes": 1_048_576})
    own = build_container(settings)
    keys = [f"k{i:06d}" for i in range(80_000)]
    payload = {"username": f.unique(), "password": f.PASSWORD, **dict.fromkeys(keys, 0)}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    assert 900_000 < len(raw) <= settings.max_body_bytes
    try:
        transport = httpx.ASGITransport(app=create_app(container=own), client=(random_ip(), 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post(
                "/auth/register", content=raw, headers={"Content-Type": "application/json"}
            )
    finally:
        await own.close()
        metrics.watch_pool(container.engine.sync_engine.pool)
    body = assert_problem(r, 422, "validation_error")
    assert len(r.content) < 16_000, len(r.content)
    assert [e["loc"] for e in body["errors"]] == [["body", k] for k in keys[:50]]
    assert {e["type"] for e in body["errors"]} == {"extra_forbidden"}
    assert body["errors_truncated"] is True
    assert body["error_count"] == len(keys)


async def test_a_problem_under_the_cap_has_no_count(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/auth/register",
        json={"username": "ab", "password": 1, **{f"k{i}": 0 for i in range(48)}},
    )
    body = assert_problem(r, 422, "validation_error")
    assert len(body["errors"]) == 50
    assert "errors_truncated" not in body and "error_count" not in body


async def test_a_huge_unknown_key_is_clipped_in_the_problem(client: httpx.AsyncClient) -> None:
    key = "x" * 50_000
    r = await client.post(
        "/auth/register", json={"username": f.unique(), "password": f.PASSWORD, key: 1}
    )
    body = assert_problem(r, 422, "validation_error")
    assert len(r.content) < 2_000, len(r.content)
    (loc,) = [e["loc"] for e in body["errors"]]
    assert loc[0] == "body" and loc[1].startswith("xxx") and len(loc[1]) <= 100


def test_the_problem_schema_documents_the_cap(app: Any) -> None:
    problem = app.openapi()["components"]["schemas"]["Problem"]["properties"]
    assert problem["errors"]["maxItems"] == 50
    assert {"errors_truncated", "error_count"} <= problem.keys()
    assert "50" in problem["errors_truncated"]["description"]


async def test_missing_body_and_query_validation_are_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/auth/register", json={})
    body = assert_problem(r, 422, "validation_error")
    missing = {tuple(e["loc"]) for e in body["errors"] if e["type"] == "missing"}
    assert {("body", "username"), ("body", "password")} <= missing

    u = await f.user(client)
    r = await client.get("/merchant/shops", params={"limit": "many"})
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", "limit"]
    assert u.id


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"username": "abc",}', b"nul", b"\xff\xfe{}", b'{"a": "\\ud800"', b"[1, 2"],
)
async def test_malformed_json_is_a_400_never_500(client: httpx.AsyncClient, raw: bytes) -> None:
    r = await client.post(
        "/auth/register", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_problem(r, 400, "malformed_json")


async def test_non_json_content_type_is_a_415(client: httpx.AsyncClient) -> None:
    body = json.dumps({"username": f.unique(), "password": f.PASSWORD})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = await client.post("/auth/register", content=body, headers={"Content-Type": ctype})
        problem = assert_problem(r, 415, "unsupported_media_type")
        assert problem["received"] == ctype
    # No Content-Type at all is not JSON either.
    r = await client.post("/auth/register", content=body.encode())
    assert_problem(r, 415, "unsupported_media_type")
    # `+json` media types and parameters are fine.
    r = await client.post(
        "/auth/register",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.text


async def test_oversized_body_with_content_length_is_a_413(
    client: httpx.AsyncClient, container: Container
) -> None:
    limit = container.settings.max_body_bytes
    assert limit == 64 * 1024
    before = await f.db_fingerprint(container)
    payload = json.dumps({"username": f.unique(), "password": "x" * limit})
    r = await client.post(
        "/auth/register", content=payload, headers={"Content-Type": "application/json"}
    )
    assert_problem(r, 413, "payload_too_large")
    assert await f.db_fingerprint(container) == before


async def test_oversized_streamed_body_without_content_length_is_a_413(
    client: httpx.AsyncClient, container: Container
) -> None:
    limit = container.settings.max_body_bytes
    before = await f.db_fingerprint(container)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "' + f.unique().encode() + b'", "password": "'
        for _ in range(limit // 8192 + 2):
            yield b"x" * 8192
        yield b'"}'

    r = await client.post(
        "/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert_problem(r, 413, "payload_too_large")
    assert await f.db_fingerprint(container) == before


async def test_body_just_under_the_limit_is_accepted(
    client: httpx.AsyncClient, container: Container
) -> None:
    username = f.unique()
    core = json.dumps({"username": username, "password": f.PASSWORD})
    padded = core[:-1] + " " * (container.settings.max_body_bytes - len(core) - 10) + "}"
    assert len(padded.encode()) < container.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        data = padded.encode()
        for i in range(0, len(data), 4096):
            yield data[i : i + 4096]

    r = await client.post(
        "/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["username"] == username


@pytest.fixture
async def crashing_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """A separate app instance with throwaway routes that fail on purpose."""
    app = create_app(container=container)

    async def boom() -> None:
        raise RuntimeError("SECRET-internal-detail: password=hunter2 at /srv/app/db.py")

    async def boom_with_body(request: Request) -> JSONResponse:
        await request.json()
        raise KeyError("SECRET-internal-key")

    app.add_api_route("/__test__/boom", boom, methods=["GET"])
    app.add_api_route("/__test__/boom", boom_with_body, methods=["POST"])
    transport = httpx.ASGITransport(app=app, client=(random_ip(), 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_unhandled_exception_is_a_500_problem_without_internals(
    crashing_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        r = await crashing_client.get("/__test__/boom")
    body = assert_problem(r, 500, "internal_error")
    assert body["request_id"].startswith("req_")
    for leak in ("SECRET", "hunter2", "RuntimeError", "Traceback", "db.py", "/srv/"):
        assert leak not in r.text
    # The details go to the log instead, with the request id to find them.
    assert any("SECRET-internal-detail" in str(rec.exc_info) for rec in caplog.records)

    r = await crashing_client.post(
        "/__test__/boom", json={"x": 1}, headers={"X-Request-Id": "trace-500-abc"}
    )
    body = assert_problem(r, 500, "internal_error")
    assert body["request_id"] == "trace-500-abc"
    assert "SECRET" not in r.text and "KeyError" not in r.text


async def test_crash_does_not_break_the_next_request(crashing_client: httpx.AsyncClient) -> None:
    for _ in range(3):
        r = await crashing_client.get("/__test__/boom")
        assert r.status_code == 500
    r = await crashing_client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


# --- X-Request-Id -----------------------------------------------------------------------------


async def test_valid_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    for rid in ("abc-123", "0f8e2b1c-5b7a-4c1e-9a2d-3f4e5d6c7b8a", "svc.a:span_9", "x" * 64):
        r = await client.get("/healthz", headers={"X-Request-Id": rid})
        assert r.headers["x-request-id"] == rid
        r = await client.get("/nope", headers={"X-Request-Id": rid})
        assert r.json()["request_id"] == rid


async def test_missing_request_id_is_generated(client: httpx.AsyncClient) -> None:
    r1 = await client.get("/healthz")
    r2 = await client.get("/healthz")
    for r in (r1, r2):
        assert re.fullmatch(r"req_[0-9a-z]{26}", r.headers["x-request-id"]), r.headers
    assert r1.headers["x-request-id"] != r2.headers["x-request-id"]


@pytest.mark.parametrize(
    "bad", ["x" * 65, "has space", "semi;colon", "<script>", "a/b", "ü-nicode", ""]
)
async def test_invalid_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    r = await client.get("/nope", headers={"X-Request-Id": bad.encode("utf-8")})
    rid = r.headers["x-request-id"]
    assert rid != bad
    assert re.fullmatch(r"req_[0-9a-z]{26}", rid)
    assert r.json()["request_id"] == rid


async def test_request_id_reaches_the_audit_log(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    rid = f"trace-{secrets.token_hex(6)}"
    r = await client.patch(
        f"/merchant/shops/{shop['id']}",
        json={"name": "Renamed Shop"},
        headers={**u.h, "X-Request-Id": rid},
    )
    assert r.status_code == 200, r.text
    r = await client.get(
        f"/merchant/shops/{shop['id']}/audit-log", params={"action": "shop.updated"}
    )
    assert r.status_code == 200, r.text
    assert [e["request_id"] for e in r.json()["data"]] == [rid]


async def test_access_log_is_json_and_carries_the_request_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("uvicorn.access").disabled)
    try:
        configure_logging("INFO")
        r = await client.get("/healthz", headers={"X-Request-Id": "log-check-123"})
        assert r.status_code == 200
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("uvicorn.access").disabled = saved[2]
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    access = [
        rec
        for rec in lines
        if rec.get("logger") == "minishop.access" and rec.get("request_id") == "log-check-123"
    ]
    assert len(access) == 1, lines
    assert access[0]["route"] == "/healthz"
    assert access[0]["status"] == 200
    assert access[0]["level"] == "INFO"


# --- health, readiness, metrics ---------------------------------------------------------------


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def _metric(text: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if "{" in head:
            metric, _, raw = head.partition("{")
            found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', raw))
        else:
            metric, found = head, {}
        if metric == name and all(found.get(k) == v for k, v in (labels or {}).items()):
            return float(value)
    return None


async def test_metrics_by_route_template_in_flight_and_pool(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    labels = {"method": "GET", "route": "/merchant/shops/{shop_id}", "status": "200"}
    before = _metric((await client.get("/metrics")).text, "minishop_http_requests_total", labels)
    for _ in range(3):
        assert (await client.get(f"/merchant/shops/{shop['id']}")).status_code == 200
    junk = f"/no/such/{secrets.token_hex(6)}"
    assert (await client.get(junk)).status_code == 404

    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    after = _metric(text, "minishop_http_requests_total", labels)
    assert after is not None
    assert after - (before or 0.0) == 3
    # Labels are route templates, never concrete ids or unmatched paths.
    assert shop["id"] not in text
    assert junk not in text
    assert _metric(text, "minishop_http_requests_total", {"route": "unmatched"}) is not None
    duration = _metric(
        text,
        "minishop_http_request_duration_seconds_count",
        {"method": "GET", "route": "/merchant/shops/{shop_id}"},
    )
    assert duration is not None and duration >= 3
    # The /metrics request itself is in flight while it is served.
    in_flight = _metric(text, "minishop_http_requests_in_flight")
    assert in_flight is not None and in_flight >= 1
    for gauge in (
        "minishop_db_pool_size",
        "minishop_db_pool_checked_out",
        "minishop_db_pool_checked_in",
        "minishop_db_pool_overflow",
    ):
        assert _metric(text, gauge) is not None, gauge


# --- cursor pagination ------------------------------------------------------------------------


async def test_limit_out_of_bounds_is_a_422(client: httpx.AsyncClient) -> None:
    await f.user(client)
    for limit in ("0", "-1", "101", "1000", "abc", ""):
        r = await client.get("/merchant/shops", params={"limit": limit})
        body = assert_problem(r, 422, "validation_error")
        assert body["errors"][0]["loc"] == ["query", "limit"], limit


async def test_limit_bounds_are_inclusive(client: httpx.AsyncClient) -> None:
    await f.user(client)
    for limit in ("1", "100"):
        r = await client.get("/merchant/shops", params={"limit": limit})
        assert r.status_code == 200, r.text
        assert r.json() == {"data": [], "next_cursor": None}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS = [
    "!!!not-base64!!!",
    "a",
    _b64(b"not json"),
    _b64(b'{"id": "shop_1"}'),
    _b64(b"[]"),
    _b64(b"[1, 2]"),
    _b64(b'"shop_1"'),
    _b64(b"\xff\xfe\xfd"),
]


async def test_invalid_cursor_is_a_400(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    for cursor in BAD_CURSORS:
        for path in (
            "/merchant/shops",
            f"/merchant/shops/{shop['id']}/members",
            f"/merchant/shops/{shop['id']}/audit-log",
        ):
            r = await client.get(path, params={"cursor": cursor})
            assert_problem(r, 400, "invalid_cursor")


async def test_overlong_cursor_is_a_422(client: httpx.AsyncClient) -> None:
    await f.user(client)
    r = await client.get("/merchant/shops", params={"cursor": "A" * 513})
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", "cursor"]


async def _walk(
    client: httpx.AsyncClient, path: str, limit: int, **params: str
) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = {"limit": str(limit), **params}
        if cursor:
            query["cursor"] = cursor
        r = await client.get(path, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"data", "next_cursor"}
        assert len(body["data"]) <= limit
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor
        assert len(pages) < 100, "pagination does not end"


async def test_members_pages_return_every_member_exactly_once(
    client: httpx.AsyncClient, new_client: Any
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    roles = ["admin", "operator", "customer_service", "finance", "operator", "finance", "admin"]
    expected = {owner.id}
    for role in roles:
        account = await f.register(new_client())
        r = await client.post(
            f"/merchant/shops/{shop['id']}/members",
            json={"username": account["username"], "role": role},
            headers=owner.h,
        )
        assert r.status_code == 201, r.text
        expected.add(account["id"])
    assert len(expected) == 8
    path = f"/merchant/shops/{shop['id']}/members"
    everything = (await _walk(client, path, 100))[0]
    assert {m["account_id"] for m in everything} == expected
    for limit in (1, 2, 3, 7, 8):
        pages = await _walk(client, path, limit)
        seen = [m["account_id"] for page in pages for m in page]
        assert len(seen) == len(set(seen)) == 8, (limit, seen)
        assert set(seen) == expected
        assert seen == [m["account_id"] for m in everything]  # a stable order
        assert all(len(p) == limit for p in pages[:-1])


async def test_audit_log_pages_are_stable_while_entries_are_added(
    client: httpx.AsyncClient,
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    path = f"/merchant/shops/{shop['id']}/audit-log"
    for i in range(6):
        r = await client.patch(
            f"/merchant/shops/{shop['id']}", json={"name": f"Shop name {i}"}, headers=owner.h
        )
        assert r.status_code == 200, r.text
    everything = (await _walk(client, path, 100))[0]
    assert len(everything) >= 7
    ids = [e["id"] for e in everything]
    times = [e["created_at"] for e in everything]
    assert times == sorted(times, reverse=True)  # newest first

    # Walk two entries at a time while new entries keep arriving: the walk still returns
    # each entry that existed when it started exactly once, and never repeats one.
    seen: list[str] = []
    cursor: str | None = None
    n = 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = (await client.get(path, params=params)).json()
        seen += [e["id"] for e in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        n += 1
        r = await client.patch(
            f"/merchant/shops/{shop['id']}", json={"name": f"Moving target {n}"}, headers=owner.h
        )
        assert r.status_code == 200, r.text
    assert len(seen) == len(set(seen))
    assert seen == ids

    # Filters combine with the cursor.
    pages = await _walk(client, path, 3, action="shop.updated")
    updated = [e for page in pages for e in page]
    assert len(updated) == 6 + n
    assert {e["action"] for e in updated} == {"shop.updated"}


# --- ETag / If-Match ------------------------------------------------------------------------


async def test_etag_and_if_match_on_shop_update(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    url = f"/merchant/shops/{shop['id']}"
    r = await client.get(url)
    etag = r.headers["etag"]
    assert etag == f'"{r.json()["version"]}"'

    r = await client.patch(url, json={"name": "First Rename"}, headers={**u.h, "If-Match": etag})
    assert r.status_code == 200, r.text
    new_etag = r.headers["etag"]
    assert new_etag != etag
    assert new_etag == f'"{r.json()["version"]}"'
    assert r.json()["name"] == "First Rename"

    # A writer holding the old ETag is refused and changes nothing.
    r = await client.patch(url, json={"name": "Lost Update"}, headers={**u.h, "If-Match": etag})
    assert_problem(r, 412, "precondition_failed")
    r = await client.get(url)
    assert r.json()["name"] == "First Rename"
    assert r.headers["etag"] == new_etag

    # Weak form of the current ETag, and `*`, are accepted.
    r = await client.patch(
        url, json={"name": "Second Rename"}, headers={**u.h, "If-Match": f"W/{new_etag}"}
    )
    assert r.status_code == 200, r.text
    r = await client.patch(url, json={"name": "Third Rename"}, headers={**u.h, "If-Match": "*"})
    assert r.status_code == 200, r.text
    # Without If-Match the update is unconditional.
    r = await client.patch(url, json={"name": "Fourth Rename"}, headers=u.h)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == int(new_etag.strip('"')) + 3


async def test_malformed_if_match_is_a_412(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    url = f"/merchant/shops/{shop['id']}"
    for value in ("3", "abc", '"abc"', '"1", "2"', "W/", '""', '"-1"', '"1'):
        r = await client.patch(
            url, json={"name": "Never Applied"}, headers={**u.h, "If-Match": value}
        )
        assert_problem(r, 412, "precondition_failed")
    r = await client.get(url)
    assert r.json()["name"] == shop["name"]
    assert r.headers["etag"] == f'"{shop["version"]}"'
