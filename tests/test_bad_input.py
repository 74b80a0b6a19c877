"""Bad input is a 4xx problem on both databases, never a 500: control characters in bodies,
paths, queries and cursors; over-long URLs; far-away times; racing duplicate inserts."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from app.container import Container
from app.infra.db import tables
from app.main import create_app
from tests import factories as f
from tests.conftest import random_ip

NUL = "\u0000"


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    assert body["request_id"] == r.headers["x-request-id"]
    return dict(body)


def field_errors(problem: dict[str, Any]) -> list[tuple[str | int, ...]]:
    return [tuple(e["loc"]) for e in problem["errors"]]


async def count(container: Container, table: sa.Table, *where: Any) -> int:
    async with container.engine.connect() as conn:
        return int(
            (
                await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
            ).scalar_one()
        )


# --- control characters in JSON bodies --------------------------------------------------------


@pytest.mark.parametrize("bad", [NUL, "\x01", "\x1b", "\x7f", "\n"])
async def test_control_characters_in_login_username(client: httpx.AsyncClient, bad: str) -> None:
    r = await client.post("/auth/login", json={"username": f"ab{bad}c", "password": f.PASSWORD})
    problem = assert_problem(r, 422, "validation_error")
    assert ("body", "username") in field_errors(problem)


async def test_nul_in_register_fields_creates_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    name = f.unique()
    for body in (
        {"username": name + NUL, "password": f.PASSWORD},
        {"username": name, "password": f.PASSWORD, "display_name": f"Li{NUL}Wei"},
        {"username": name, "password": f.PASSWORD + NUL},
        {"username": name, "password": f.PASSWORD, "email": f"li{NUL}@example.com"},
    ):
        problem = assert_problem(await client.post("/auth/register", json=body), 422)
        assert problem["code"] == "validation_error"
    assert await count(container, tables.accounts, tables.accounts.c.username == name) == 0


async def test_nul_in_add_member_and_shop_fields(
    client: httpx.AsyncClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    r = await client.post(
        f"/merchant/shops/{shop['id']}/members",
        json={"username": f"x{NUL}y", "role": "admin"},
        headers=owner.h,
    )
    assert ("body", "username") in field_errors(assert_problem(r, 422, "validation_error"))
    r = await client.patch(
        f"/merchant/shops/{shop['id']}", json={"name": f"Tea{NUL}House"}, headers=owner.h
    )
    assert ("body", "name") in field_errors(assert_problem(r, 422, "validation_error"))
    r = await client.patch(
        f"/merchant/shops/{shop['id']}",
        json={"logo_url": f"https://cdn.example.com/a{NUL}b.png"},
        headers=owner.h,
    )
    assert_problem(r, 422, "validation_error")
    assert (await client.get(f"/merchant/shops/{shop['id']}")).json()["version"] == shop["version"]


async def test_free_text_keeps_newlines_but_not_nul(
    client: httpx.AsyncClient, container: Container
) -> None:
    op = await f.operator(container, client)
    shop = await f.open_shop(op)
    url = f"/v1/platform/shops/{shop['id']}/suspend"
    r = await client.post(url, json={"reason": f"Fake{NUL}goods"}, headers=op.h)
    assert ("body", "reason") in field_errors(assert_problem(r, 422, "validation_error"))
    r = await client.post(url, json={"reason": "Fake goods.\nSee ticket 42."}, headers=op.h)
    assert r.status_code == 200, r.text
    assert r.json()["suspension_reason"] == "Fake goods.\nSee ticket 42."


# --- control characters in the URL ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/merchant/shops/ab%00c",
        "/merchant/shops/ab%01c/members",
        "/v1/platform/shops/shop_%00/qualification",
        "/merchant/shops?cursor=%00",
        "/auth/me?x=a%00b",
        "/merchant/shops?limit=1%0A",
    ],
)
async def test_control_characters_in_path_or_query_are_a_400(
    client: httpx.AsyncClient, url: str
) -> None:
    await f.user(client)
    assert_problem(await client.get(url), 400, "invalid_characters")


async def test_control_characters_in_a_write_path_change_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    owner = await f.user(client)
    before = await f.db_fingerprint(container)
    r = await client.post(
        "/merchant/shops/ab%00c/members", json={"username": "x", "role": "admin"}, headers=owner.h
    )
    assert_problem(r, 400, "invalid_characters")
    r = await client.delete(f"/merchant/shops/ab%00c/members/{owner.id}", headers=owner.h)
    assert_problem(r, 400, "invalid_characters")
    assert await f.db_fingerprint(container) == before


async def test_audit_log_filters_with_nul(client: httpx.AsyncClient) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    base = f"/merchant/shops/{shop['id']}/audit-log"
    for params in ({"action": f"shop{NUL}opened"}, {"actor_id": NUL}, {"target_id": f"a{NUL}"}):
        assert_problem(await client.get(base, params=params), 400, "invalid_characters")


def _cursor(*values: str) -> str:
    raw = json.dumps(list(values)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_cursor_that_decodes_to_control_characters(client: httpx.AsyncClient) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    for url in (
        "/merchant/shops",
        f"/merchant/shops/{shop['id']}/members",
        f"/merchant/shops/{shop['id']}/audit-log",
    ):
        for cursor in (_cursor(f"shop_{NUL}"), _cursor("\x1b[2J"), _cursor("x" * 200)):
            r = await client.get(url, params={"cursor": cursor})
            assert_problem(r, 400, "invalid_cursor")


# --- URLs and times ---------------------------------------------------------------------------


async def test_urls_are_capped_at_the_column_length(
    client: httpx.AsyncClient, container: Container
) -> None:
    owner = await f.user(client)
    prefix = "https://cdn.example.com/"
    longest = prefix + "a" * (2048 - len(prefix))
    too_long = longest + "a"
    r = await client.post(
        "/merchant/shops",
        json={"name": "Long Logo", "subject_type": "personal", "logo_url": too_long},
        headers=owner.h,
    )
    assert ("body", "logo_url") in field_errors(assert_problem(r, 422, "validation_error"))
    r = await client.post(
        "/merchant/shops",
        json={"name": "Long Logo", "subject_type": "personal", "logo_url": longest},
        headers=owner.h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["logo_url"] == longest
    shop = await f.open_shop(owner, subject_type="enterprise")
    r = await client.put(
        f"/merchant/shops/{shop['id']}/qualification",
        json=f.qualification(licence_image_url=too_long),
        headers=owner.h,
    )
    assert ("body", "licence_image_url") in field_errors(assert_problem(r, 422))


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59Z",
        "1969-12-31T23:59:59Z",
    ],
)
async def test_extreme_times_in_audit_filters_are_a_422(
    client: httpx.AsyncClient, value: str
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    for name in ("since", "until"):
        r = await client.get(f"/merchant/shops/{shop['id']}/audit-log", params={name: value})
        problem = assert_problem(r, 422, "validation_error")
        assert ("query", name) in field_errors(problem)
    r = await client.get(
        f"/merchant/shops/{shop['id']}/audit-log",
        params={"since": "1970-01-01T00:00:00Z", "until": "8999-12-31T00:00:00+14:00"},
    )
    assert r.status_code == 200, r.text
    assert [e["action"] for e in r.json()["data"]] == ["shop.opened"]


# --- the safety net ---------------------------------------------------------------------------


@pytest.fixture
async def probe_app(container: Container) -> FastAPI:
    """The real app plus routes that fail in the database the way unvalidated input would."""
    app = create_app(container=container)

    @app.get("/_probe/nul")
    async def nul_in_query() -> dict[str, int]:
        async with container.uow() as uow:
            await uow.accounts.get_by_username(f"a{NUL}b")
        return {"ok": 1}

    @app.get("/_probe/client-side-value")
    async def value_error() -> dict[str, int]:
        raise DBAPIError("SELECT 1", {}, ValueError("invalid input for query argument $1"))

    @app.get("/_probe/outage")
    async def outage() -> dict[str, int]:
        raise DBAPIError("SELECT 1", {}, ConnectionError("connection lost"))

    return app


async def test_database_refusing_a_value_is_a_422_not_a_500(
    probe_app: FastAPI, is_postgres: bool
) -> None:
    transport = httpx.ASGITransport(app=probe_app, client=(random_ip(), 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert_problem(await c.get("/_probe/client-side-value"), 422, "invalid_data")
        assert_problem(await c.get("/_probe/outage"), 500, "internal_error")
        r = await c.get("/_probe/nul")
        if is_postgres:  # PostgreSQL cannot store or compare a NUL (SQLSTATE 22021)
            assert_problem(r, 422, "invalid_data")
        else:
            assert r.status_code == 200


# --- racing duplicates ------------------------------------------------------------------------


async def test_concurrent_registrations_of_one_username(
    new_client: Any, container: Container
) -> None:
    username = f.unique()
    body = {"username": username, "password": f.PASSWORD}
    responses = await asyncio.gather(
        *(new_client().post("/auth/register", json=body) for _ in range(8))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7, [(r.status_code, r.text[:200]) for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "username_taken")
    assert await count(container, tables.accounts, tables.accounts.c.username == username) == 1


async def test_concurrent_adds_of_one_member(
    client: httpx.AsyncClient, new_client: Any, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    other = await f.register(new_client())
    # Several sessions of the owner, so the requests really run side by side.
    sessions = []
    for _ in range(6):
        c = new_client()
        sessions.append((c, await f.login(c, username=owner.username)))
    responses = await asyncio.gather(
        *(
            c.post(
                f"/merchant/shops/{shop['id']}/members",
                json={"username": other["username"], "role": "operator"},
                headers={"X-CSRF-Token": csrf},
            )
            for c, csrf in sessions
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 5, [(r.status_code, r.text[:200]) for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "already_member")
    m, a = tables.shop_members, tables.audit_log
    assert await count(container, m, m.c.shop_id == shop["id"], m.c.account_id == other["id"]) == 1
    added = await count(container, a, a.c.shop_id == shop["id"], a.c.action == "member.added")
    assert added == 1


# --- non-ASCII tokens -------------------------------------------------------------------------


async def test_non_ascii_csrf_tokens_are_refused_not_a_500(
    client: httpx.AsyncClient, container: Container
) -> None:
    """`hmac.compare_digest` raises on non-ASCII text; a wrong token is just a wrong token."""
    u = await f.user(client)
    before = await f.db_fingerprint(container)
    body = {"name": "Accent Shop", "subject_type": "personal"}
    for headers in (
        {"X-CSRF-Token": "é".encode()},
        {"X-CSRF-Token": "é".encode(), "Idempotency-Key": "ik-accent-" + u.id},
        {"X-CSRF-Token": ("ü" + u.csrf).encode()},
    ):
        r = await client.post("/merchant/shops", json=body, headers=headers)
        assert_problem(r, 403, "csrf_failed")
    assert await f.db_fingerprint(container) == before

    page = await client.get("/login")
    assert page.status_code == 200
    r = await client.post(
        "/login", data={"csrf_token": "é", "username": u.username, "password": f.PASSWORD}
    )
    assert r.status_code == 403, r.text
    assert "text/html" in r.headers["content-type"]
    for username, password in ((f"a{NUL}b", f.PASSWORD), (u.username, f.PASSWORD + NUL)):
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        assert token
        r = await client.post(
            "/login",
            data={"csrf_token": token.group(1), "username": username, "password": password},
        )
        assert r.status_code == 400, r.text
        assert "text/html" in r.headers["content-type"]
        assert "Wrong username or password" in r.text
