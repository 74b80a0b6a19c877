"""A shop's logistics accounts and sender/return address book on the open API (issue 15):
binding verified by the carrier, the secret encrypted at rest and shown masked, unbinding;
the address book's CRUD with GB/T 2260 regions and one default sender; another shop's ids
are not found."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa

from app.container import Container
from app.infra.db import tables
from tests.logistics_support import KEY, SECRET, account_body, address_body
from tests.product_support import Provider, provider

ACCOUNTS = "/v1/logistics/accounts"
ADDRESSES = "/v1/logistics/addresses"


async def _bind(p: Provider, **overrides: Any) -> dict[str, Any]:
    r = await p.post(ACCOUNTS, account_body(**overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _account_row(container: Container, shop_id: str, account_id: str) -> dict[str, Any]:
    a = tables.logistics_accounts
    async with container.engine.connect() as conn:
        row = (
            await conn.execute(sa.select(a).where(a.c.shop_id == shop_id, a.c.id == account_id))
        ).one()
    return dict(row._mapping)


async def test_binding_is_verified_and_the_secret_encrypted_and_masked(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    r = await p.post(ACCOUNTS, account_body())
    assert r.status_code == 201, r.text
    account = r.json()
    assert r.headers["Location"] == f"{ACCOUNTS}/{account['id']}"
    assert account["id"].startswith("lacc_")
    assert (account["carrier"], account["customer_code"]) == ("SF", "7551234567")
    assert account["secret_masked"] == "********7e1d"
    assert account["key_masked"] == "********0142"
    assert SECRET not in r.text and KEY not in r.text

    row = await _account_row(container, p.shop_id, account["id"])
    stored = " ".join(str(v) for v in row.values())
    assert SECRET not in stored and KEY not in stored
    assert container.cipher.decrypt(row["secret_encrypted"]) == SECRET
    assert container.cipher.decrypt(row["key_encrypted"]) == KEY

    got = await p.get(f"{ACCOUNTS}/{account['id']}")
    assert got.status_code == 200 and got.json() == account
    listed = await p.get(ACCOUNTS)
    assert listed.status_code == 200 and listed.json()["data"] == [account]

    log = tables.audit_log
    async with container.engine.connect() as conn:
        entries = (
            await conn.execute(
                sa.select(log.c.action, log.c.after, log.c.actor_id).where(
                    log.c.shop_id == p.shop_id, log.c.target_id == account["id"]
                )
            )
        ).all()
    assert [(e.action, e.actor_id) for e in entries] == [("logistics_account.bind", p.auth.app.id)]
    assert SECRET not in str(entries[0].after)


async def test_unbind(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    kept = await _bind(p, customer_code="0201234567")
    gone = await _bind(p, carrier="ZTO")
    r = await p.client.delete(f"{ACCOUNTS}/{gone['id']}", headers=p.h)
    assert r.status_code == 204, r.text
    assert (await p.get(f"{ACCOUNTS}/{gone['id']}")).json()["code"] == (
        "logistics_account_not_found"
    )
    assert (await p.client.delete(f"{ACCOUNTS}/{gone['id']}", headers=p.h)).status_code == 404
    assert [a["id"] for a in (await p.get(ACCOUNTS)).json()["data"]] == [kept["id"]]
    # Unbound, the same account can be bound again.
    await _bind(p, carrier="ZTO")


async def test_bad_credentials_and_carriers_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
) -> None:
    p = await provider(client)
    for body, code in [
        (account_body(secret="tiny-sec"), "logistics_account_refused"),
        (account_body(secret="refuse-this-one-please"), "logistics_account_refused"),
        (account_body(carrier="NOPE"), "carrier_unknown"),
        (account_body(carrier="OTHER"), "carrier_not_supported"),
    ]:
        r = await p.post(ACCOUNTS, body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == code, r.text
        assert body["secret"] not in r.text
    refused = (await p.post(ACCOUNTS, account_body(secret="tiny-sec"))).json()
    assert "shorter than 12" in refused["detail"]
    assert refused["errors"][0]["loc"] == ["body", "secret"]
    assert (await p.get(ACCOUNTS)).json()["data"] == []

    await _bind(p)
    twice = await p.post(ACCOUNTS, account_body(secret="sk_sandbox_another_one"))
    assert twice.status_code == 409 and twice.json()["code"] == "logistics_account_exists"


async def test_another_shops_account_and_address_are_not_found(
    client: httpx.AsyncClient,
) -> None:
    a, b = await provider(client), await provider(client)
    account = await _bind(b)
    address = (await b.post(ADDRESSES, address_body())).json()
    for method, path in [
        ("GET", f"{ACCOUNTS}/{account['id']}"),
        ("DELETE", f"{ACCOUNTS}/{account['id']}"),
        ("GET", f"{ADDRESSES}/{address['id']}"),
        ("PATCH", f"{ADDRESSES}/{address['id']}"),
        ("DELETE", f"{ADDRESSES}/{address['id']}"),
    ]:
        body = {"name": "李雷"} if method == "PATCH" else None
        r = await a.client.request(method, path, json=body, headers=a.h)
        assert r.status_code == 404, (method, path, r.text)
        assert account["customer_code"] not in r.text
    assert (await a.get(ACCOUNTS)).json()["data"] == []
    assert (await a.get(ADDRESSES)).json()["data"] == []
    assert (await b.get(f"{ACCOUNTS}/{account['id']}")).status_code == 200
    assert (await b.get(f"{ADDRESSES}/{address['id']}")).json()["name"] == "张伟"


async def test_the_address_book(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    r = await p.post(ADDRESSES, address_body())
    assert r.status_code == 201, r.text
    first = r.json()
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{ADDRESSES}/{first['id']}"
    assert first["is_default"] is True  # the first one
    assert first["phone"] == "13800138000"
    assert first["region"]["district_name"] == "南山区"
    assert first["region"]["city_name"] == "深圳市"
    assert first["company"] is None

    second = (
        await p.post(ADDRESSES, address_body(name="退货部", region_code="110105", company="仓库"))
    ).json()
    assert second["is_default"] is False
    third = (await p.post(ADDRESSES, address_body(is_default=True))).json()
    assert third["is_default"] is True
    assert (await p.get(f"{ADDRESSES}/{first['id']}")).json()["is_default"] is False

    # PATCH with If-Match; a stale one is 412.
    r = await p.client.patch(
        f"{ADDRESSES}/{second['id']}",
        json={"detail": "朝阳区仓库 1 号门", "is_default": True, "company": ""},
        headers={**p.h, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["detail"], changed["is_default"], changed["company"]) == (
        "朝阳区仓库 1 号门",
        True,
        None,
    )
    assert changed["version"] == 2 and r.headers["ETag"] == '"2"'
    stale = await p.client.patch(
        f"{ADDRESSES}/{second['id']}", json={"name": "X"}, headers={**p.h, "If-Match": '"1"'}
    )
    assert stale.status_code == 412, stale.text
    unset = await p.client.patch(
        f"{ADDRESSES}/{second['id']}", json={"is_default": False}, headers=p.h
    )
    assert unset.status_code == 422 and unset.json()["code"] == "default_sender_required"
    defaults = [a for a in (await p.get(ADDRESSES)).json()["data"] if a["is_default"]]
    assert [a["id"] for a in defaults] == [second["id"]]

    # Deleting the default promotes the newest remaining address.
    r = await p.client.delete(f"{ADDRESSES}/{second['id']}", headers=p.h)
    assert r.status_code == 204, r.text
    assert (await p.get(f"{ADDRESSES}/{second['id']}")).status_code == 404
    remaining = (await p.get(ADDRESSES)).json()["data"]
    assert [(a["id"], a["is_default"]) for a in remaining] == [
        (first["id"], False),
        (third["id"], True),
    ]


async def test_addresses_are_validated(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    for overrides, code, field in [
        ({"region_code": "440300"}, "region_unknown", "region_code"),  # a city with districts
        ({"region_code": "999999"}, "region_unknown", "region_code"),
        ({"phone": "010-12345678"}, "phone_invalid", "phone"),
    ]:
        r = await p.post(ADDRESSES, address_body(**overrides))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == code
        assert r.json()["errors"][0]["loc"] == ["body", field]
    r = await p.post(ADDRESSES, address_body(region_code="4403"))
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert (await p.get(ADDRESSES)).json()["data"] == []

    made = (await p.post(ADDRESSES, address_body())).json()
    r = await p.client.patch(
        f"{ADDRESSES}/{made['id']}", json={"region_code": "000000"}, headers=p.h
    )
    assert r.status_code == 422 and r.json()["code"] == "region_unknown"
    assert (await p.get(f"{ADDRESSES}/{made['id']}")).json()["region_code"] == "440305"


async def test_scopes(client: httpx.AsyncClient) -> None:
    reader = await provider(client, scope="logistics:read")
    assert (await reader.get(ACCOUNTS)).status_code == 200
    r = await reader.post(ACCOUNTS, account_body())
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    r = await reader.post(ADDRESSES, address_body())
    assert r.status_code == 403


async def test_addresses_added_at_once_to_an_empty_book_leave_one_default(
    client: httpx.AsyncClient,
) -> None:
    """On PostgreSQL the requests really run together (SQLite takes them in turn): each
    answers 201, and the book has exactly one default sender."""
    p = await provider(client)
    made = await asyncio.gather(
        *(
            p.client.post(ADDRESSES, json=address_body(name=f"发件{i}"), headers=p.h)
            for i in range(4)
        )
    )
    assert [r.status_code for r in made] == [201] * 4, [r.text for r in made]
    book = (await p.get(ADDRESSES)).json()["data"]
    assert len(book) == 4 and sum(a["is_default"] for a in book) == 1
