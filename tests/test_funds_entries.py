"""The entries of a shop's ledger (issue 14): `GET /v1/funds/entries` for the provider,
`GET /merchant/shops/{shop_id}/funds[/entries]` for the members whose role reads the money;
newest first, by cursor, filtered by account, order and time; never another shop's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from app.container import Container
from tests import factories as f
from tests.order_support import OnSale, on_sale
from tests.product_support import Provider, provider
from tests.test_funds import _paid, check_books, refunded_line

Entry = dict[str, Any]


@dataclass
class Books:
    """A shop whose ledger holds a payment kept in part (an after-sale refunded a line) and a
    payment given back in full (the shop cancelled the order)."""

    shop: OnSale
    kept: dict[str, Any]
    gone: dict[str, Any]
    refund_id: str

    @property
    def p(self) -> Provider:
        return self.shop.p


async def _books(client: httpx.AsyncClient, container: Container, new_client: f.NewClient) -> Books:
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    kept = await _paid(container, shop, b, 2, 1)  # 25000
    refund_id = await refunded_line(container, shop, b, kept, 1)  # 5000
    gone = await _paid(container, shop, b, 1)  # 10000
    r = await shop.p.post(f"/v1/orders/{gone['id']}/cancellation", {"reason": "Out of stock"})
    assert r.status_code == 200, r.text
    await check_books(container, shop.shop_id)
    return Books(shop, kept, gone, refund_id)


Get = Callable[..., Awaitable[httpx.Response]]


def _as_member(u: f.User) -> Get:
    async def get(path: str, **params: Any) -> httpx.Response:
        return await u.client.get(path, params=params, headers=u.h)

    return get


async def _all(get: Get, path: str, **params: Any) -> list[Entry]:
    """Every entry of the list, page by page (asserting each page's shape)."""
    out: list[Entry] = []
    cursor: str | None = None
    while True:
        r = await get(path, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["data"]) <= params.get("limit", 20)
        out += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out


def _at(e: Entry) -> datetime:
    return datetime.fromisoformat(e["created_at"])


async def test_payments_and_refunds_appear_as_entries_newest_first(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    books = await _books(client, container, new_client)
    r = await books.p.get("/v1/funds/entries", limit=100)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    entries = r.json()["data"]
    assert set(entries[0]) == {
        "id",
        "posting_id",
        "kind",
        "account",
        "amount",
        "order_id",
        "payment_id",
        "refund_id",
        "created_at",
    }
    # Newest first: the cancellation's refund, its payment, the after-sale's refund, the
    # first payment; two entries each.
    assert [(e["kind"], e["order_id"]) for e in entries[::2]] == [
        ("refund", books.gone["id"]),
        ("payment", books.gone["id"]),
        ("refund", books.kept["id"]),
        ("payment", books.kept["id"]),
    ]
    assert [_at(e) for e in entries] == sorted((_at(e) for e in entries), reverse=True)
    assert all(e["created_at"].endswith(("Z", "+00:00")) for e in entries)
    postings: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        postings[e["posting_id"]].append(e)
    assert len(postings) == 4 and all(sum(e["amount"] for e in p) == 0 for p in postings.values())
    moves = {(e["kind"], e["account"], e["amount"], e["order_id"]) for e in entries}
    assert moves == {
        ("payment", "gateway", -25000, books.kept["id"]),
        ("payment", "pending", 25000, books.kept["id"]),
        ("refund", "pending", -5000, books.kept["id"]),
        ("refund", "refunded", 5000, books.kept["id"]),
        ("payment", "gateway", -10000, books.gone["id"]),
        ("payment", "pending", 10000, books.gone["id"]),
        ("refund", "pending", -10000, books.gone["id"]),
        ("refund", "refunded", 10000, books.gone["id"]),
    }
    # Each entry names what caused it: the payment (kept whole or given back in full), or
    # the after-sale's refund.
    for e in entries:
        if e["kind"] == "refund" and e["order_id"] == books.kept["id"]:
            assert (e["payment_id"], e["refund_id"]) == (None, books.refund_id)
        else:
            assert e["payment_id"].startswith("pay_") and e["refund_id"] is None
    # The balances are the entries' sums.
    funds = (await books.p.get("/v1/funds")).json()
    for account in ("pending", "available", "refunded", "platform_fee", "insurance_premium"):
        assert funds[account] == sum(e["amount"] for e in entries if e["account"] == account)


async def test_pages_with_a_small_limit_return_every_entry_exactly_once(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    books = await _books(client, container, new_client)
    whole = (await books.p.get("/v1/funds/entries", limit=100)).json()["data"]
    assert len(whole) == 8
    for limit in (1, 3):
        paged = await _all(books.p.get, "/v1/funds/entries", limit=limit)
        assert paged == whole
    # Filters hold across pages too.
    pending = await _all(books.p.get, "/v1/funds/entries", limit=1, account="pending")
    assert pending == [e for e in whole if e["account"] == "pending"]


async def test_the_account_order_and_time_filters(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    books = await _books(client, container, new_client)
    whole = (await books.p.get("/v1/funds/entries", limit=100)).json()["data"]

    async def listed(**params: Any) -> list[Entry]:
        r = await books.p.get("/v1/funds/entries", limit=100, **params)
        assert r.status_code == 200, r.text
        return list(r.json()["data"])

    refunded = await listed(account="refunded")
    assert [e["amount"] for e in refunded] == [10000, 5000]
    assert await listed(account="available") == []
    assert await listed(order_id=books.kept["id"]) == [
        e for e in whole if e["order_id"] == books.kept["id"]
    ]
    assert await listed(order_id=books.gone["id"], account="gateway") == [
        e for e in whole if e["order_id"] == books.gone["id"] and e["account"] == "gateway"
    ]
    assert await listed(order_id="order_nothing_here") == []

    # [from, to): the boundary is in `from`, out of `to`; any zone names the same instant.
    cut = whole[3]["created_at"]
    later = [e for e in whole if _at(e) >= _at(whole[3])]
    earlier = [e for e in whole if _at(e) < _at(whole[3])]
    assert later and earlier
    assert await listed(created_from=cut) == later
    assert await listed(created_to=cut) == earlier
    in_shanghai = _at(whole[3]).astimezone(timezone(timedelta(hours=8)))
    assert await listed(created_to=in_shanghai.isoformat()) == earlier
    assert await listed(created_from=cut, created_to=cut) == []
    first, last = _at(whole[-1]), _at(whole[0])
    assert await listed(created_from=first.isoformat(), created_to=last.isoformat()) == [
        e for e in whole if _at(e) < last
    ]


async def test_bad_filters_are_422_problems(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    r = await p.get("/v1/funds/entries", created_from="2026-11-25T08:00:00")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "validation_error" and body["status"] == 422
    assert [e["loc"] for e in body["errors"]] == [["query", "created_from"]]
    assert "zone" in body["errors"][0]["msg"]
    for params in (
        {"created_to": "yesterday"},
        {"account": "savings"},
        {"order_id": "o" * 41},
        {"limit": 0},
    ):
        r = await p.get("/v1/funds/entries", **params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"], r.text
    r = await p.get("/v1/funds/entries", cursor="not-a-cursor")
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"


async def test_members_who_read_the_money_see_the_same_funds_and_entries(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    books = await _books(client, container, new_client)
    owner, sid = books.p.auth.merchant, books.shop.shop_id
    funds = (await books.p.get("/v1/funds")).json()
    whole = (await books.p.get("/v1/funds/entries", limit=100)).json()["data"]
    finance = await f.member(owner, sid, new_client(), "finance")
    for u in (owner, finance):
        r = await u.client.get(f"/merchant/shops/{sid}/funds", headers=u.h)
        assert r.status_code == 200, r.text
        assert r.json() == funds
        paged = await _all(
            _as_member(u),
            f"/merchant/shops/{sid}/funds/entries",
            limit=3,
        )
        assert paged == whole
    r = await finance.client.get(
        f"/merchant/shops/{sid}/funds/entries",
        params={"order_id": books.gone["id"], "account": "refunded"},
        headers=finance.h,
    )
    assert [(e["kind"], e["amount"]) for e in r.json()["data"]] == [("refund", 10000)]
    r = await finance.client.get(
        f"/merchant/shops/{sid}/funds/entries",
        params={"created_to": "2026-11-25T08:00:00"},
        headers=finance.h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "created_to"]

    # Roles without `finance.read`: refused; someone not in the shop: no such shop.
    for role in ("operator", "customer_service"):
        u = await f.member(owner, sid, new_client(), role)
        for path in (f"/merchant/shops/{sid}/funds", f"/merchant/shops/{sid}/funds/entries"):
            r = await u.client.get(path, headers=u.h)
            assert r.status_code == 403, (role, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "permission_denied"
            assert "pending" not in r.text
    stranger = await f.user(new_client())
    for path in (f"/merchant/shops/{sid}/funds", f"/merchant/shops/{sid}/funds/entries"):
        r = await stranger.client.get(path, headers=stranger.h)
        assert r.status_code == 404 and r.json()["code"] == "shop_not_found"


async def test_another_shops_provider_sees_nothing_of_these_books(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    books = await _books(client, container, new_client)
    other = await provider(client)
    assert other.shop_id != books.shop.shop_id
    r = await other.get("/v1/funds/entries", limit=100)
    assert r.status_code == 200 and r.json() == {"data": [], "next_cursor": None}
    for order in (books.kept, books.gone):
        r = await other.get("/v1/funds/entries", order_id=order["id"])
        assert r.status_code == 200 and r.json() == {"data": [], "next_cursor": None}
    # A cursor of this shop's list does not open the other shop's.
    cursor = (await books.p.get("/v1/funds/entries", limit=1)).json()["next_cursor"]
    r = await other.get("/v1/funds/entries", cursor=cursor)
    assert r.status_code == 200 and r.json()["data"] == []
    funds = (await other.get("/v1/funds")).json()
    assert funds["pending"] == funds["refunded"] == 0
