"""Buyers on the storefront over HTTP: the token endpoint (password and refresh grants, throttling,
rotation and reuse detection, revocation, expiry), the buyer bearer token kept apart from the
provider's and from the merchant's session, and the buyer's address book (CRUD, the default
rule, phone and region validation, another buyer's ids)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.infra.db import tables
from app.settings import Settings
from tests import factories as f
from tests.factories import NewClient
from tests.oauth_support import authorized
from tests.test_conventions import assert_problem

TOKEN = "/v1/storefront/token"
REVOKE = "/v1/storefront/token/revoke"
ADDRESSES = "/v1/storefront/addresses"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def invalid_grant(r: httpx.Response) -> dict[str, Any]:
    body = assert_problem(r, 400, "invalid_grant")
    assert body["error"] == "invalid_grant" and body["error_description"] == body["detail"]
    assert r.headers["cache-control"] == "no-store"
    return body


def invalid_token(r: httpx.Response) -> dict[str, Any]:
    body = assert_problem(r, 401, "invalid_token")
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="minishop-storefront", error="invalid_token"')
    return body


async def families(container: Container, account_id: str) -> list[dict[str, Any]]:
    t = tables.buyer_token_families
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(t).where(t.c.account_id == account_id))
        return [dict(r._mapping) for r in rows]


# --- the token endpoint --------------------------------------------------------------------------


async def test_password_grant_answers_a_bearer_token_pair(client: httpx.AsyncClient) -> None:
    b = await f.buyer(client)
    r = await client.post(
        TOKEN, json={"grant_type": "password", "username": b.username, "password": f.PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["refresh_token"].startswith("msbr_") and body["account_id"] == b.id
    assert body["access_token"].count(".") == 2
    # No cookie: a mini program is no browser.
    assert "set-cookie" not in r.headers
    r = await client.get(ADDRESSES, headers=bearer(body["access_token"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"data": [], "next_cursor": None}


async def test_form_encoded_requests_work_as_oauth_clients_send_them(
    client: httpx.AsyncClient,
) -> None:
    b = await f.buyer(client)
    r = await client.post(
        TOKEN, data={"grant_type": "password", "username": b.username, "password": f.PASSWORD}
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"]}
    )
    assert r.status_code == 200, r.text
    access = r.json()["access_token"]
    # A parameter sent twice is refused; an empty one counts as left out.
    r = await client.post(
        TOKEN,
        content=f"grant_type=password&username={b.username}&username=x&password=p",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(r, 422, "validation_error")
    r = await client.post(
        TOKEN, data={"grant_type": "password", "username": b.username, "password": ""}
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"] == [
        {"loc": ["body", "password"], "msg": "Field required", "type": "missing"}
    ]
    r = await client.post(REVOKE, data={"token": access, "token_type_hint": "access_token"})
    assert r.status_code == 204, r.text
    invalid_token(await client.get(ADDRESSES, headers=bearer(access)))


async def test_wrong_credentials_are_an_invalid_grant_and_write_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    b = await f.buyer(client)
    before = await families(container, b.id)
    r = await client.post(
        TOKEN,
        json={"grant_type": "password", "username": b.username, "password": "Wrong-passw0rd!"},
    )
    body = invalid_grant(r)
    assert body["detail"] == "Wrong username or password."
    r = await client.post(
        TOKEN, json={"grant_type": "password", "username": f.unique("nobody"), "password": "x" * 12}
    )
    assert invalid_grant(r)["detail"] == "Wrong username or password."
    invalid_grant(
        await client.post(TOKEN, json={"grant_type": "refresh_token", "refresh_token": "msbr_nope"})
    )
    assert await families(container, b.id) == before


async def test_each_grant_names_the_fields_it_needs(client: httpx.AsyncClient) -> None:
    r = await client.post(TOKEN, json={"grant_type": "password", "username": "someone"})
    body = assert_problem(r, 422, "validation_error")
    assert [e["loc"] for e in body["errors"]] == [["body", "password"]]
    r = await client.post(TOKEN, json={"grant_type": "refresh_token"})
    body = assert_problem(r, 422, "validation_error")
    assert [e["loc"] for e in body["errors"]] == [["body", "refresh_token"]]
    r = await client.post(TOKEN, json={"grant_type": "client_credentials"})
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "grant_type"]
    r = await client.post(
        TOKEN, json={"grant_type": "password", "username": "a", "password": "b", "scope": "x"}
    )
    assert_problem(r, 422, "validation_error")


async def test_buyer_login_is_throttled_like_the_merchant_login(
    new_client: NewClient, settings: Settings
) -> None:
    c = new_client()
    b = await f.buyer(c)
    wrong = {"grant_type": "password", "username": b.username, "password": "Wrong-passw0rd!"}
    for _ in range(settings.login_attempts_per_account):
        invalid_grant(await c.post(TOKEN, json=wrong))
    good = {**wrong, "password": f.PASSWORD}
    r = await new_client().post(TOKEN, json=good)
    body = assert_problem(r, 429, "login_throttled")
    assert 1 <= int(r.headers["Retry-After"]) <= settings.login_window_seconds + 1
    assert r.headers["Retry-After"] in body["detail"]
    # The same counters as the merchant login: the account is locked there too.
    r = await new_client().post(
        "/auth/login", json={"username": b.username, "password": f.PASSWORD}
    )
    assert_problem(r, 429, "login_throttled")

    # Per address: spraying usernames from one address locks the address.
    ip = f"198.51.100.{secrets.randbelow(254) + 1}"
    attacker = new_client(ip=ip)
    victim = await f.buyer(new_client())
    for _ in range(settings.login_attempts_per_ip):
        invalid_grant(await attacker.post(TOKEN, json={**wrong, "username": f.unique("spray")}))
    r = await attacker.post(TOKEN, json={**good, "username": victim.username})
    assert_problem(r, 429, "login_throttled")
    await f.buyer_token(new_client(), username=victim.username)


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_login(
    client: httpx.AsyncClient, container: Container
) -> None:
    b = await f.buyer(client)
    r = await client.post(
        TOKEN, json={"grant_type": "refresh_token", "refresh_token": b.refresh_token}
    )
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != b.refresh_token
    assert second["access_token"] != b.access_token
    # The first access token is of the same login: still good until it expires.
    assert (await client.get(ADDRESSES, headers=b.h)).status_code == 200
    assert (await client.get(ADDRESSES, headers=bearer(second["access_token"]))).status_code == 200
    # Another login of the same buyer, which the reuse below must not touch.
    other = await f.buyer_token(client, username=b.username)

    # The spent refresh token again: refused, and the whole login is revoked, although the
    # request's own transaction rolled back.
    body = invalid_grant(
        await client.post(
            TOKEN, json={"grant_type": "refresh_token", "refresh_token": b.refresh_token}
        )
    )
    assert "already used" in body["detail"]
    invalid_grant(
        await client.post(
            TOKEN, json={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
        )
    )
    invalid_token(await client.get(ADDRESSES, headers=bearer(second["access_token"])))
    invalid_token(await client.get(ADDRESSES, headers=b.h))
    assert (await client.get(ADDRESSES, headers=bearer(other["access_token"]))).status_code == 200
    revoked = [fam for fam in await families(container, b.id) if fam["revoked_at"] is not None]
    assert [fam["revoked_reason"] for fam in revoked] == ["refresh token reused"]


async def test_revocation_ends_the_login_and_unknown_tokens_are_no_error(
    client: httpx.AsyncClient,
) -> None:
    b = await f.buyer(client)
    second = await f.buyer_token(client, username=b.username)
    r = await client.post(
        REVOKE, json={"token": b.refresh_token, "token_type_hint": "refresh_token"}
    )
    assert r.status_code == 204 and r.content == b""
    assert r.headers["cache-control"] == "no-store"
    # The access token of that login fails at once (its family is checked on every request).
    invalid_token(await client.get(ADDRESSES, headers=b.h))
    invalid_grant(
        await client.post(
            TOKEN, json={"grant_type": "refresh_token", "refresh_token": b.refresh_token}
        )
    )
    # The buyer's other login is another family.
    assert (await client.get(ADDRESSES, headers=bearer(second["access_token"]))).status_code == 200
    # An access token revokes its login too; again, or unknown tokens, are still a 204.
    for token in (second["access_token"], second["access_token"], "msbr_unknown", "a.b.c"):
        assert (await client.post(REVOKE, json={"token": token})).status_code == 204
    invalid_grant(
        await client.post(
            TOKEN, json={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
        )
    )
    assert_problem(await client.post(REVOKE, json={}), 422, "validation_error")


async def test_expired_tokens_are_refused(client: httpx.AsyncClient, container: Container) -> None:
    b = await f.buyer(client)
    fam = (await families(container, b.id))[0]
    # An access token issued 16 minutes ago by the server's own key: expired by now.
    issued = int(time.time()) - 16 * 60
    cfg = container.buyer_auth
    stale = container.buyer_tokens.encode(
        {
            "iss": cfg.issuer,
            "aud": cfg.audience,
            "sub": b.id,
            "fam": fam["id"],
            "token_use": "buyer_access",
            "jti": new_id("bat"),
            "iat": issued,
            "exp": issued + 900,
        }
    )
    body = invalid_token(await client.get(ADDRESSES, headers=bearer(stale)))
    assert "expired" in body["detail"]
    # The refresh token's 30 days are over.
    t = tables.buyer_refresh_tokens
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(t)
            .where(t.c.family_id == fam["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    body = invalid_grant(
        await client.post(
            TOKEN, json={"grant_type": "refresh_token", "refresh_token": b.refresh_token}
        )
    )
    assert "expired" in body["detail"]


async def test_buyer_and_provider_tokens_never_pass_for_each_other(
    client: httpx.AsyncClient, new_client: NewClient
) -> None:
    b = await f.buyer(new_client())
    provider = await authorized(client)
    provider_token = provider.tokens["access_token"]
    # A provider's token on a buyer route, a buyer's on a provider route.
    body = invalid_token(await client.get(ADDRESSES, headers=bearer(provider_token)))
    assert "not valid" in body["detail"]
    r = await new_client().get("/v1/shop", headers=b.h)
    assert_problem(r, 401, "invalid_token")
    assert (await new_client().get("/v1/shop", headers=bearer(provider_token))).status_code == 200
    # Nor is a buyer token a merchant session; nor a session a buyer token.
    assert_problem(await new_client().get("/auth/me", headers=b.h), 401, "session_required")
    merchant = await f.user(new_client())
    invalid_token(await merchant.client.get(ADDRESSES))
    # A provider's refresh token at the buyer's token endpoint, and a buyer's at /oauth/token.
    invalid_grant(
        await client.post(
            TOKEN,
            json={"grant_type": "refresh_token", "refresh_token": provider.tokens["refresh_token"]},
        )
    )
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": b.refresh_token},
        auth=(provider.app.client_id, provider.app.client_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # Revoking a provider's token at the storefront does nothing to it.
    assert (await client.post(REVOKE, json={"token": provider_token})).status_code == 204
    assert (await client.get("/v1/shop", headers=bearer(provider_token))).status_code == 200
    # No token, a malformed one, another scheme.
    for headers in ({}, bearer("nope"), {"Authorization": "Basic eDp5"}):
        invalid_token(await client.get(ADDRESSES, headers=headers))


# --- addresses ---------------------------------------------------------------------------------


async def test_address_crud_with_the_region_resolved(client: httpx.AsyncClient) -> None:
    b = await f.buyer(client)
    r = await client.post(ADDRESSES, json=f.address(phone="+86 138-0013-8000"), headers=b.h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["location"] == f"{ADDRESSES}/{made['id']}"
    assert r.headers["etag"] == '"1"'
    assert made["id"].startswith("addr_") and made["phone"] == "13800138000"
    assert made["is_default"] is True  # the first address
    assert made["region"] == {
        "code": "440305",
        "province_code": "440000",
        "province_name": "广东省",
        "city_code": "440300",
        "city_name": "深圳市",
        "district_name": "南山区",
    }
    r = await client.get(f"{ADDRESSES}/{made['id']}", headers=b.h)
    assert r.status_code == 200 and r.json() == made and r.headers["etag"] == '"1"'

    r = await client.patch(
        f"{ADDRESSES}/{made['id']}",
        json={"region_code": "110105", "detail": "阜通东大街6号"},
        headers={**b.h, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["version"] == 2 and r.headers["etag"] == '"2"'
    assert changed["recipient"] == "王芳" and changed["detail"] == "阜通东大街6号"
    assert changed["region"]["city_code"] is None and changed["region"]["province_name"] == "北京市"
    # A stale If-Match changes nothing.
    r = await client.patch(
        f"{ADDRESSES}/{made['id']}", json={"recipient": "李雷"}, headers={**b.h, "If-Match": '"1"'}
    )
    assert_problem(r, 412, "precondition_failed")
    assert (await client.get(f"{ADDRESSES}/{made['id']}", headers=b.h)).json() == changed

    r = await client.delete(f"{ADDRESSES}/{made['id']}", headers=b.h)
    assert r.status_code == 204
    assert_problem(
        await client.get(f"{ADDRESSES}/{made['id']}", headers=b.h), 404, "address_not_found"
    )
    assert (await client.get(ADDRESSES, headers=b.h)).json()["data"] == []


async def test_exactly_one_default_whenever_the_buyer_has_addresses(
    client: httpx.AsyncClient,
) -> None:
    b = await f.buyer(client)

    async def defaults() -> list[str]:
        r = await client.get(ADDRESSES, headers=b.h)
        return [a["id"] for a in r.json()["data"] if a["is_default"]]

    first = await f.buyer_address(b)
    second = await f.buyer_address(b, recipient="李雷")
    assert second["is_default"] is False and await defaults() == [first["id"]]
    third = await f.buyer_address(b, recipient="韩梅梅", is_default=True)
    assert third["is_default"] is True and await defaults() == [third["id"]]
    r = await client.post(f"{ADDRESSES}/{second['id']}/default", headers=b.h)
    assert r.status_code == 200 and r.json()["is_default"] is True
    assert await defaults() == [second["id"]]
    # Again: nothing changes.
    r = await client.post(f"{ADDRESSES}/{second['id']}/default", headers=b.h)
    assert r.json()["version"] == 2
    # Deleting the default promotes the newest remaining address.
    assert (await client.delete(f"{ADDRESSES}/{second['id']}", headers=b.h)).status_code == 204
    assert await defaults() == [third["id"]]
    assert (await client.delete(f"{ADDRESSES}/{first['id']}", headers=b.h)).status_code == 204
    assert await defaults() == [third["id"]]
    assert (await client.delete(f"{ADDRESSES}/{third['id']}", headers=b.h)).status_code == 204
    assert await defaults() == []
    again = await f.buyer_address(b)
    assert again["is_default"] is True


async def test_addresses_page_with_a_cursor(client: httpx.AsyncClient) -> None:
    b = await f.buyer(client)
    made = [(await f.buyer_address(b, recipient=f"收件人{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(ADDRESSES, params=params, headers=b.h)
        assert r.status_code == 200, r.text
        seen += [a["id"] for a in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == made


async def test_phone_and_region_are_validated_and_nothing_is_stored(
    client: httpx.AsyncClient, container: Container
) -> None:
    b = await f.buyer(client)
    before = await f.db_fingerprint(container)
    for phone in ("12800138000", "1380013800", "138001380001", "23800138000", "138OO138000"):
        r = await client.post(ADDRESSES, json=f.address(phone=phone), headers=b.h)
        body = assert_problem(r, 422)
        assert body["code"] in ("phone_invalid", "validation_error"), body
        assert body["errors"][0]["loc"] == ["body", "phone"]
    # Not a district: unknown, a province, a statistical grouping ("市辖区"), a city with
    # districts under it.
    for code in ("999999", "440000", "440301", "440300"):
        r = await client.post(ADDRESSES, json=f.address(region_code=code), headers=b.h)
        body = assert_problem(r, 422, "region_unknown")
        assert body["errors"][0]["loc"] == ["body", "region_code"]
    for bad in ({"region_code": "4403"}, {"recipient": ""}, {"detail": "x" * 121}, {"zip": "1"}):
        r = await client.post(ADDRESSES, json=f.address(**bad), headers=b.h)
        assert_problem(r, 422, "validation_error")
    assert await f.db_fingerprint(container) == before
    # A city or a province-level region with no districts is an address's region too.
    for code in ("441900", "810000"):
        assert (await f.buyer_address(b, region_code=code))["region"]["code"] == code
    made = await f.buyer_address(b)
    r = await client.patch(f"{ADDRESSES}/{made['id']}", json={"phone": "110"}, headers=b.h)
    assert_problem(r, 422, "validation_error")
    r = await client.patch(f"{ADDRESSES}/{made['id']}", json={"phone": "10000000000"}, headers=b.h)
    assert_problem(r, 422, "phone_invalid")
    r = await client.patch(f"{ADDRESSES}/{made['id']}", json={"region_code": "440301"}, headers=b.h)
    assert_problem(r, 422, "region_unknown")
    assert (await client.get(f"{ADDRESSES}/{made['id']}", headers=b.h)).json() == made


async def test_a_buyer_keeps_at_most_twenty_addresses(client: httpx.AsyncClient) -> None:
    b = await f.buyer(client)
    for i in range(20):
        await f.buyer_address(b, recipient=f"收件人{i}")
    r = await client.post(ADDRESSES, json=f.address(), headers=b.h)
    body = assert_problem(r, 409, "address_limit_reached")
    assert body["limit"] == 20


async def test_another_buyers_addresses_are_not_found(new_client: NewClient) -> None:
    a, b = await f.buyer(new_client()), await f.buyer(new_client())
    mine = await f.buyer_address(b)
    for method, path, body in (
        ("GET", f"{ADDRESSES}/{mine['id']}", None),
        ("PATCH", f"{ADDRESSES}/{mine['id']}", {"recipient": "李雷"}),
        ("DELETE", f"{ADDRESSES}/{mine['id']}", None),
        ("POST", f"{ADDRESSES}/{mine['id']}/default", None),
    ):
        r = await a.client.request(method, path, json=body, headers=a.h)
        problem = assert_problem(r, 404, "address_not_found")
        assert "王芳" not in r.text and b.id not in r.text, problem
    assert (await a.client.get(ADDRESSES, headers=a.h)).json()["data"] == []
    r = await b.client.get(f"{ADDRESSES}/{mine['id']}", headers=b.h)
    assert r.status_code == 200 and r.json() == mine


async def test_creating_an_address_honours_idempotency_keys(client: httpx.AsyncClient) -> None:
    b = await f.buyer(client)
    key = {"Idempotency-Key": f"addr-{secrets.token_hex(4)}"}
    first = await client.post(ADDRESSES, json=f.address(), headers={**b.h, **key})
    assert first.status_code == 201
    # A new login of the same buyer replays it; the key is the buyer's, not the token's.
    renewed = await f.buyer_token(client, username=b.username)
    again = await client.post(
        ADDRESSES, json=f.address(), headers={**bearer(renewed["access_token"]), **key}
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len((await client.get(ADDRESSES, headers=b.h)).json()["data"]) == 1
    # Another buyer's same key is its own.
    other = await f.buyer(client)
    r = await client.post(ADDRESSES, json=f.address(), headers={**other.h, **key})
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers


async def test_a_revoked_login_claims_no_key_and_gets_no_replay(
    client: httpx.AsyncClient, container: Container
) -> None:
    """The login's live state is checked before a key is looked at (on PostgreSQL by the
    claim's own statement): a revoked login's keyed request is a 401, whether its key is new
    (nothing claimed, nothing written) or holds a response (not given back); the buyer's other
    login gets that response."""
    b = await f.buyer(client)
    other = await f.buyer_token(client, username=b.username)
    stored = {"Idempotency-Key": f"addr-{secrets.token_hex(4)}"}
    first = await client.post(ADDRESSES, json=f.address(), headers={**b.h, **stored})
    assert first.status_code == 201
    r = await client.post(REVOKE, json={"token": b.refresh_token})
    assert r.status_code == 204
    replayed = await client.post(ADDRESSES, json=f.address(), headers={**b.h, **stored})
    invalid_token(replayed)
    assert "idempotent-replayed" not in replayed.headers
    fresh = f"addr-{secrets.token_hex(4)}"
    invalid_token(
        await client.post(ADDRESSES, json=f.address(), headers={**b.h, "Idempotency-Key": fresh})
    )
    t = tables.idempotency_keys
    scope_key = hashlib.sha256(f"buyer:{b.id}".encode() + b"\x00" + fresh.encode()).hexdigest()
    async with container.engine.connect() as conn:
        claimed = await conn.scalar(sa.select(sa.func.count()).where(t.c.scope_key == scope_key))
    assert claimed == 0
    live = bearer(other["access_token"])
    again = await client.post(ADDRESSES, json=f.address(), headers={**live, **stored})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert len((await client.get(ADDRESSES, headers=live)).json()["data"]) == 1


async def test_concurrent_first_addresses_make_exactly_one_default(
    client: httpx.AsyncClient,
) -> None:
    """The buyer's account row is locked by every change that moves the default: racing
    first addresses take turns, and one of them is the default."""
    b = await f.buyer(client)
    made = await asyncio.gather(
        *(
            client.post(ADDRESSES, json=f.address(recipient=f"收件人{i}"), headers=b.h)
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in made) == [201] * 6, [r.text for r in made]
    listed = (await client.get(ADDRESSES, headers=b.h)).json()["data"]
    assert len(listed) == 6
    assert [a["is_default"] for a in listed].count(True) == 1
