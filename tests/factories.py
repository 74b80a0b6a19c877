"""Keyword-only factories that build test data through the public API."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import Response

from app.api.auth import set_session_cookie
from app.container import Container
from app.domain.accounts import services as accounts
from app.domain.shops.validation import id_check_char, uscc_check_char
from app.infra.db.tables import metadata

PASSWORD = "a-Long-test-passw0rd"


def unique(prefix: str = "u") -> str:
    return f"{prefix}{secrets.token_hex(5)}"


@dataclass
class User:
    client: httpx.AsyncClient
    id: str
    username: str
    password: str
    csrf: str

    @property
    def h(self) -> dict[str, str]:
        """Headers for a state change: the CSRF token."""
        return {"X-CSRF-Token": self.csrf}


async def register(
    client: httpx.AsyncClient,
    *,
    username: str | None = None,
    password: str = PASSWORD,
    display_name: str | None = None,
) -> dict[str, Any]:
    username = username or unique()
    body: dict[str, Any] = {"username": username, "password": password}
    if display_name:
        body["display_name"] = display_name
    r = await client.post("/auth/register", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def login(client: httpx.AsyncClient, *, username: str, password: str = PASSWORD) -> str:
    r = await client.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


async def user(client: httpx.AsyncClient, *, username: str | None = None) -> User:
    """A signed-up account logged in on `client`. For a client of an in-process app both
    are written through its unit of work by the domain calls the routes make (no HTTP round
    trips, no password check); otherwise through `/auth/register` and `/auth/login`. Tests of
    registration and login themselves call `register` and `login`."""
    container = app_container(client)
    if container is None:
        return await user_over_http(client, username=username)
    async with container.uow() as uow:
        made = await accounts.register(
            uow, container.hasher, username=username or unique(), password=PASSWORD
        )
        session = accounts.open_session(
            uow,
            made,
            ip=None,
            user_agent=None,
            session_ttl_seconds=container.settings.session_ttl_seconds,
        )
        await uow.commit()
    # The cookie the login route would set, taken in as from its response: a later login
    # over HTTP on the same client replaces it.
    answer = Response()
    set_session_cookie(answer, container, session)
    client.cookies.extract_cookies(
        httpx.Response(
            200,
            headers=[(b"set-cookie", v) for k, v in answer.raw_headers if k == b"set-cookie"],
            request=httpx.Request("POST", client.base_url.join("/auth/login")),
        )
    )
    return User(client, made.id, made.username, PASSWORD, session.session.csrf_token)


async def user_over_http(client: httpx.AsyncClient, *, username: str | None = None) -> User:
    """A user signed up and logged in through the API (for tests of what those routes store)."""
    account = await register(client, username=username)
    csrf = await login(client, username=account["username"])
    return User(client, account["id"], account["username"], PASSWORD, csrf)


def app_container(client: httpx.AsyncClient) -> Container | None:
    """The container of the app `client` calls in process, if it is one of ours."""
    transport = client._transport  # httpx keeps it private; it is the one we passed
    if not isinstance(transport, httpx.ASGITransport):
        return None
    container = getattr(getattr(transport.app, "state", None), "container", None)
    return container if isinstance(container, Container) else None


async def operator(container: Container, client: httpx.AsyncClient) -> User:
    from app.seed import ensure_operator

    username = unique("op")
    account_id = await ensure_operator(container.settings, username, PASSWORD)
    csrf = await login(client, username=username)
    return User(client, account_id, username, PASSWORD, csrf)


async def open_shop(
    u: User, *, subject_type: str = "personal", name: str | None = None
) -> dict[str, Any]:
    r = await u.client.post(
        "/merchant/shops",
        json={"name": name or f"Shop {secrets.token_hex(3)}", "subject_type": subject_type},
        headers=u.h,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def member(owner: User, shop_id: str, client: httpx.AsyncClient, role: str) -> User:
    """A new account, logged in on `client`, made a member of the owner's shop in `role`."""
    u = await user(client)
    r = await owner.client.post(
        f"/merchant/shops/{shop_id}/members",
        json={"username": u.username, "role": role},
        headers=owner.h,
    )
    assert r.status_code == 201, r.text
    return u


def licence_number() -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first = (
        "91"
        + "".join(secrets.choice("0123456789") for _ in range(6))
        + "".join(secrets.choice(alphabet) for _ in range(9))
    )
    return first + uscc_check_char(first)


def id_number() -> str:
    first = "110105" + "19850612" + "".join(secrets.choice("0123456789") for _ in range(3))
    return first + id_check_char(first)


def qualification(**overrides: Any) -> dict[str, Any]:
    body = {
        "licence_number": licence_number(),
        "registered_name": "Test Trading Co., Ltd.",
        "licence_image_url": "https://cdn.example.com/licence.jpg",
        "operator_name": "Wang Fang",
        "operator_id_number": id_number(),
        "bank_account_name": "Test Trading Co., Ltd.",
        "bank_name": "Bank of Testing",
        "bank_account_number": "6225 8801 3700 9876",
    }
    body.update(overrides)
    return body


async def business_shop_in_review(u: User, *, subject_type: str = "enterprise") -> dict[str, Any]:
    shop = await open_shop(u, subject_type=subject_type)
    r = await u.client.put(
        f"/merchant/shops/{shop['id']}/qualification", json=qualification(), headers=u.h
    )
    assert r.status_code == 200, r.text
    return shop


#: The `new_client` fixture: another independent client (own cookies, own address).
NewClient = Callable[..., httpx.AsyncClient]


#: How a fingerprint reads a table: every row (""), the rows of the given shops ("shop"), or
#: those shops' rows and the rows of no shop plus the number of rows of all shops ("shop+count").
_Scope = Callable[[sa.Table], str | None]


def _digest_sql(dialect: str, table: sa.Table, how: str) -> str:
    """A select of the table's name, its row count and every row's text, sorted and joined by
    the database itself: no rows travel to Python or go through type processing."""
    column = "id" if table.name == "shops" else "shop_id"
    where = ""
    if how == "shop":
        where = f'WHERE t."{column}" IN :shop_ids'
    elif how == "shop+count":
        # A row whose shop is null (an app's test delivery, an account's audit entry, a
        # platform timer) belongs to no shop: read in full, like the tables without `shop_id`.
        where = f'WHERE t."{column}" IN :shop_ids OR t."{column}" IS NULL'
    columns = [c for c in table.c if c.name not in _VOLATILE_COLUMNS or not how]
    name = f'"{table.name}"'
    total = f"(SELECT count(*) FROM {name})" if how == "shop+count" else "CAST(NULL AS BIGINT)"
    if dialect == "postgresql":
        row = "ROW(" + ", ".join(f't."{c.name}"' for c in columns) + ")::text"
        return (
            f"SELECT '{table.name}', count(*), coalesce(string_agg(r, E'\\n' ORDER BY r), ''), "
            f"{total} FROM (SELECT {row} AS r FROM {name} AS t {where}) AS s"
        )
    row = " || ',' || ".join(f'quote(t."{c.name}")' for c in columns)
    return (
        f"SELECT '{table.name}', count(*), coalesce(group_concat(r, char(10)), ''), {total} "
        f"FROM (SELECT {row} AS r FROM {name} AS t {where} ORDER BY r)"
    )


async def _fingerprint(
    container: Container, scope: _Scope, shop_ids: tuple[str, ...] = ()
) -> dict[str, str]:
    """Every table the scope reads, digested, in one statement (one round trip: a refusal
    test fingerprints before and after each of hundreds of calls)."""
    async with container.engine.connect() as conn:
        dialect = conn.dialect.name
        selects = [
            _digest_sql(dialect, table, how)
            for table in metadata.sorted_tables
            if (how := scope(table)) is not None
        ]
        statement = sa.text(" UNION ALL ".join(selects))
        if shop_ids:
            statement = statement.bindparams(sa.bindparam("shop_ids", expanding=True))
        params = {"shop_ids": list(shop_ids)} if shop_ids else {}
        rows = (await conn.execute(statement, params)).all()
    out: dict[str, str] = {}
    for name, count, text, total in rows:
        digest = hashlib.sha256(str(text).encode()).hexdigest()
        out[name] = f"{count}:{digest}" + ("" if total is None else f":{total}")
    return out


async def db_fingerprint(container: Container) -> dict[str, str]:
    """A digest of every table's rows: equal before and after means nothing changed."""
    return await _fingerprint(container, lambda table: "")


#: Bookkeeping that a refused call may still move (a grant's "last used" stamp).
_VOLATILE_COLUMNS = frozenset({"last_used_at"})


def _of_a_shop(table: sa.Table) -> bool:
    return table.name == "shops" or "shop_id" in table.c


async def shop_fingerprint(container: Container, shop_id: str) -> dict[str, str]:
    """A digest of one shop's rows (the shop itself and every table carrying `shop_id`):
    equal before and after means the calls in between changed nothing of that shop."""
    return await _fingerprint(container, lambda t: "shop" if _of_a_shop(t) else None, (shop_id,))


async def fingerprint(container: Container, shop_id: str, *more_shop_ids: str) -> dict[str, str]:
    """What a call by someone of the shop under test could change, digested: that shop's rows
    (and those of `more_shop_ids`: say the caller's own shop when the call targets another
    one) in full, every row that belongs to no shop (accounts, sessions, apps, keys, and the
    rows of a shop table whose shop is null) in full, and the number of rows of every table,
    so that a row added to or removed from any other shop shows too. Equal before and after
    means the call changed nothing, at the cost of reading these shops rather than everything
    earlier tests wrote."""
    shop_ids = (shop_id, *more_shop_ids)
    return await _fingerprint(container, lambda t: "shop+count" if _of_a_shop(t) else "", shop_ids)


@dataclass
class Buyer:
    """A buyer logged in on the storefront: the token pair `POST /v1/storefront/token` gave."""

    client: httpx.AsyncClient
    id: str
    username: str
    access_token: str
    refresh_token: str

    @property
    def h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def buyer_token(
    client: httpx.AsyncClient, *, username: str, password: str = PASSWORD
) -> dict[str, Any]:
    r = await client.post(
        "/v1/storefront/token",
        json={"grant_type": "password", "username": username, "password": password},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def buyer(client: httpx.AsyncClient, *, username: str | None = None) -> Buyer:
    """An account (made as `user` makes one) logged in through the storefront's token
    endpoint: the buyer's calls carry its access token, not a cookie."""
    container = app_container(client)
    if container is None:
        account = await register(client, username=username)
        account_id, name = str(account["id"]), str(account["username"])
    else:
        async with container.uow() as uow:
            made = await accounts.register(
                uow, container.hasher, username=username or unique("b"), password=PASSWORD
            )
            await uow.commit()
        account_id, name = made.id, made.username
    tokens = await buyer_token(client, username=name)
    assert tokens["account_id"] == account_id
    return Buyer(client, account_id, name, tokens["access_token"], tokens["refresh_token"])


def address(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient": "王芳",
        "phone": "13800138000",
        "region_code": "440305",
        "detail": "科技园南区深南大道10000号 2栋 1801",
    }
    body.update(overrides)
    return body


async def buyer_address(b: Buyer, **overrides: Any) -> dict[str, Any]:
    r = await b.client.post("/v1/storefront/addresses", json=address(**overrides), headers=b.h)
    assert r.status_code == 201, r.text
    return dict(r.json())
