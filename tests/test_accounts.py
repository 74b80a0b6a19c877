"""Accounts over HTTP: register, log in, sessions, logout, CSRF, login throttling, key material."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Response

from app.api.deps import set_session_cookie
from app.container import Container, build_container
from app.domain.accounts.errors import PasswordHashingBusy
from app.domain.clock import utcnow
from app.domain.ports import Quota
from app.infra import metrics
from app.infra.db import tables
from app.infra.security.keys import load_keys
from app.infra.security.passwords import Argon2PasswordHasher
from app.infra.throttle import LimitsThrottle
from app.main import create_app
from app.settings import MissingSecretError, Settings
from tests import factories as f

SESSION_COOKIE = "minishop_session"
#: The Redis the throttle tests use (CI runs one next to PostgreSQL).
REDIS_URL = os.environ.get("MINISHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

NewClient = Callable[..., httpx.AsyncClient]


# --------------------------------------------------------------------------- helpers


def set_cookie_attrs(response: httpx.Response, name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie header for `name` (lower-cased keys; '' for flags)."""
    for header in response.headers.get_list("set-cookie"):
        first, *attrs = (part.strip() for part in header.split(";"))
        key, _, value = first.partition("=")
        if key == name:
            out = {"": value}
            for attr in attrs:
                k, _, v = attr.partition("=")
                out[k.strip().lower()] = v.strip()
            return out
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = dict(r.json())
    assert body["code"] == code, body
    assert body["status"] == status
    return body


def field_locs(body: dict[str, Any]) -> list[list[Any]]:
    return [e["loc"] for e in body["errors"]]


async def account_row(container: Container, username: str) -> Any:
    async with container.engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(tables.accounts).where(tables.accounts.c.username == username)
            )
        ).one()


async def session_rows(container: Container, account_id: str) -> list[Any]:
    async with container.engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    sa.select(tables.sessions).where(tables.sessions.c.account_id == account_id)
                )
            ).all()
        )


def ec_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# --------------------------------------------------------------------------- register


async def test_register_normalises_username_and_returns_account(
    client: httpx.AsyncClient,
) -> None:
    raw = f"  Li.Wei_{secrets.token_hex(3).upper()}  "
    r = await client.post(
        "/auth/register",
        json={"username": raw, "password": f.PASSWORD, "email": "li.wei@example.com"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["username"] == raw.strip().lower()
    assert body["display_name"] == body["username"]
    assert body["email"] == "li.wei@example.com"
    assert body["is_operator"] is False
    assert body["id"].startswith("acct_")
    assert "password" not in body and "password_hash" not in body

    # The normalised name is the login name, whatever case the user types.
    r = await client.post(
        "/auth/login", json={"username": raw.strip().upper(), "password": f.PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert r.json()["account"]["id"] == body["id"]


@pytest.mark.parametrize(
    "username",
    [
        "ab",  # too short
        "x" * 33,  # too long
        "_leading",  # must start with a letter or digit
        ".dot",
        "has space",
        "emoji😀x",
        "semi;colon",
        "名字名字",
    ],
)
async def test_register_rejects_bad_usernames(
    client: httpx.AsyncClient, container: Container, username: str
) -> None:
    before = await f.db_fingerprint(container)
    r = await client.post("/auth/register", json={"username": username, "password": f.PASSWORD})
    body = problem(r, 422, "validation_error")
    assert ["body", "username"] in field_locs(body)
    assert await f.db_fingerprint(container) == before


@pytest.mark.parametrize(
    ("password_for", "why"),
    [
        (lambda u: "Sh0rt!pw", "too short"),
        (lambda u: "x" * 129, "too long"),
        (lambda u: f"my-{u.upper()}-pass", "contains the username"),
        (lambda u: "abababababab", "repetitive"),
        (lambda u: "aaaaaaaaaaaaaaaaaaaa", "repetitive"),
    ],
)
async def test_register_rejects_weak_passwords(
    client: httpx.AsyncClient,
    container: Container,
    password_for: Callable[[str], str],
    why: str,
) -> None:
    username = f.unique("pw")
    before = await f.db_fingerprint(container)
    r = await client.post(
        "/auth/register", json={"username": username, "password": password_for(username)}
    )
    body = problem(r, 422, "validation_error")
    assert field_locs(body) == [["body", "password"]], (why, body)
    assert await f.db_fingerprint(container) == before


async def test_register_reports_each_bad_field(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/auth/register",
        json={"username": "a", "password": "short", "email": "not-an-email", "extra": 1},
    )
    body = problem(r, 422, "validation_error")
    locs = field_locs(body)
    for loc in (["body", "username"], ["body", "password"], ["body", "email"], ["body", "extra"]):
        assert loc in locs, locs


async def test_register_duplicate_username_is_case_insensitive(
    client: httpx.AsyncClient, container: Container
) -> None:
    account = await f.register(client)
    before = await f.db_fingerprint(container)
    for variant in (account["username"], account["username"].upper(), f" {account['username']} "):
        r = await client.post(
            "/auth/register", json={"username": variant, "password": "another-Passw0rd-x"}
        )
        body = problem(r, 409, "username_taken")
        assert account["username"] in body["detail"]
    assert await f.db_fingerprint(container) == before


async def test_password_is_stored_as_argon2id_hash(
    client: httpx.AsyncClient, container: Container
) -> None:
    account = await f.register(client)
    row = await account_row(container, account["username"])
    assert row.id == account["id"]
    assert row.password_hash.startswith("$argon2id$")
    assert row.password_hash != f.PASSWORD
    assert f.PASSWORD not in row.password_hash
    # Same password, different salt: hashes never repeat.
    other = await f.register(client)
    assert (await account_row(container, other["username"])).password_hash != row.password_hash
    assert await container.hasher.verify(row.password_hash, f.PASSWORD)


# --------------------------------------------------------------------------- sign-up abuse


async def test_registrations_are_limited_per_address(
    new_client: NewClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight sign-ups at once from one address with a limit of 3: exactly 3 accounts."""
    monkeypatch.setattr(container.settings, "registrations_per_ip", 3)
    ip = _ip()
    names = [f.unique("burst") for _ in range(8)]
    responses = await asyncio.gather(
        *(
            new_client(ip=ip).post("/auth/register", json={"username": n, "password": f.PASSWORD})
            for n in names
        )
    )
    assert sorted(r.status_code for r in responses) == [201] * 3 + [429] * 5
    refused = [r for r in responses if r.status_code == 429]
    for r in refused:
        body = problem(r, 429, "registration_throttled")
        retry_after = int(r.headers["Retry-After"])
        assert 1 <= retry_after <= container.settings.registration_window_seconds + 1
        assert str(retry_after) in body["detail"]
    async with container.engine.connect() as conn:
        stored = set(
            (
                await conn.execute(
                    sa.select(tables.accounts.c.username).where(
                        tables.accounts.c.username.in_(names)
                    )
                )
            ).scalars()
        )
    assert stored == {r.json()["username"] for r in responses if r.status_code == 201}
    # A weak password is refused before it counts; another address is unaffected.
    r = await new_client(ip=ip).post(
        "/auth/register", json={"username": f.unique("weak"), "password": "short"}
    )
    problem(r, 422, "validation_error")
    await f.register(new_client())


class ConcurrencyProbe:
    """Stands in for argon2's hasher inside the thread: records how many run at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.release.set()
        #: Set once a hash has started (holds a slot).
        self.entered = threading.Event()

    def hash(self, password: str) -> str:
        self.entered.set()
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.seconds)
            self.release.wait(10)
            return f"$probe${password}"
        finally:
            with self.lock:
                self.running -= 1


class CountingSlots(asyncio.Semaphore):
    """The hasher's slots, telling when `expected` callers have asked for one."""

    def __init__(self, value: int, *, expected: int) -> None:
        super().__init__(value)
        self.asked = 0
        self.expected = expected
        self.all_asked = asyncio.Event()

    async def acquire(self) -> Literal[True]:
        self.asked += 1
        if self.asked >= self.expected:
            self.all_asked.set()
        return await super().acquire()


async def test_password_hashing_runs_at_most_the_configured_number_at_once() -> None:
    hasher = Argon2PasswordHasher(max_concurrent=2, max_wait_seconds=30)
    probe = ConcurrencyProbe(0.05)
    hasher._ph = probe  # type: ignore[assignment]
    results = await asyncio.gather(*(hasher.hash(f"pw-{i}") for i in range(12)))
    assert results == [f"$probe$pw-{i}" for i in range(12)]
    assert probe.peak == 2


async def test_hashing_past_the_wait_is_a_503_with_retry_after() -> None:
    hasher = Argon2PasswordHasher(max_concurrent=1, max_wait_seconds=0.05)
    probe = ConcurrencyProbe(0)
    probe.release.clear()
    hasher._ph = probe  # type: ignore[assignment]
    first = asyncio.create_task(hasher.hash("first"))
    assert await asyncio.to_thread(probe.entered.wait, 30)  # it holds the only slot
    with pytest.raises(PasswordHashingBusy) as e:
        await hasher.hash("second")
    assert (e.value.status, e.value.code) == (503, "password_hashing_busy")
    assert e.value.headers == {"Retry-After": "1"}
    probe.release.set()
    assert await first == "$probe$first"
    assert await hasher.hash("third") == "$probe$third"  # the slot came back


async def test_a_burst_of_sign_ups_neither_stalls_other_requests_nor_errs(
    new_client: NewClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sign-ups queue for the hash without holding database connections: an unrelated read
    answers at once while they wait, and the ones that wait too long get a 503 problem."""
    reader = await f.user(new_client())
    hasher = Argon2PasswordHasher(max_concurrent=1, max_wait_seconds=60)
    probe = ConcurrencyProbe(0)
    probe.release.clear()  # the first hash takes until the read below is done
    hasher._ph = probe  # type: ignore[assignment]
    names = [f.unique("b") for _ in range(3 * container.settings.db_pool_size)]
    slots = CountingSlots(1, expected=len(names))
    hasher._slots = slots
    monkeypatch.setattr(container, "hasher", hasher)
    burst = [
        asyncio.create_task(
            new_client().post("/auth/register", json={"username": n, "password": f.PASSWORD})
        )
        for n in names
    ]
    async with asyncio.timeout(120):
        await slots.all_asked.wait()  # every sign-up has reached the hash queue
    started = time.perf_counter()
    r = await reader.client.get("/auth/me")
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    waiting = sum(not t.done() for t in burst)
    probe.release.set()
    assert waiting == len(burst)
    assert elapsed < 2.0, f"an unrelated read took {elapsed:.2f} s behind {waiting} sign-ups"
    assert probe.peak == 1
    assert [r.status_code for r in await asyncio.gather(*burst)] == [201] * len(burst)

    monkeypatch.setattr(
        container, "hasher", Argon2PasswordHasher(max_concurrent=1, max_wait_seconds=0.01)
    )
    responses = await asyncio.gather(
        *(
            new_client().post(
                "/auth/register", json={"username": f.unique("b"), "password": f.PASSWORD}
            )
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 503, 503, 503]
    busy = next(r for r in responses if r.status_code == 503)
    problem(busy, 503, "password_hashing_busy")
    assert busy.headers["Retry-After"] == "1"


# --------------------------------------------------------------------------- login / sessions


async def test_wrong_password_and_unknown_user_look_the_same(
    client: httpx.AsyncClient,
) -> None:
    account = await f.register(client)
    wrong = await client.post(
        "/auth/login", json={"username": account["username"], "password": "not-the-Passw0rd"}
    )
    unknown = await client.post(
        "/auth/login", json={"username": f.unique("nobody"), "password": f.PASSWORD}
    )
    for r in (wrong, unknown):
        problem(r, 401, "invalid_credentials")
        assert SESSION_COOKIE not in r.cookies
        assert not any(SESSION_COOKIE in h for h in r.headers.get_list("set-cookie"))

    def comparable(r: httpx.Response) -> dict[str, Any]:
        return {k: v for k, v in r.json().items() if k != "request_id"}

    assert comparable(wrong) == comparable(unknown)
    assert (await client.get("/auth/me")).status_code == 401


async def test_login_sets_hardened_session_cookie(client: httpx.AsyncClient) -> None:
    account = await f.register(client)
    r = await client.post(
        "/auth/login", json={"username": account["username"], "password": f.PASSWORD}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["account"]["id"] == account["id"]
    assert len(body["csrf_token"]) >= 24
    attrs = set_cookie_attrs(r, SESSION_COOKIE)
    assert attrs[""].startswith("mss_")
    assert "httponly" in attrs
    assert attrs["samesite"].lower() == "lax"
    assert attrs["path"] == "/"
    assert "secure" not in attrs  # not in production
    assert int(attrs["max-age"]) > 0
    # The token is not the CSRF token and not echoed in the body.
    assert attrs[""] not in r.text


async def test_session_row_stores_only_a_hash_of_the_token(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user_over_http(client)
    token = client.cookies[SESSION_COOKIE]
    rows = await session_rows(container, u.id)
    assert len(rows) == 1
    row = rows[0]
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(v) for v in row._mapping.values()}
    assert row.csrf_token == u.csrf
    assert row.revoked_at is None
    assert row.expires_at > utcnow()
    assert row.ip is not None


async def test_each_login_is_its_own_session(new_client: NewClient) -> None:
    a, b = new_client(), new_client()
    u = await f.user(a)
    csrf_b = await f.login(b, username=u.username)
    assert a.cookies[SESSION_COOKIE] != b.cookies[SESSION_COOKIE]
    assert csrf_b != u.csrf
    # Logging out one browser leaves the other logged in.
    assert (await a.post("/auth/logout", headers=u.h)).status_code == 204
    assert (await a.get("/auth/me")).status_code == 401
    r = await b.get("/auth/me")
    assert r.status_code == 200
    assert r.json()["username"] == u.username


async def test_logout_revokes_the_session(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    u = await f.user(client)
    token = client.cookies[SESSION_COOKIE]
    r = await client.post("/auth/logout", headers=u.h)
    assert r.status_code == 204
    attrs = set_cookie_attrs(r, SESSION_COOKIE)
    assert attrs[""] in ("", '""')
    assert attrs.get("max-age") == "0" or "expires" in attrs

    rows = await session_rows(container, u.id)
    assert [row.revoked_at is not None for row in rows] == [True]

    # A stolen copy of the old cookie is worthless now.
    replay = new_client()
    replay.cookies.set(SESSION_COOKIE, token)
    problem(await replay.get("/auth/me"), 401, "session_required")
    problem(await replay.post("/auth/logout", headers=u.h), 401, "session_required")


async def test_no_cookie_and_garbage_cookie_are_401(new_client: NewClient) -> None:
    c = new_client()
    body = problem(await c.get("/auth/me"), 401, "session_required")
    assert body["title"]
    c.cookies.set(SESSION_COOKIE, "mss_" + secrets.token_urlsafe(32))
    problem(await c.get("/auth/me"), 401, "session_required")


async def test_expired_session_is_401(client: httpx.AsyncClient, container: Container) -> None:
    u = await f.user(client)
    assert (await client.get("/auth/me")).status_code == 200
    token_hash = hashlib.sha256(client.cookies[SESSION_COOKIE].encode()).hexdigest()
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(tables.sessions)
            .where(tables.sessions.c.token_hash == token_hash)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    problem(await client.get("/auth/me"), 401, "session_required")
    problem(await client.post("/auth/logout", headers=u.h), 401, "session_required")


async def test_login_validation_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/auth/login", json={"username": "", "password": ""})
    body = problem(r, 422, "validation_error")
    assert ["body", "username"] in field_locs(body)
    assert ["body", "password"] in field_locs(body)
    r = await client.post(
        "/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    problem(r, 400, "malformed_json")


# --------------------------------------------------------------------------- production cookie


def test_set_session_cookie_is_secure_in_production(tmp_path: Path) -> None:
    for env, secure in (("production", True), ("development", False), ("test", False)):
        settings = Settings(
            env=env,
            var_dir=tmp_path,
            session_ttl_seconds=3600,
            public_base_url="https://shop.example.com",
        )
        response = Response()
        result = SimpleNamespace(token="mss_abc")
        set_session_cookie(response, SimpleNamespace(settings=settings), result)  # type: ignore[arg-type]
        header = response.headers["set-cookie"]
        parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
        assert header.startswith(f"{SESSION_COOKIE}=mss_abc")
        assert "httponly" in parts
        assert "samesite=lax" in header.lower()
        assert "path=/" in header.lower()
        assert ("secure" in parts) is secure, (env, header)


@asynccontextmanager
async def separate_app(
    settings: Settings, shared: Container, *, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """A second app with its own container (other settings) over the same test database."""
    own = build_container(settings)
    try:
        transport = httpx.ASGITransport(
            app=create_app(container=own), client=(f"192.0.2.{secrets.randbelow(254) + 1}", 5)
        )
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
            yield c
    finally:
        await own.close()
        metrics.watch_pool(shared.engine.sync_engine.pool)  # back to the suite's pool


async def test_production_app_sets_secure_cookies(
    database_url: str, container: Container, tmp_path: Path
) -> None:
    prod = Settings(
        env="production",
        public_base_url="https://testserver",
        var_dir=tmp_path / "var",
        database_url=database_url,
        encryption_keys=Fernet.generate_key().decode(),
        jwt_private_key=ec_pem(),
    )
    async with separate_app(prod, container, base_url="https://testserver") as c:
        account = await f.register(c)
        r = await c.post(
            "/auth/login", json={"username": account["username"], "password": f.PASSWORD}
        )
        assert r.status_code == 200, r.text
        attrs = set_cookie_attrs(r, SESSION_COOKIE)
        assert "secure" in attrs
        assert "httponly" in attrs
        assert attrs["samesite"].lower() == "lax"
        assert attrs["path"] == "/"
        page = await c.get("/login")
        assert "secure" in set_cookie_attrs(page, "minishop_login_csrf")
    assert not (prod.var_dir / "keys").exists(), "production must not write key files"


# --------------------------------------------------------------------------- key material


def test_production_without_keys_refuses_to_start(tmp_path: Path) -> None:
    for missing in (
        {},
        {"encryption_keys": Fernet.generate_key().decode()},
        {"jwt_private_key": ec_pem()},
    ):
        settings = Settings(
            env="production",
            var_dir=tmp_path,
            public_base_url="https://shop.example.com",
            **missing,
        )
        with pytest.raises(MissingSecretError, match="MINISHOP_ENCRYPTION_KEYS"):
            load_keys(settings)
        with pytest.raises(MissingSecretError):
            build_container(settings)
    assert not (tmp_path / "keys").exists()


def test_production_with_keys_uses_them(tmp_path: Path) -> None:
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    pem = ec_pem()
    settings = Settings(
        env="production",
        var_dir=tmp_path,
        public_base_url="https://shop.example.com",
        encryption_keys=f" {k1} , {k2} ,",
        jwt_private_key=pem,
    )
    keys = load_keys(settings)
    assert keys.fernet_keys == [k1, k2]
    assert keys.jwt_private_pem == pem
    # No sandbox secret in production: the sandbox gateway notifies nothing, and none of its
    # notifications is believed (payments settle by the worker's query).
    assert keys.sandbox_payment_secret is None
    assert not (tmp_path / "keys").exists()


def test_development_generates_private_key_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(env="development", var_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="minishop.keys"):
        keys = load_keys(settings)
    fernet_file, jwt_file = tmp_path / "keys" / "fernet.key", tmp_path / "keys" / "jwt-es256.pem"
    sandbox_file = tmp_path / "keys" / "sandbox-payment.key"
    for path in (fernet_file, jwt_file, sandbox_file):
        assert path.is_file()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert keys.sandbox_payment_secret == sandbox_file.read_text().strip()
    assert all("development key" in r.getMessage() for r in warnings)
    assert keys.fernet_keys == [fernet_file.read_text().strip()]
    Fernet(keys.fernet_keys[0].encode())  # a usable key
    assert keys.jwt_private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    serialization.load_pem_private_key(keys.jwt_private_pem.encode(), password=None)

    # Restarting reuses the same keys (encrypted data stays readable) and warns no more.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="minishop.keys"):
        again = load_keys(settings)
    assert again == keys
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


# --------------------------------------------------------------------------- CSRF


def _state_changing_cookie_operations(app: Any) -> list[tuple[str, str, str]]:
    """(method, path template, operationId) for every cookie-authenticated state change."""
    out = []
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            schemes = {name for req in op.get("security", []) for name in req}
            if "sessionCookie" in schemes:
                out.append((method.upper(), path, op["operationId"]))
    return out


async def test_every_cookie_state_change_declares_csrf(app: Any) -> None:
    ops = _state_changing_cookie_operations(app)
    known = {op for _, _, op in ops}
    assert {"logout", "openShop", "updateMyShop", "addShopMember", "approveShop"} <= known
    for method, path, op_id in ops:
        op = app.openapi()["paths"][path][method.lower()]
        schemes = {name for req in op["security"] for name in req}
        assert "csrfToken" in schemes, (method, path, op_id)


async def test_csrf_required_on_every_cookie_state_change(
    app: Any, container: Container, new_client: NewClient
) -> None:
    op = await f.operator(container, new_client())
    personal = await f.open_shop(op)
    pending = await f.open_shop(op, subject_type="enterprise")
    in_review = await f.business_shop_in_review(op)
    member_a = await f.user(new_client())
    member_b = await f.user(new_client())
    for m in (member_a, member_b):
        r = await op.client.post(
            f"/merchant/shops/{personal['id']}/members",
            json={"username": m.username, "role": "operator"},
            headers=op.h,
        )
        assert r.status_code == 201, r.text
    newcomer = await f.user(new_client())

    # A plausible, valid request for each known operation; unknown ones get generic values so a
    # route added later is still checked (CSRF is verified before the body or the path is used).
    specs: dict[str, tuple[dict[str, str], Any]] = {
        "logout": ({}, None),
        "openShop": ({}, {"name": "CSRF probe shop", "subject_type": "enterprise"}),
        "updateMyShop": ({"shop_id": personal["id"]}, {"name": "Renamed by CSRF test"}),
        "submitShopQualification": ({"shop_id": pending["id"]}, f.qualification()),
        "addShopMember": (
            {"shop_id": personal["id"]},
            {"username": newcomer.username, "role": "operator"},
        ),
        "changeShopMemberRole": (
            {"shop_id": personal["id"], "account_id": member_a.id},
            {"role": "admin"},
        ),
        "removeShopMember": ({"shop_id": personal["id"], "account_id": member_b.id}, None),
        "transferShopOwnership": ({"shop_id": personal["id"]}, {"to_account_id": member_a.id}),
        "approveShop": ({"shop_id": in_review["id"]}, None),
        "rejectShop": ({"shop_id": in_review["id"]}, {"reason": "Blurry licence image."}),
        "suspendShop": ({"shop_id": personal["id"]}, {"reason": "Counterfeit goods."}),
        "reinstateShop": ({"shop_id": personal["id"]}, None),
    }

    def request_for(method: str, path: str, op_id: str) -> tuple[str, Any]:
        takes_body = "requestBody" in app.openapi()["paths"][path][method.lower()]
        params, body = specs.get(op_id, ({}, {} if takes_body else None))
        url = re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), f"x_{m.group(1)}"), path)
        assert "{" not in url
        return url, body

    ops = _state_changing_cookie_operations(app)
    # Other sessions' tokens must not work either.
    other_csrf = (await f.user(new_client())).csrf
    before = await f.db_fingerprint(container)
    for method, path, op_id in ops:
        url, body = request_for(method, path, op_id)
        for headers in (
            {},
            {"X-CSRF-Token": ""},
            {"X-CSRF-Token": "wrong-" + op.csrf},
            {"X-CSRF-Token": op.csrf[:-1]},
            {"X-CSRF-Token": other_csrf},
        ):
            kwargs: dict[str, Any] = {"headers": headers}
            if body is not None:
                kwargs["json"] = body
            r = await op.client.request(method, url, **kwargs)
            problem(r, 403, "csrf_failed")
    assert await f.db_fingerprint(container) == before, "a request without CSRF changed data"
    assert (await op.client.get("/auth/me")).status_code == 200

    # The right token works (logout last: it ends the session).
    order = sorted(ops, key=lambda o: o[2] == "logout")
    results: dict[str, int] = {}
    for method, path, op_id in order:
        url, body = request_for(method, path, op_id)
        kwargs = {"headers": op.h}
        if body is not None:
            kwargs["json"] = body
        r = await op.client.request(method, url, **kwargs)
        assert r.status_code < 500, (op_id, r.text)
        if r.status_code == 403:
            assert r.json()["code"] != "csrf_failed", (op_id, r.text)
        results[op_id] = r.status_code
    expected = {
        "openShop": 201,
        "updateMyShop": 200,
        "submitShopQualification": 200,
        "addShopMember": 201,
        "changeShopMemberRole": 200,
        "removeShopMember": 204,
        "transferShopOwnership": 200,
        "approveShop": 200,
        "rejectShop": 409,  # past the CSRF check; the shop was approved just before
        "suspendShop": 200,
        "reinstateShop": 200,
        "logout": 204,
    }
    assert {k: results[k] for k in expected} == expected, results
    assert (await op.client.get("/auth/me")).status_code == 401


async def test_csrf_is_not_needed_for_reads(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    r = await client.get("/auth/me")
    assert r.status_code == 200
    assert r.json()["id"] == u.id
    assert (await client.get("/merchant/shops")).status_code == 200


# --------------------------------------------------------------------------- throttling


async def _bad_login(c: httpx.AsyncClient, username: str) -> httpx.Response:
    return await c.post("/auth/login", json={"username": username, "password": "Wrong-passw0rd!"})


async def test_login_throttled_per_account(new_client: NewClient, settings: Settings) -> None:
    c = new_client()
    account = await f.register(c)
    limit = settings.login_attempts_per_account
    assert limit == 5
    for _ in range(limit):
        problem(await _bad_login(c, account["username"]), 401, "invalid_credentials")

    good = {"username": account["username"], "password": f.PASSWORD}
    r = await c.post("/auth/login", json=good)
    body = problem(r, 429, "login_throttled")
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= settings.login_window_seconds + 1
    assert str(retry_after) in body["detail"]
    assert SESSION_COOKIE not in r.cookies

    # The account is locked whichever IP asks, and whatever case the name is typed in.
    elsewhere = new_client()
    r = await elsewhere.post("/auth/login", json={**good, "username": good["username"].upper()})
    problem(r, 429, "login_throttled")
    assert "Retry-After" in r.headers
    assert (await elsewhere.get("/auth/me")).status_code == 401

    # Other accounts are unaffected.
    other = await f.register(elsewhere)
    await f.login(elsewhere, username=other["username"])


async def test_login_throttled_per_ip(new_client: NewClient, settings: Settings) -> None:
    ip = f"203.0.113.{secrets.randbelow(254) + 1}"
    attacker = new_client(ip=ip)
    victim = await f.register(new_client())
    limit = settings.login_attempts_per_ip
    assert limit == 20
    # Spraying many usernames from one address: each account stays under its own limit.
    for _ in range(limit):
        problem(await _bad_login(attacker, f.unique("spray")), 401, "invalid_credentials")

    r = await attacker.post(
        "/auth/login", json={"username": victim["username"], "password": f.PASSWORD}
    )
    problem(r, 429, "login_throttled")
    assert int(r.headers["Retry-After"]) >= 1

    # A second browser on the same address is blocked too; another address is not.
    problem(await _bad_login(new_client(ip=ip), f.unique("spray")), 429, "login_throttled")
    await f.login(new_client(), username=victim["username"])


async def test_successful_login_resets_the_account_counter(
    new_client: NewClient, settings: Settings
) -> None:
    c = new_client()
    account = await f.register(c)
    limit = settings.login_attempts_per_account
    for _round in range(3):
        for _ in range(limit - 1):
            problem(await _bad_login(c, account["username"]), 401, "invalid_credentials")
        await f.login(c, username=account["username"])
    # Without the reset this would be well past the limit.
    problem(await _bad_login(c, account["username"]), 401, "invalid_credentials")


class GatedHasher:
    """The app's hasher, with every verification held at a gate until the test opens it:
    the slow hash made as slow as a test needs, so attempts are truly in flight together."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.evaluated = 0
        self.gate = asyncio.Event()

    async def hash(self, password: str) -> str:
        return str(await self.inner.hash(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        self.evaluated += 1
        await self.gate.wait()
        return bool(await self.inner.verify(password_hash, password))

    def needs_rehash(self, password_hash: str) -> bool:
        return bool(self.inner.needs_rehash(password_hash))


async def _settled(tasks: list[asyncio.Task[httpx.Response]], hasher: GatedHasher) -> None:
    """Wait until every attempt has either been answered or reached the password check."""
    async with asyncio.timeout(30):
        while sum(t.done() for t in tasks) + hasher.evaluated < len(tasks):
            await asyncio.sleep(0.01)


@asynccontextmanager
async def throttle_app(
    store: str, container: Container, tmp_path: Path
) -> AsyncIterator[tuple[Callable[[str], httpx.AsyncClient], GatedHasher]]:
    """The suite's app (memory store) or one backed by Redis, with its hasher gated, and a
    client per address."""
    if store == "memory":
        own, target = container, None
    else:
        settings = container.settings.model_copy(
            update={"redis_url": REDIS_URL, "var_dir": tmp_path}
        )
        own = build_container(settings)
        target = create_app(container=own)
    app = target or create_app(container=own)
    # Its own wait for a hash slot: twenty real hashes in a row may take longer on a slow box.
    gated, original = GatedHasher(Argon2PasswordHasher(max_wait_seconds=120)), own.hasher
    own.hasher = gated  # type: ignore[assignment]
    clients: list[httpx.AsyncClient] = []

    def client(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    try:
        yield client, gated
    finally:
        gated.gate.set()
        own.hasher = original
        for c in clients:
            await c.aclose()
        if own is not container:
            await own.close()
            metrics.watch_pool(container.engine.sync_engine.pool)


def _ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_concurrent_guesses_cannot_pass_the_account_limit(
    store: str, container: Container, new_client: NewClient, settings: Settings, tmp_path: Path
) -> None:
    """60 guesses in flight at once from many addresses, the right password among the last:
    only the account's limit is ever checked, and the right password is refused."""
    account = await f.register(new_client())
    limit = settings.login_attempts_per_account
    async with throttle_app(store, container, tmp_path) as (client, hasher):

        def guess(password: str) -> asyncio.Task[httpx.Response]:
            body = {"username": account["username"], "password": password}
            return asyncio.create_task(client(_ip()).post("/auth/login", json=body))

        wrong = [guess(f"Wrong-passw0rd-{i}") for i in range(59)]
        await _settled(wrong, hasher)
        right = guess(f.PASSWORD)  # guess 60, while the first ones are still being checked
        await _settled([*wrong, right], hasher)
        hasher.gate.set()
        responses = await asyncio.gather(*wrong, right)

    assert hasher.evaluated == limit
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * limit + [429] * (60 - limit)
    body = problem(responses[-1], 429, "login_throttled")
    assert int(responses[-1].headers["Retry-After"]) >= 1
    assert body["detail"].startswith("Too many failed logins")
    assert SESSION_COOKIE not in responses[-1].cookies
    assert await session_rows(container, account["id"]) == []


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_concurrent_guesses_cannot_pass_the_address_limit(
    store: str, container: Container, settings: Settings, tmp_path: Path
) -> None:
    """100 guesses at once from one address, each at another name: the address's limit."""
    limit = settings.login_attempts_per_ip
    ip = _ip()
    async with throttle_app(store, container, tmp_path) as (client, hasher):
        tasks = [
            asyncio.create_task(
                client(ip).post(
                    "/auth/login", json={"username": f.unique("spray"), "password": "Wr0ng-pw!"}
                )
            )
            for _ in range(100)
        ]
        await _settled(tasks, hasher)
        hasher.gate.set()
        responses = await asyncio.gather(*tasks)
    assert hasher.evaluated == limit
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * limit + [429] * (100 - limit)
    refused = next(r for r in responses if r.status_code == 429)
    problem(refused, 429, "login_throttled")


@asynccontextmanager
async def client_from(
    settings: Settings, shared: Container, ip: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    """A client whose TCP peer is `ip`, on an app with its own container (own throttle)."""
    own = build_container(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(container=own), client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, own
    finally:
        await own.close()
        metrics.watch_pool(shared.engine.sync_engine.pool)


async def test_x_forwarded_for_is_ignored_by_default(
    settings: Settings, container: Container
) -> None:
    """A proxy-less deployment: anyone on the box sends X-Forwarded-For from 127.0.0.1, and
    neither resets the per-address login limit with it nor puts it in the session."""
    assert Settings(env="test", var_dir=settings.var_dir).forwarded_allow_ips == ""
    settings = settings.model_copy(update={"login_attempts_per_ip": 3})
    async with client_from(settings, container, "127.0.0.1") as (c, _):
        account = await f.register(c)
        good = {"username": account["username"], "password": f.PASSWORD}
        r = await c.post("/auth/login", json=good, headers={"X-Forwarded-For": "198.51.100.7"})
        assert r.status_code == 200, r.text
        assert [s.ip for s in await session_rows(container, account["id"])] == ["127.0.0.1"]
        for i in range(settings.login_attempts_per_ip):
            r = await c.post(
                "/auth/login",
                json={"username": f.unique("spray"), "password": "Wr0ng-passw0rd"},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
            problem(r, 401, "invalid_credentials")
        r = await c.post("/auth/login", json=good, headers={"X-Forwarded-For": "203.0.113.99"})
        problem(r, 429, "login_throttled")


async def test_x_forwarded_for_is_believed_from_the_listed_proxies(
    settings: Settings, container: Container
) -> None:
    trusting = settings.model_copy(
        update={"forwarded_allow_ips": "127.0.0.1, 10.9.0.0/16", "login_attempts_per_ip": 3}
    )
    async with client_from(trusting, container, "127.0.0.1") as (c, _):
        account = await f.register(c)
        good = {"username": account["username"], "password": f.PASSWORD}
        r = await c.post("/auth/login", json=good, headers={"X-Forwarded-For": "198.51.100.7"})
        assert r.status_code == 200, r.text
        assert [s.ip for s in await session_rows(container, account["id"])] == ["198.51.100.7"]
        # Each client behind the proxy has its own per-address limit.
        for i in range(trusting.login_attempts_per_ip + 2):
            r = await c.post(
                "/auth/login",
                json={"username": f.unique("spray"), "password": "Wr0ng-passw0rd"},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
            problem(r, 401, "invalid_credentials")
    # A peer that is not listed is not believed, even with the setting.
    async with client_from(trusting, container, "192.0.2.10") as (c, _):
        account = await f.register(c)
        r = await c.post(
            "/auth/login",
            json={"username": account["username"], "password": f.PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.8"},
        )
        assert r.status_code == 200, r.text
        assert [s.ip for s in await session_rows(container, account["id"])] == ["192.0.2.10"]


def test_serve_leaves_forwarded_headers_to_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's own proxy_headers would believe 127.0.0.1 whatever the setting says."""
    from app import cli

    calls: list[dict[str, Any]] = []
    fake = SimpleNamespace(run=lambda *a, **kw: calls.append(kw))
    cli._serve(fake, "127.0.0.1", 8123, 1, False)
    assert calls[0]["proxy_headers"] is False


async def test_memory_throttle_reserve_release_clear() -> None:
    await _exercise_throttle(LimitsThrottle())


async def test_redis_throttle_reserve_release_clear() -> None:
    await _exercise_throttle(LimitsThrottle(redis_url=REDIS_URL))


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_concurrent_reservations_never_pass_the_limit(store: str) -> None:
    """Count-then-compare in one atomic step: of 60 attempts at once exactly `limit` fit,
    also when they come through two throttle objects sharing Redis (two API processes)."""
    throttles = (
        [LimitsThrottle()]
        if store == "memory"
        else [LimitsThrottle(redis_url=REDIS_URL), LimitsThrottle(redis_url=REDIS_URL)]
    )
    key, quota = f"test:race:{secrets.token_hex(8)}", Quota(7, 60)
    results = await asyncio.gather(
        *(throttles[i % len(throttles)].reserve(key, quota) for i in range(60))
    )
    assert sum(r is None for r in results) == quota.limit
    assert all(r is None or 1 <= r <= 61 for r in results)


async def test_redis_throttle_counters_are_shared_between_processes() -> None:
    # Two instances stand for two API processes behind a load balancer.
    a, b = LimitsThrottle(redis_url=REDIS_URL), LimitsThrottle(redis_url=REDIS_URL)
    key, quota = f"test:shared:{secrets.token_hex(8)}", Quota(2, 60)
    assert await a.reserve(key, quota) is None
    assert await b.reserve(key, quota) is None
    assert await a.reserve(key, quota) is not None
    assert await b.reserve(key, quota) is not None
    await b.clear(key, quota)
    assert await a.reserve(key, quota) is None


async def test_login_throttle_backed_by_redis(
    database_url: str, container: Container, tmp_path: Path
) -> None:
    settings = Settings(
        env="test",
        var_dir=tmp_path,
        database_url=database_url,
        redis_url=REDIS_URL,
        login_attempts_per_account=2,
        login_attempts_per_ip=50,
        login_window_seconds=60,
    )
    async with separate_app(settings, container) as c:
        account = await f.register(c)
        for _ in range(2):
            problem(await _bad_login(c, account["username"]), 401, "invalid_credentials")
        r = await c.post(
            "/auth/login", json={"username": account["username"], "password": f.PASSWORD}
        )
        problem(r, 429, "login_throttled")
        assert int(r.headers["Retry-After"]) >= 1
        # The counter lives in Redis: a fresh throttle object sees it.
        fresh, quota = LimitsThrottle(redis_url=REDIS_URL), Quota(2, 60)
        key = f"login:acct:{account['username']}"
        assert await fresh.reserve(key, quota) is not None
        await fresh.clear(key, quota)
        await f.login(c, username=account["username"])


async def _exercise_throttle(throttle: LimitsThrottle) -> None:
    key, other = f"test:{secrets.token_hex(8)}", f"test:{secrets.token_hex(8)}"
    quota = Quota(3, 60)
    for _ in range(quota.limit):
        assert await throttle.reserve(key, quota) is None
    retry_after = await throttle.reserve(key, quota)
    assert retry_after is not None
    assert 1 <= retry_after <= 61
    assert await throttle.reserve(other, quota) is None  # keys are independent
    assert await throttle.reserve(key, Quota(3, 120)) is None  # so are quotas
    # A release gives back one attempt, no more.
    await throttle.release(key, quota)
    await throttle.release(key, quota)
    assert await throttle.reserve(key, quota) is None
    assert await throttle.reserve(key, quota) is not None
    await throttle.clear(key, quota)
    for _ in range(quota.limit):
        assert await throttle.reserve(key, quota) is None
    # A release of a window that has ended starts no negative count (no bonus attempt).
    fresh = f"test:{secrets.token_hex(8)}"
    await throttle.release(fresh, quota)
    for _ in range(quota.limit):
        assert await throttle.reserve(fresh, quota) is None
    assert await throttle.reserve(fresh, quota) is not None
