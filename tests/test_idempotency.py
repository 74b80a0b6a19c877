"""`Idempotency-Key`: replays, conflicts, concurrency, caller scoping, expiry, what is stored."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.responses import JSONResponse

from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.main import create_app
from app.worker import housekeeping
from tests import factories as f
from tests.conftest import random_ip
from tests.oauth_support import authorized

IK = "Idempotency-Key"


def key() -> str:
    return f"ik-{secrets.token_hex(12)}"


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["request_id"] == r.headers["x-request-id"]
    return dict(body)


async def scalar(container: Container, stmt: Any) -> Any:
    async with container.engine.connect() as conn:
        return (await conn.execute(stmt)).scalar_one()


async def shops_owned(container: Container, account_id: str) -> int:
    m = tables.shop_members
    return int(
        await scalar(
            container,
            sa.select(sa.func.count()).where(m.c.account_id == account_id, m.c.role == "owner"),
        )
    )


async def accounts_named(container: Container, username: str) -> int:
    a = tables.accounts
    return int(await scalar(container, sa.select(sa.func.count()).where(a.c.username == username)))


async def audit_rows(container: Container, shop_id: str) -> int:
    a = tables.audit_log
    return int(await scalar(container, sa.select(sa.func.count()).where(a.c.shop_id == shop_id)))


async def scope_keys(container: Container) -> set[str]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(tables.idempotency_keys.c.scope_key))
        return {r[0] for r in rows}


async def update_key_row(container: Container, scope_key: str, **values: Any) -> None:
    t = tables.idempotency_keys
    async with container.engine.begin() as conn:
        res = await conn.execute(sa.update(t).where(t.c.scope_key == scope_key).values(**values))
        assert res.rowcount == 1


async def run_and_find_row(container: Container, coro: Any) -> tuple[httpx.Response, str]:
    """Send one request and return it with the idempotency row it created."""
    before = await scope_keys(container)
    r = await coro
    new = await scope_keys(container) - before
    assert len(new) == 1, new
    return r, new.pop()


def shop_body(subject_type: str = "personal") -> dict[str, str]:
    return {"name": f"Shop {secrets.token_hex(3)}", "subject_type": subject_type}


# --- replays ----------------------------------------------------------------------------------


async def test_replay_returns_the_first_response_and_creates_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    k = key()
    body = shop_body()
    first = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    shop_id = first.json()["id"]
    assert await shops_owned(container, u.id) == 1
    audits = await audit_rows(container, shop_id)
    keys_before = await scope_keys(container)

    for _ in range(2):
        again = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
        assert again.json()["id"] == shop_id
        assert again.headers["content-type"] == first.headers["content-type"]
        assert (
            again.headers["location"] == first.headers["location"] == f"/merchant/shops/{shop_id}"
        )
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["x-request-id"] != first.headers["x-request-id"]

    assert await shops_owned(container, u.id) == 1
    assert await audit_rows(container, shop_id) == audits
    assert await scope_keys(container) == keys_before
    # Without the key the same body is a new request (and the personal-shop limit applies).
    r = await client.post("/merchant/shops", json=body, headers=u.h)
    assert_problem(r, 409, "shop_limit_reached")


async def test_register_replay_without_a_session(
    client: httpx.AsyncClient, container: Container
) -> None:
    k = key()
    body = {"username": f.unique(), "password": f.PASSWORD}
    first = await client.post("/auth/register", json=body, headers={IK: k})
    assert first.status_code == 201, first.text
    again = await client.post("/auth/register", json=body, headers={IK: k})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await accounts_named(container, body["username"]) == 1
    # The same body without the key runs and meets the uniqueness rule.
    r = await client.post("/auth/register", json=body)
    assert_problem(r, 409, "username_taken")


async def test_same_key_with_another_body_or_path_is_a_422(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    k = key()
    body = shop_body("enterprise")
    first = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert first.status_code == 201, first.text

    other = {**body, "name": "Another Name"}
    r = await client.post("/merchant/shops", json=other, headers={**u.h, IK: k})
    problem = assert_problem(r, 422, "idempotency_key_reused")
    assert "idempotent-replayed" not in r.headers
    assert problem["detail"]
    # Same bytes, other route or method: also a different request.
    r = await client.patch(
        f"/merchant/shops/{first.json()['id']}", json=body, headers={**u.h, IK: k}
    )
    assert_problem(r, 422, "idempotency_key_reused")
    r = await client.post("/merchant/shops?x=1", json=body, headers={**u.h, IK: k})
    assert_problem(r, 422, "idempotency_key_reused")
    assert await shops_owned(container, u.id) == 1
    # The original request still replays.
    r = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert r.status_code == 201
    assert r.headers["idempotent-replayed"] == "true"


# --- concurrency ------------------------------------------------------------------------------


async def test_a_second_request_while_the_first_runs_waits_then_replays(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hold the first request as it records its response, uncommitted: a second request with
    the key waits for it (on its claim), then replays what it committed; it never runs."""
    u = await f.user(client)
    store = container.idempotency
    original_complete, original_claim = store.complete, store.claim
    entered, release, second_claims = asyncio.Event(), asyncio.Event(), asyncio.Event()
    claims = 0

    async def held_complete(*args: Any, **kwargs: Any) -> None:
        await original_complete(*args, **kwargs)
        entered.set()
        await release.wait()

    async def counted_claim(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        if claims == 2:
            second_claims.set()
        return await original_claim(*args, **kwargs)

    monkeypatch.setattr(store, "complete", held_complete)
    monkeypatch.setattr(store, "claim", counted_claim)
    k = key()
    body = shop_body()
    first = asyncio.create_task(client.post("/merchant/shops", json=body, headers={**u.h, IK: k}))
    try:
        await asyncio.wait_for(entered.wait(), timeout=10)
        second = asyncio.create_task(
            client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
        )
        # PostgreSQL: the second reaches its claim and waits there. SQLite: it waits for the
        # one writer sooner, authenticating (never signalled); either way it must not run.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(second_claims.wait(), timeout=2)
    finally:
        release.set()
    r1 = await asyncio.wait_for(first, timeout=20)
    r2 = await asyncio.wait_for(second, timeout=20)
    assert r1.status_code == 201, r1.text
    assert "idempotent-replayed" not in r1.headers
    assert r2.status_code == 201, r2.text
    assert r2.headers["idempotent-replayed"] == "true"
    assert r2.json() == r1.json()
    monkeypatch.undo()

    # Another body is a misuse of the key.
    other = await client.post("/merchant/shops", json=shop_body(), headers={**u.h, IK: k})
    assert_problem(other, 422, "idempotency_key_reused")
    assert await shops_owned(container, u.id) == 1


async def test_in_progress_claim_blocks_then_a_stale_one_is_taken_over(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A claim whose request never finished holds for its lock time, then can be taken over."""
    u = await f.user(client)
    k = key()
    body = shop_body("enterprise")
    first, row = await run_and_find_row(
        container, client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    )
    assert first.status_code == 201, first.text

    # Pretend the first request is still running.
    now = utcnow()
    await update_key_row(
        container,
        row,
        state="in_progress",
        locked_until=now + timedelta(seconds=60),
        response_status=None,
        response_headers=None,
        response_body=None,
    )
    r = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert_problem(r, 409, "idempotency_key_in_use")
    assert await shops_owned(container, u.id) == 1

    # Its lock ran out (the process died): the next request with the key runs.
    await update_key_row(container, row, locked_until=now - timedelta(seconds=1))
    r = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers
    assert r.json()["id"] != first.json()["id"]
    assert await shops_owned(container, u.id) == 2
    r2 = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert r2.headers["idempotent-replayed"] == "true"
    assert r2.json() == r.json()


async def test_concurrent_requests_with_one_key_run_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    k = key()
    body = shop_body()
    responses = await asyncio.gather(
        *(client.post("/merchant/shops", json=body, headers={**u.h, IK: k}) for _ in range(6))
    )
    ran = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(ran) == 1, [(r.status_code, r.text) for r in responses]
    for r in responses:
        if r is ran[0]:
            continue
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_key_in_use"
        else:
            assert r.status_code == 201
            assert r.headers["idempotent-replayed"] == "true"
            assert r.content == ran[0].content
    assert await shops_owned(container, u.id) == 1


# --- the route, the method and the caller come before the key ---------------------------------


async def test_a_used_key_does_not_hide_404_or_405(
    client: httpx.AsyncClient, container: Container
) -> None:
    """The key is looked at only for a request that reaches an operation: another method on
    the path is a 405 (with the path's methods), an unknown path a 404, whatever the key."""
    u = await f.user(client)
    k = key()
    body = shop_body()
    first = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert first.status_code == 201, first.text
    keys_before = await scope_keys(container)

    for method, path, allow in (
        ("PUT", "/merchant/shops", {"GET", "POST"}),
        ("PUT", "/v1/apps", {"GET", "POST"}),
        ("DELETE", "/v1/apps", {"GET", "POST"}),
    ):
        r = await client.request(method, path, json=body, headers={**u.h, IK: k})
        assert_problem(r, 405, "method_not_allowed")
        assert {m.strip() for m in r.headers["allow"].split(",")} == allow
        assert "idempotent-replayed" not in r.headers
    for path in (f"/v1/no-such-route-{secrets.token_hex(3)}", "/merchant/shop"):
        r = await client.post(path, json=body, headers={**u.h, IK: k})
        assert_problem(r, 404, "not_found")
        # Even a malformed key: there is no operation to take it.
        r = await client.post(path, json=body, headers={**u.h, IK: "has space"})
        assert_problem(r, 404, "not_found")
    assert await scope_keys(container) == keys_before

    # The key still belongs to its first request, which replays.
    again = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await shops_owned(container, u.id) == 1


async def test_a_used_key_does_not_hide_401(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A caller without the credential the operation takes is refused by the operation (401),
    never matched against keys it used with another credential (or none)."""
    # An anonymous caller uses the key to register, then calls a merchant operation with it.
    k = key()
    r = await client.post(
        "/auth/register", json={"username": f.unique(), "password": f.PASSWORD}, headers={IK: k}
    )
    assert r.status_code == 201, r.text
    keys_before = await scope_keys(container)
    r = await client.post("/merchant/shops", json=shop_body(), headers={IK: k})
    assert_problem(r, 401, "session_required")
    assert "idempotent-replayed" not in r.headers

    # A merchant uses a key, then calls a provider operation with it and no bearer token.
    u = await f.user(client)
    k = key()
    body = shop_body()
    first = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert first.status_code == 201, first.text
    keys_before = await scope_keys(container)
    for path in ("/v1/products", "/v1/stock/batch"):
        r = await client.post(path, json=body, headers={**u.h, IK: k})
        assert r.status_code == 401, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert "idempotent-replayed" not in r.headers
    r = await client.patch("/v1/shop", json=body, headers={**u.h, IK: k})
    assert r.status_code == 401, r.text
    assert await scope_keys(container) == keys_before
    again = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_used_key_does_not_hide_a_missing_scope(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A provider token without the operation's scope is refused by the operation (403
    `insufficient_scope`), not matched against its grant's keys; with the scope it replays."""
    auth = await authorized(client, scope="shop:read shop:write")
    k = key()
    patch = {"name": f"Shop {secrets.token_hex(3)}"}
    first = await client.patch("/v1/shop", json=patch, headers={**auth.bearer, IK: k})
    assert first.status_code == 200, first.text
    keys_before = await scope_keys(container)
    r = await client.post("/v1/products", json={"title": "Tea"}, headers={**auth.bearer, IK: k})
    assert_problem(r, 403, "insufficient_scope")
    assert await scope_keys(container) == keys_before
    again = await client.patch("/v1/shop", json=patch, headers={**auth.bearer, IK: k})
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


# --- scope, key format ------------------------------------------------------------------------


async def test_keys_are_scoped_per_caller(
    client: httpx.AsyncClient, new_client: Any, container: Container
) -> None:
    a = await f.user(client)
    b = await f.user(new_client())
    k = key()
    body = shop_body()
    ra = await a.client.post("/merchant/shops", json=body, headers={**a.h, IK: k})
    rb = await b.client.post("/merchant/shops", json=body, headers={**b.h, IK: k})
    assert ra.status_code == rb.status_code == 201
    assert "idempotent-replayed" not in rb.headers
    assert ra.json()["id"] != rb.json()["id"]
    assert await shops_owned(container, a.id) == 1
    assert await shops_owned(container, b.id) == 1
    # B never sees A's response, even with A's exact request.
    rb2 = await b.client.post("/merchant/shops", json=body, headers={**b.h, IK: k})
    assert rb2.json()["id"] == rb.json()["id"]

    # Anonymous callers (registration) are kept apart too.
    c1, c2 = new_client(), new_client()
    u1 = {"username": f.unique(), "password": f.PASSWORD}
    u2 = {"username": f.unique(), "password": f.PASSWORD}
    r1 = await c1.post("/auth/register", json=u1, headers={IK: k})
    r2 = await c2.post("/auth/register", json=u2, headers={IK: k})
    assert r1.status_code == r2.status_code == 201, (r1.text, r2.text)
    assert r1.json()["username"] == u1["username"]
    assert r2.json()["username"] == u2["username"]


async def test_a_new_session_of_the_same_account_replays(
    client: httpx.AsyncClient, new_client: Any, container: Container
) -> None:
    """Keys belong to the account, not to the cookie: a re-login (or another device) of the
    same account gets the stored response instead of running the request twice."""
    u = await f.user(client)
    k = key()
    body = shop_body("enterprise")
    r = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert r.status_code == 201
    csrf = await f.login(client, username=u.username)
    r2 = await client.post("/merchant/shops", json=body, headers={"X-CSRF-Token": csrf, IK: k})
    assert r2.status_code == 201
    assert r2.headers["idempotent-replayed"] == "true"
    assert r2.json() == r.json()
    other_device = new_client()
    csrf = await f.login(other_device, username=u.username)
    r3 = await other_device.post(
        "/merchant/shops", json=body, headers={"X-CSRF-Token": csrf, IK: k}
    )
    assert r3.headers["idempotent-replayed"] == "true"
    assert await shops_owned(container, u.id) == 1


async def test_only_a_verified_session_may_replay(
    client: httpx.AsyncClient, new_client: Any, container: Container
) -> None:
    """The caller is checked before a replay: a revoked cookie, or a live cookie without its
    CSRF token, gets the route's own 401/403, never the stored response."""
    u = await f.user(client)
    k = key()
    body = shop_body()
    first = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert first.status_code == 201
    token = client.cookies.get("minishop_session")
    assert token

    # A live session without (or with a wrong) CSRF token: the route refuses it.
    for headers in ({IK: k}, {IK: k, "X-CSRF-Token": "wrong"}):
        r = await client.post("/merchant/shops", json=body, headers=headers)
        assert_problem(r, 403, "csrf_failed")
        assert "idempotent-replayed" not in r.headers

    # After logout the old cookie is worth nothing, replay or not.
    assert (await client.post("/auth/logout", headers=u.h)).status_code == 204
    stolen = new_client()
    stolen.cookies.set("minishop_session", token)
    for headers in ({IK: k}, {IK: k, "X-CSRF-Token": u.csrf}):
        r = await stolen.post("/merchant/shops", json=body, headers=headers)
        assert_problem(r, 401, "session_required")
        assert "idempotent-replayed" not in r.headers
    # A made-up cookie neither.
    forged = new_client()
    forged.cookies.set("minishop_session", "mss_" + secrets.token_urlsafe(32))
    r = await forged.post("/merchant/shops", json=body, headers={IK: k, "X-CSRF-Token": u.csrf})
    assert_problem(r, 401, "session_required")
    assert await shops_owned(container, u.id) == 1

    # Logged in again, the account replays its own response.
    csrf = await f.login(client, username=u.username)
    r = await client.post("/merchant/shops", json=body, headers={"X-CSRF-Token": csrf, IK: k})
    assert r.status_code == 201
    assert r.headers["idempotent-replayed"] == "true"
    assert r.json() == first.json()


async def test_bearer_credentials_are_scoped_to_themselves(
    client: httpx.AsyncClient, container: Container
) -> None:
    """Until OAuth lands nothing accepts a bearer token: the request reaches the route (401)
    and nothing is stored, whatever the key."""
    before = await scope_keys(container)
    for auth in ("Bearer abc", "Basic dXNlcjpwYXNz"):
        r = await client.post(
            "/merchant/shops", json=shop_body(), headers={IK: key(), "Authorization": auth}
        )
        assert_problem(r, 401, "session_required")
    assert await scope_keys(container) == before


async def test_invalid_key_is_a_400_and_nothing_runs(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    before = await f.db_fingerprint(container)
    for bad in (b"k" * 256, b"k" * 300, b"", b"has space", b"tab\tkey", "ключ".encode(), b"a\x7fb"):
        r = await client.post("/merchant/shops", json=shop_body(), headers={**u.h, IK: bad})
        assert_problem(r, 400, "invalid_idempotency_key")
    assert await f.db_fingerprint(container) == before


async def test_longest_valid_key_is_accepted(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    k = secrets.token_hex(127) + "~"
    assert len(k) == 255
    body = shop_body()
    r = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert r.status_code == 201, r.text
    r = await client.post("/merchant/shops", json=body, headers={**u.h, IK: k})
    assert r.headers["idempotent-replayed"] == "true"
    assert await shops_owned(container, u.id) == 1


async def test_reads_ignore_the_header(client: httpx.AsyncClient, container: Container) -> None:
    await f.user(client)
    before = await scope_keys(container)
    for value in ("k" * 300, key()):
        r = await client.get("/auth/me", headers={IK: value})
        assert r.status_code == 200
        assert "idempotent-replayed" not in r.headers
    assert await scope_keys(container) == before


# --- what is stored ---------------------------------------------------------------------------


@pytest.fixture
async def flaky_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """A separate app with routes that fail the first time and succeed afterwards."""
    app = create_app(container=container)
    calls = {"status": 0, "crash": 0}

    async def fails_with_503() -> JSONResponse:
        calls["status"] += 1
        if calls["status"] == 1:
            return JSONResponse({"error": "busy"}, status_code=503)
        return JSONResponse({"call": calls["status"]}, status_code=201)

    async def crashes() -> JSONResponse:
        calls["crash"] += 1
        if calls["crash"] == 1:
            raise RuntimeError("boom")
        return JSONResponse({"call": calls["crash"]}, status_code=201)

    app.add_api_route("/__test__/status", fails_with_503, methods=["POST"])
    app.add_api_route("/__test__/crash", crashes, methods=["POST"])
    transport = httpx.ASGITransport(app=app, client=(random_ip(), 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.mark.parametrize("path", ["/__test__/status", "/__test__/crash"])
async def test_server_errors_are_not_stored(
    flaky_client: httpx.AsyncClient, container: Container, path: str
) -> None:
    k = key()
    before = await scope_keys(container)
    r = await flaky_client.post(path, json={"a": 1}, headers={IK: k})
    assert r.status_code >= 500
    assert await scope_keys(container) == before  # the claim was released
    r = await flaky_client.post(path, json={"a": 1}, headers={IK: k})
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers
    assert r.json() == {"call": 2}
    r = await flaky_client.post(path, json={"a": 1}, headers={IK: k})
    assert r.headers["idempotent-replayed"] == "true"
    assert r.json() == {"call": 2}


async def test_refused_bodies_do_not_claim_the_key(
    client: httpx.AsyncClient, container: Container
) -> None:
    """413 and 415 are decided before the key is looked at: the key stays free."""
    k = key()
    before = await scope_keys(container)
    limit = container.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 8192 + 2):
            yield b" " * 8192

    r = await client.post(
        "/auth/register",
        content=chunks(),
        headers={IK: k, "Content-Type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")
    r = await client.post(
        "/auth/register",
        content=b"x" * (limit + 1),
        headers={IK: k, "Content-Type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")
    r = await client.post(
        "/auth/register", content=b"{}", headers={IK: k, "Content-Type": "text/plain"}
    )
    assert_problem(r, 415, "unsupported_media_type")
    assert await scope_keys(container) == before
    body = {"username": f.unique(), "password": f.PASSWORD}
    r = await client.post("/auth/register", json=body, headers={IK: k})
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers


async def test_unauthenticated_responses_are_not_stored(
    client: httpx.AsyncClient, container: Container
) -> None:
    # No session: 401, and trying again is evaluated again.
    k = key()
    before = await scope_keys(container)
    body = shop_body()
    for _ in range(2):
        r = await client.post("/merchant/shops", json=body, headers={IK: k})
        assert_problem(r, 401, "session_required")
        assert "idempotent-replayed" not in r.headers
    assert await scope_keys(container) == before

    # A failed login does not pin the key: the corrected attempt runs.
    account = await f.register(client)
    k = key()
    wrong = {"username": account["username"], "password": "not-the-password-1"}
    r = await client.post("/auth/login", json=wrong, headers={IK: k})
    assert_problem(r, 401, "invalid_credentials")
    right = {"username": account["username"], "password": f.PASSWORD}
    r = await client.post("/auth/login", json=right, headers={IK: k})
    assert r.status_code == 200, r.text
    assert "idempotent-replayed" not in r.headers


# --- expiry and the store itself --------------------------------------------------------------


async def test_an_expired_key_is_taken_over(
    client: httpx.AsyncClient, container: Container
) -> None:
    k = key()
    first_body = {"username": f.unique(), "password": f.PASSWORD}
    first, row = await run_and_find_row(
        container, client.post("/auth/register", json=first_body, headers={IK: k})
    )
    assert first.status_code == 201, first.text
    r = await client.post(
        "/auth/register", json={**first_body, "username": f.unique()}, headers={IK: k}
    )
    assert_problem(r, 422, "idempotency_key_reused")

    await update_key_row(container, row, expires_at=utcnow() - timedelta(seconds=1))
    second_body = {"username": f.unique(), "password": f.PASSWORD}
    r = await client.post("/auth/register", json=second_body, headers={IK: k})
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers
    assert r.json()["username"] == second_body["username"]
    r2 = await client.post("/auth/register", json=second_body, headers={IK: k})
    assert r2.headers["idempotent-replayed"] == "true"
    assert r2.json() == r.json()
    assert await accounts_named(container, second_body["username"]) == 1


async def test_keys_are_kept_for_the_configured_ttl(
    client: httpx.AsyncClient, container: Container
) -> None:
    assert container.settings.idempotency_ttl_seconds == 24 * 3600
    t = tables.idempotency_keys
    _, row = await run_and_find_row(
        container,
        client.post(
            "/auth/register",
            json={"username": f.unique(), "password": f.PASSWORD},
            headers={IK: key()},
        ),
    )
    async with container.engine.connect() as conn:
        stored = (await conn.execute(sa.select(t).where(t.c.scope_key == row))).one()
    assert stored.state == "completed"
    assert stored.response_status == 201
    lifetime = stored.expires_at - stored.created_at
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24, seconds=1)


async def test_store_claim_lifecycle(container: Container) -> None:
    store = container.idempotency
    sk = secrets.token_hex(32)
    req = ("a" * 64, "POST", "/x")
    # A claim lives in its transaction: not committed, it is gone.
    async with container.uow() as uow:
        assert (await store.claim(uow, sk, *req)).outcome == "new"
    assert sk not in await scope_keys(container)

    # Committed with its response, in one transaction.
    async with container.uow() as uow:
        assert (await store.claim(uow, sk, *req)).outcome == "new"
        await store.complete(uow, sk, req, 201, {"content-type": "application/json"}, b"{}")
        await uow.commit()
    async with container.uow() as uow:
        replay = await store.claim(uow, sk, *req)
        assert replay.outcome == "replay"
        assert (replay.status, replay.headers, replay.body) == (
            201,
            {"content-type": "application/json"},
            b"{}",
        )
        assert (await store.claim(uow, sk, "b" * 64, "POST", "/x")).outcome == "mismatch"

    # Expired: a new request takes the key over, whatever its body.
    await update_key_row(container, sk, expires_at=utcnow() - timedelta(seconds=1))
    async with container.uow() as uow:
        assert (await store.claim(uow, sk, "c" * 64, "POST", "/x")).outcome == "new"
        await store.complete(uow, sk, req, 200, {}, b"")
        await uow.commit()
    # An in-progress row committed on its own (an older version's claim) holds for its lock
    # time, then is taken over.
    await update_key_row(
        container, sk, state="in_progress", locked_until=utcnow() + timedelta(seconds=60)
    )
    async with container.uow() as uow:
        assert (await store.claim(uow, sk, "c" * 64, "POST", "/x")).outcome == "in_progress"
    await update_key_row(container, sk, locked_until=utcnow() - timedelta(seconds=1))
    async with container.uow() as uow:
        assert (await store.claim(uow, sk, "c" * 64, "POST", "/x")).outcome == "new"
        await store.complete(uow, sk, req, 200, {}, b"")
        await uow.commit()
    # Housekeeping removes expired rows only.
    await housekeeping(container.engine)
    assert sk in await scope_keys(container)
    await update_key_row(container, sk, expires_at=utcnow() - timedelta(seconds=1))
    assert (await housekeeping(container.engine))["idempotency_keys"] >= 1
    assert sk not in await scope_keys(container)


async def test_store_claims_race_to_one_winner(container: Container) -> None:
    """Eight transactions claim one key at once: one runs, the others wait for its commit and
    replay it."""
    store = container.idempotency
    sk = secrets.token_hex(32)
    req = ("e" * 64, "POST", "/race")

    async def attempt() -> str:
        async with container.uow() as uow:
            claim = await store.claim(uow, sk, *req)
            if claim.outcome == "new":
                await store.complete(uow, sk, req, 201, {}, b"won")
                await uow.commit()
            return claim.outcome

    outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sorted(outcomes) == ["new"] + ["replay"] * 7


async def test_caller_resolver_branches() -> None:
    from app.api.idempotency import Credentials, caller_resolver

    seen: list[tuple[str, str | None]] = []

    async def session_account(scope: Any, token: str, csrf: str | None) -> str | None:
        assert scope is request_scope
        seen.append((token, csrf))
        return "acct_1" if (token, csrf) == ("good", "csrf") else None

    async def bearer_grant(scope: Any, token: str) -> tuple[str, frozenset[str]] | None:
        assert scope is request_scope
        grants = {"t1": "grant_1", "t1-refreshed": "grant_1", "t2": "grant_2"}
        return (grants[token], frozenset({"shop:read"})) if token in grants else None

    async def buyer_account(scope: Any, token: str) -> tuple[str, Any] | None:
        assert scope is request_scope
        account = {"b1": "acct_9", "b1-renewed": "acct_9"}.get(token)
        return (account, None) if account else None

    request_scope: dict[str, Any] = {"type": "http"}
    resolver = caller_resolver(
        session_account,
        bearer_grant,
        buyer_account,
        session_scheme="session",
        bearer_scheme="oauth",
        buyer_scheme="buyer",
    )

    async def resolve(credentials: Credentials, requirements: Any) -> str | None:
        caller = await resolver(request_scope, credentials, requirements)
        return None if caller is None else caller.name

    none: frozenset[str] = frozenset()
    public: dict[str, frozenset[str]] = {}
    merchant = {"session": none, "csrf": none}
    provider = {"oauth": frozenset({"shop:read"})}

    def creds(**kw: Any) -> Credentials:
        base: dict[str, Any] = {
            "authorization": None,
            "session_token": None,
            "csrf_token": None,
            "client_ip": "10.0.0.1",
        }
        return Credentials(**{**base, **kw})

    good_session = creds(session_token="good", csrf_token="csrf")
    assert await resolve(good_session, merchant) == "account:acct_1"
    assert await resolve(good_session, public) == "account:acct_1"
    assert await resolve(creds(session_token="good"), merchant) is None
    assert await resolve(creds(session_token="revoked", csrf_token="csrf"), merchant) is None
    bearer = await resolve(creds(authorization="Bearer t1", session_token="good"), provider)
    assert bearer == "grant:grant_1"
    # A refreshed token of the same grant keeps the keys; another grant has its own.
    assert await resolve(creds(authorization="Bearer t1-refreshed"), provider) == bearer
    assert await resolve(creds(authorization="Bearer t2"), provider) == "grant:grant_2"
    # A token that is not good gets no idempotency handling: the route answers 401.
    assert await resolve(creds(authorization="Bearer revoked"), provider) is None
    assert await resolve(creds(authorization="Basic eDp5"), provider) is None
    assert await resolve(creds(authorization="Basic eDp5"), public) is None
    # A token without the operation's scope neither: the route answers 403.
    writer = {"oauth": frozenset({"shop:write"})}
    assert await resolve(creds(authorization="Bearer t1"), writer) is None
    # Only the credential the operation takes counts; without it, the operation answers.
    assert await resolve(creds(authorization="Bearer t1"), merchant) is None
    assert await resolve(good_session, provider) is None
    assert await resolve(creds(), merchant) is None
    assert await resolve(creds(), provider) is None
    # A merchant operation ignores a bearer header next to a good session.
    both = creds(authorization="Bearer t1", session_token="good", csrf_token="csrf")
    assert await resolve(both, merchant) == "account:acct_1"
    assert await resolve(creds(), public) == "anon:10.0.0.1"
    # A buyer's keys are the buyer's account's, whichever login; only a buyer token counts.
    buyer = {"buyer": none}
    assert await resolve(creds(authorization="Bearer b1"), buyer) == "buyer:acct_9"
    assert await resolve(creds(authorization="Bearer b1-renewed"), buyer) == "buyer:acct_9"
    assert await resolve(creds(authorization="Bearer t1"), buyer) is None
    assert await resolve(creds(authorization="Basic eDp5"), buyer) is None
    assert await resolve(good_session, buyer) is None
    assert await resolve(creds(authorization="Bearer b1"), provider) is None
    assert seen == [("good", "csrf")] * 2 + [("good", None), ("revoked", "csrf"), ("good", "csrf")]


async def test_a_keyed_request_authenticates_its_caller_once(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The middleware checks the credential to know whose key it is; the route then uses that
    check instead of making it again (a session read, or the token-state query, per request)."""
    import app.api.deps as deps
    import app.api.provider as provider_module
    from tests.product_support import product_body

    sessions: list[str | None] = []
    tokens: list[str] = []
    authenticate, live_access_claims = deps.authenticate, provider_module.oauth.live_access_claims

    async def counted_authenticate(uow: Any, token: str | None) -> Any:
        sessions.append(token)
        return await authenticate(uow, token)

    async def counted_claims(uow: Any, codec: Any, token: str) -> Any:
        tokens.append(token)
        return await live_access_claims(uow, codec, token)

    monkeypatch.setattr(deps, "authenticate", counted_authenticate)
    monkeypatch.setattr(provider_module.oauth, "live_access_claims", counted_claims)

    auth = await authorized(client, scope="products:read products:write")
    u = await f.user(client)
    sessions.clear()
    tokens.clear()

    k = key()
    r = await client.post("/merchant/shops", json=shop_body(), headers={**u.h, IK: k})
    assert r.status_code == 201, r.text
    assert len(sessions) == 1
    again = await client.post("/merchant/shops", json=shop_body(), headers={**u.h, IK: k})
    assert again.status_code == 422  # the same key with another body: checked once, too
    assert len(sessions) == 2

    r = await client.post("/v1/products", json=product_body(), headers={**auth.bearer, IK: key()})
    assert r.status_code == 201, r.text
    assert tokens == [auth.tokens["access_token"]]
    # Without a key the route checks the credential itself, once.
    r = await client.post("/v1/products", json=product_body(), headers=auth.bearer)
    assert r.status_code == 201, r.text
    assert len(tokens) == 2
    r = await client.get("/merchant/shops", headers=u.h)
    assert r.status_code == 200
    assert len(sessions) == 3
    # A credential that is not good is refused by one check, too: the middleware's verdict
    # (no caller, so no key handling) is the route's 401.
    r = await client.post(
        "/v1/products", json=product_body(), headers={"Authorization": "Bearer nope", IK: key()}
    )
    assert r.status_code == 401, r.text
    assert tokens[2:] == ["nope"]
    gone = {**u.h, "Cookie": "minishop_session=expired-or-made-up"}
    r = await client.post("/merchant/shops", json=shop_body(), headers={**gone, IK: key()})
    assert r.status_code == 401, r.text
    assert sessions[3:] == ["expired-or-made-up"]
