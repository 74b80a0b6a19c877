"""Shops through the merchant API: opening, limits, names and logos, ETags, qualifications."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.shops.permissions import MATRIX, Role
from app.infra.db import tables
from tests import factories as f

NewClient = Callable[..., httpx.AsyncClient]


async def shop_row(container: Container, shop_id: str) -> dict[str, Any] | None:
    async with container.engine.connect() as conn:
        row = (
            (await conn.execute(sa.select(tables.shops).where(tables.shops.c.id == shop_id)))
            .mappings()
            .first()
        )
    return dict(row) if row else None


async def owned_shops(container: Container, account_id: str) -> dict[str, int]:
    """Shops the account owns, counted by subject type, read straight from the database."""
    s, m = tables.shops, tables.shop_members
    stmt = (
        sa.select(s.c.subject_type, sa.func.count())
        .select_from(m.join(s, s.c.id == m.c.shop_id))
        .where(m.c.account_id == account_id, m.c.role == "owner")
        .group_by(s.c.subject_type)
    )
    async with container.engine.connect() as conn:
        return {str(t): int(n) for t, n in (await conn.execute(stmt)).all()}


async def audit_actions(container: Container, shop_id: str) -> list[str]:
    a = tables.audit_log
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(a.c.action).where(a.c.shop_id == shop_id))
        return sorted(r[0] for r in rows)


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["request_id"]
    return body


async def submit(u: f.User, shop_id: str, **overrides: Any) -> httpx.Response:
    return await u.client.put(
        f"/merchant/shops/{shop_id}/qualification",
        json=f.qualification(**overrides),
        headers=u.h,
    )


# --- opening shops ---------------------------------------------------------------------------


async def test_personal_shop_opens_at_once(client: httpx.AsyncClient, container: Container) -> None:
    u = await f.user(client)
    r = await client.post(
        "/merchant/shops",
        json={
            "name": "  Mountain   Tea  ",
            "subject_type": "personal",
            "logo_url": "https://cdn.example.com/logo.png",
        },
        headers=u.h,
    )
    assert r.status_code == 201, r.text
    shop = r.json()
    assert shop["id"].startswith("shop_")
    assert r.headers["Location"] == f"/merchant/shops/{shop['id']}"
    assert r.headers["ETag"] == '"1"'
    assert shop["name"] == "Mountain Tea"  # trimmed, inner whitespace collapsed
    assert shop["subject_type"] == "personal"
    assert shop["status"] == "open"
    assert shop["can_sell"] is True
    assert shop["suspended"] is False
    assert shop["opened_at"] is not None
    assert shop["submitted_at"] is None
    assert shop["logo_url"] == "https://cdn.example.com/logo.png"
    assert shop["version"] == 1
    assert shop["role"] == "owner"
    assert set(shop["permissions"]) == {str(p) for p in MATRIX[Role.OWNER]}

    row = await shop_row(container, shop["id"])
    assert row is not None
    assert row["status"] == "open"
    assert row["created_by"] == u.id
    assert row["name"] == "Mountain Tea"
    assert await owned_shops(container, u.id) == {"personal": 1}
    assert await audit_actions(container, shop["id"]) == ["shop.opened"]


@pytest.mark.parametrize("subject_type", ["individual", "enterprise"])
async def test_business_shop_opens_pending_qualification(
    client: httpx.AsyncClient, container: Container, subject_type: str
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type=subject_type)
    assert shop["subject_type"] == subject_type
    assert shop["status"] == "pending_qualification"
    assert shop["can_sell"] is False
    assert shop["opened_at"] is None
    row = await shop_row(container, shop["id"])
    assert row is not None and row["status"] == "pending_qualification"


async def test_list_my_shops_pages_and_shows_only_mine(
    client: httpx.AsyncClient, new_client: NewClient
) -> None:
    u = await f.user(client)
    mine = {
        (await f.open_shop(u))["id"],
        (await f.open_shop(u, subject_type="enterprise"))["id"],
        (await f.open_shop(u, subject_type="individual"))["id"],
    }
    other = await f.user(new_client())
    theirs = await f.open_shop(other)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/merchant/shops", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 2
        assert all(s["role"] == "owner" for s in page["data"])
        seen += [s["id"] for s in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(mine)
    assert theirs["id"] not in seen


async def test_list_my_shops_bad_cursor_is_400(client: httpx.AsyncClient) -> None:
    await f.user(client)
    r = await client.get("/merchant/shops", params={"cursor": "!!not-a-cursor!!"})
    assert_problem(r, 400, "invalid_cursor")
    r = await client.get("/merchant/shops", params={"limit": 101})
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", "limit"]


async def test_one_personal_shop_per_account(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    before = await f.fingerprint(container, shop["id"])
    r = await client.post(
        "/merchant/shops", json={"name": "Second Shop", "subject_type": "personal"}, headers=u.h
    )
    body = assert_problem(r, 409, "shop_limit_reached")
    assert body["subject_type"] == "personal"
    assert body["limit"] == 1
    assert await f.fingerprint(container, shop["id"]) == before
    # The personal limit does not touch the business allowance.
    await f.open_shop(u, subject_type="enterprise")
    assert await owned_shops(container, u.id) == {"personal": 1, "enterprise": 1}


async def test_three_business_shops_per_account(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    # A refused opening must change none of the account's shops: all three are under test.
    shops = [
        (await f.open_shop(u, subject_type=kind))["id"]
        for kind in ("individual", "enterprise", "individual")
    ]
    before = await f.fingerprint(container, *shops)
    for subject_type in ("individual", "enterprise"):
        r = await client.post(
            "/merchant/shops",
            json={"name": "Fourth Shop", "subject_type": subject_type},
            headers=u.h,
        )
        body = assert_problem(r, 409, "shop_limit_reached")
        assert body["subject_type"] == subject_type
        assert body["limit"] == 3
    assert await f.fingerprint(container, *shops) == before
    await f.open_shop(u, subject_type="personal")
    assert await owned_shops(container, u.id) == {"individual": 2, "enterprise": 1, "personal": 1}


@pytest.mark.parametrize(
    ("kinds", "limit"),
    [(["personal"], 1), (["individual", "enterprise"], 3)],
    ids=["personal", "business"],
)
async def test_shop_limits_hold_under_20_concurrent_requests(
    client: httpx.AsyncClient,
    new_client: NewClient,
    container: Container,
    kinds: list[str],
    limit: int,
) -> None:
    u = await f.user(client)
    # Four browser sessions of the same account, five requests each, all at once.
    sessions = [u]
    for _ in range(3):
        c = new_client()
        csrf = await f.login(c, username=u.username)
        sessions.append(f.User(c, u.id, u.username, u.password, csrf))

    async def attempt(i: int) -> httpx.Response:
        s = sessions[i % len(sessions)]
        return await s.client.post(
            "/merchant/shops",
            json={"name": f"Race Shop {i}", "subject_type": kinds[i % len(kinds)]},
            headers=s.h,
        )

    responses = await asyncio.gather(*(attempt(i) for i in range(20)))
    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(created) == limit, [r.status_code for r in responses]
    assert len(refused) == 20 - limit
    for r in refused:
        assert_problem(r, 409, "shop_limit_reached")

    owned = await owned_shops(container, u.id)
    assert sum(owned.values()) == limit
    assert set(owned) <= set(kinds)
    async with container.engine.connect() as conn:
        made = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(tables.shops)
                .where(tables.shops.c.created_by == u.id)
            )
        ).scalar_one()
    assert made == limit
    listed = (await client.get("/merchant/shops", params={"limit": 100})).json()["data"]
    assert sorted(s["id"] for s in listed) == sorted(r.json()["id"] for r in created)


# --- names, logos, ETags -----------------------------------------------------------------------


BAD_NAMES = {
    "too_short": "A",
    "blank": "   ",
    "too_long_for_rule": "N" * 31,
    "too_long_for_schema": "N" * 65,
    "angle_brackets": "<script>Shop",
    "emoji": "Tea \U0001f375 House",
    "slash": "Tea/House",
    "digits_only": "123456",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_open_shop_name_rules(
    client: httpx.AsyncClient, container: Container, name: str
) -> None:
    u = await f.user(client)
    before = await f.db_fingerprint(container)
    r = await client.post(
        "/merchant/shops", json={"name": name, "subject_type": "personal"}, headers=u.h
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"], body
    assert body["errors"][0]["loc"] == ["body", "name"]
    assert await f.db_fingerprint(container) == before


@pytest.mark.parametrize(
    "name", ["山茶小店", "Tea & Co. (Fuzhou)", "茶馆\uff08福州\uff09", "Li's-Corner_Store·2", "AB"]
)
async def test_open_shop_accepts_good_names(client: httpx.AsyncClient, name: str) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, name=name)
    assert shop["name"] == name


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Fine Shop", "subject_type": "company"},
        {"name": "Fine Shop"},
        {"subject_type": "personal"},
        {"name": "Fine Shop", "subject_type": "personal", "logo_url": "not a url"},
        {"name": "Fine Shop", "subject_type": "personal", "status": "open"},
        {"name": 42, "subject_type": "personal"},
    ],
    ids=["bad_type", "no_type", "no_name", "bad_logo", "unknown_field", "name_not_string"],
)
async def test_open_shop_rejects_malformed_bodies(
    client: httpx.AsyncClient, container: Container, body: dict[str, Any]
) -> None:
    u = await f.user(client)
    before = await f.db_fingerprint(container)
    r = await client.post("/merchant/shops", json=body, headers=u.h)
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"]
    assert all(e["loc"][0] == "body" for e in problem["errors"])
    r = await client.post(
        "/merchant/shops",
        content=b'{"name": "Fine Shop", ',
        headers={**u.h, "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await f.db_fingerprint(container) == before


async def test_open_shop_needs_session_and_csrf(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    before = await f.db_fingerprint(container)
    anon = new_client()
    r = await anon.post("/merchant/shops", json={"name": "Anon Shop", "subject_type": "personal"})
    assert_problem(r, 401, "session_required")
    assert await f.db_fingerprint(container) == before
    u = await f.user(client)
    before = await f.db_fingerprint(container)
    r = await client.post("/merchant/shops", json={"name": "No Csrf", "subject_type": "personal"})
    assert_problem(r, 403, "csrf_failed")
    r = await client.post(
        "/merchant/shops",
        json={"name": "Wrong Csrf", "subject_type": "personal"},
        headers={"X-CSRF-Token": u.csrf + "x"},
    )
    assert_problem(r, 403, "csrf_failed")
    assert await f.db_fingerprint(container) == before
    assert await owned_shops(container, u.id) == {}


async def test_get_shop_returns_etag(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    r = await client.get(f"/merchant/shops/{shop['id']}")
    assert r.status_code == 200
    assert r.headers["ETag"] == '"1"'
    assert r.json()["id"] == shop["id"]
    assert r.json()["role"] == "owner"


async def test_rename_and_change_logo(client: httpx.AsyncClient, container: Container) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, name="Old Name")
    url = f"/merchant/shops/{shop['id']}"

    r = await client.patch(url, json={"name": "  New   Name "}, headers=u.h)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "New Name"
    assert r.json()["version"] == 2
    assert r.headers["ETag"] == '"2"'

    r = await client.patch(url, json={"logo_url": "https://cdn.example.com/l2.png"}, headers=u.h)
    assert r.status_code == 200, r.text
    assert r.json()["logo_url"] == "https://cdn.example.com/l2.png"
    assert r.json()["name"] == "New Name"
    assert r.headers["ETag"] == '"3"'

    r = await client.patch(url, json={"logo_url": None}, headers=u.h)
    assert r.status_code == 200, r.text
    assert r.json()["logo_url"] is None
    assert r.headers["ETag"] == '"4"'

    # An empty patch changes nothing and keeps the version.
    r = await client.patch(url, json={}, headers=u.h)
    assert r.status_code == 200
    assert r.headers["ETag"] == '"4"'

    row = await shop_row(container, shop["id"])
    assert row is not None
    assert (row["name"], row["logo_url"], row["version"]) == ("New Name", None, 4)
    assert (await client.get(url)).headers["ETag"] == '"4"'
    assert (await audit_actions(container, shop["id"])).count("shop.updated") == 3


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_rename_name_rules(
    client: httpx.AsyncClient, container: Container, name: str
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, name="Keep This")
    before = await f.fingerprint(container, shop["id"])
    r = await client.patch(f"/merchant/shops/{shop['id']}", json={"name": name}, headers=u.h)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "name"]
    assert await f.fingerprint(container, shop["id"]) == before


async def test_if_match(client: httpx.AsyncClient, container: Container) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, name="Version One")
    url = f"/merchant/shops/{shop['id']}"

    r = await client.patch(url, json={"name": "Version Two"}, headers={**u.h, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'

    before = await f.fingerprint(container, shop["id"])
    r = await client.patch(url, json={"name": "Lost Update"}, headers={**u.h, "If-Match": '"1"'})
    body = assert_problem(r, 412, "precondition_failed")
    assert body["current_version"] == 2
    r = await client.patch(url, json={"name": "Lost Update"}, headers={**u.h, "If-Match": "abc"})
    assert_problem(r, 412, "precondition_failed")
    assert await f.fingerprint(container, shop["id"]) == before
    assert (await client.get(url)).json()["name"] == "Version Two"

    r = await client.patch(url, json={"name": "Version Three"}, headers={**u.h, "If-Match": '"2"'})
    assert r.status_code == 200
    assert r.headers["ETag"] == '"3"'
    r = await client.patch(url, json={"name": "Version Four"}, headers={**u.h, "If-Match": 'W/"3"'})
    assert r.status_code == 200
    r = await client.patch(url, json={"name": "Version Five"}, headers={**u.h, "If-Match": "*"})
    assert r.status_code == 200
    assert r.json()["version"] == 5
    row = await shop_row(container, shop["id"])
    assert row is not None and (row["name"], row["version"]) == ("Version Five", 5)


async def test_rename_not_allowed_in_review_but_logo_is(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.business_shop_in_review(u)
    url = f"/merchant/shops/{shop['id']}"
    before = await f.fingerprint(container, shop["id"])
    r = await client.patch(url, json={"name": "Sneaky Rename"}, headers=u.h)
    body = assert_problem(r, 409, "invalid_state_transition")
    assert body["current_status"] == "in_review"
    assert await f.fingerprint(container, shop["id"]) == before

    r = await client.patch(url, json={"logo_url": "https://cdn.example.com/new.png"}, headers=u.h)
    assert r.status_code == 200, r.text
    assert r.json()["logo_url"] == "https://cdn.example.com/new.png"
    assert r.json()["status"] == "in_review"
    assert r.json()["name"] == shop["name"]


async def test_patch_malformed_body_changes_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    before = await f.fingerprint(container, shop["id"])
    url = f"/merchant/shops/{shop['id']}"
    for body in ({"status": "open"}, {"logo_url": "ftp:/x"}, {"name": ["x"]}):
        r = await client.patch(url, json=body, headers=u.h)
        assert_problem(r, 422, "validation_error")
    r = await client.patch(url, json={"name": "No Csrf Here"})
    assert_problem(r, 403, "csrf_failed")
    assert await f.fingerprint(container, shop["id"]) == before


# --- qualifications and review ----------------------------------------------------------------


async def test_qualification_review_approve_flow(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="individual")
    q = f.qualification(bank_account_number="6225-8801-3700-1234")
    r = await client.put(f"/merchant/shops/{shop['id']}/qualification", json=q, headers=u.h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shop_id"] == shop["id"]
    assert body["shop_status"] == "in_review"
    assert body["licence_number"] == q["licence_number"]
    assert body["registered_name"] == q["registered_name"]
    assert body["operator_name"] == q["operator_name"]
    assert body["bank_account_number"] == "*" * 12 + "1234"
    assert body["operator_id_number"] == "*" * 14 + q["operator_id_number"][-4:]

    mine = (await client.get(f"/merchant/shops/{shop['id']}")).json()
    assert mine["status"] == "in_review"
    assert mine["submitted_at"] is not None
    assert mine["can_sell"] is False

    op = await f.operator(container, new_client())
    r = await op.client.get(f"/v1/platform/shops/{shop['id']}")
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    r = await op.client.post(f"/v1/platform/shops/{shop['id']}/approve", headers=op.h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open"
    assert r.json()["can_sell"] is True

    mine = (await client.get(f"/merchant/shops/{shop['id']}")).json()
    assert mine["status"] == "open"
    assert mine["can_sell"] is True
    assert mine["opened_at"] is not None
    row = await shop_row(container, shop["id"])
    assert row is not None
    assert row["status"] == "open"
    assert row["reviewed_at"] is not None
    assert await audit_actions(container, shop["id"]) == [
        "shop.approved",
        "shop.opened",
        "shop.qualification_submitted",
    ]
    # An open shop does not go back into review.
    before = await f.fingerprint(container, shop["id"])
    r = await submit(u, shop["id"])
    body = assert_problem(r, 409, "invalid_state_transition")
    assert body["current_status"] == "open"
    assert await f.fingerprint(container, shop["id"]) == before


async def test_rejected_shop_shows_reason_and_can_resubmit(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.business_shop_in_review(u)
    op = await f.operator(container, new_client())
    reason = "The licence scan is unreadable."
    r = await op.client.post(
        f"/v1/platform/shops/{shop['id']}/reject", json={"reason": reason}, headers=op.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected"
    assert r.json()["rejection_reason"] == reason

    mine = (await client.get(f"/merchant/shops/{shop['id']}")).json()
    assert mine["status"] == "rejected"
    assert mine["rejection_reason"] == reason
    assert mine["can_sell"] is False
    # Rejected shops are editable again.
    r = await client.patch(
        f"/merchant/shops/{shop['id']}", json={"name": "Fixed Name"}, headers=u.h
    )
    assert r.status_code == 200, r.text

    new_registered = "Fixed Trading Co., Ltd."
    r = await submit(u, shop["id"], registered_name=new_registered)
    assert r.status_code == 200, r.text
    assert r.json()["shop_status"] == "in_review"
    assert r.json()["registered_name"] == new_registered
    mine = (await client.get(f"/merchant/shops/{shop['id']}")).json()
    assert mine["status"] == "in_review"
    assert mine["rejection_reason"] is None
    row = await shop_row(container, shop["id"])
    assert row is not None and (row["status"], row["rejection_reason"]) == ("in_review", None)
    async with container.engine.connect() as conn:
        qrows = (
            await conn.execute(
                sa.select(tables.shop_qualifications).where(
                    tables.shop_qualifications.c.shop_id == shop["id"]
                )
            )
        ).all()
    assert len(qrows) == 1  # the latest submission replaces the previous one
    assert qrows[0]._mapping["registered_name"] == new_registered

    r = await op.client.post(f"/v1/platform/shops/{shop['id']}/approve", headers=op.h)
    assert r.status_code == 200
    assert r.json()["status"] == "open"


BAD_QUALIFICATIONS = {
    "uscc_check_char": ("licence_number", lambda q: q[:17] + ("0" if q[17] != "0" else "1")),
    "uscc_bad_alphabet": ("licence_number", lambda q: "91" + "I" * 15 + "0"),
    "id_check_char": (
        "operator_id_number",
        lambda v: v[:17] + ("0" if v[17] != "0" else "1"),
    ),
    "id_letters": ("operator_id_number", lambda v: "A" * 18),
    "bank_letters": ("bank_account_number", lambda v: "6225 ABCD 3700 9876"),
    "bank_too_short": ("bank_account_number", lambda v: "1234 567"),
}


@pytest.mark.parametrize(
    ("field", "mangle"), BAD_QUALIFICATIONS.values(), ids=BAD_QUALIFICATIONS.keys()
)
async def test_qualification_validation_errors(
    client: httpx.AsyncClient,
    container: Container,
    field: str,
    mangle: Callable[[str], str],
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="enterprise")
    good = f.qualification()
    bad = {**good, field: mangle(good[field])}
    before = await f.fingerprint(container, shop["id"])
    r = await client.put(f"/merchant/shops/{shop['id']}/qualification", json=bad, headers=u.h)
    body = assert_problem(r, 422, "validation_error")
    assert [e["loc"] for e in body["errors"]] == [["body", field]]
    assert body["errors"][0]["msg"]
    assert await f.fingerprint(container, shop["id"]) == before
    mine = (await client.get(f"/merchant/shops/{shop['id']}")).json()
    assert mine["status"] == "pending_qualification"
    r = await client.get(f"/merchant/shops/{shop['id']}/qualification")
    assert_problem(r, 404, "not_found")


async def test_qualification_reports_every_bad_number_at_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="individual")
    good = f.qualification()
    bad = {
        **good,
        "licence_number": good["licence_number"][:17]
        + ("0" if good["licence_number"][17] != "0" else "1"),
        "operator_id_number": "12345678901234567Z",
        "bank_account_number": "not a number",
    }
    before = await f.fingerprint(container, shop["id"])
    r = await client.put(f"/merchant/shops/{shop['id']}/qualification", json=bad, headers=u.h)
    body = assert_problem(r, 422, "validation_error")
    assert [e["loc"] for e in body["errors"]] == [
        ["body", "licence_number"],
        ["body", "operator_id_number"],
        ["body", "bank_account_number"],
    ]
    assert await f.fingerprint(container, shop["id"]) == before


async def test_qualification_schema_errors_list_every_field(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="enterprise")
    before = await f.fingerprint(container, shop["id"])
    bad = f.qualification(
        licence_number="123", licence_image_url="not-a-url", operator_name="W", extra="x"
    )
    del bad["bank_name"]
    r = await client.put(f"/merchant/shops/{shop['id']}/qualification", json=bad, headers=u.h)
    body = assert_problem(r, 422, "validation_error")
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert {
        ("body", "licence_number"),
        ("body", "licence_image_url"),
        ("body", "operator_name"),
        ("body", "bank_name"),
        ("body", "extra"),
    } <= locs
    assert await f.fingerprint(container, shop["id"]) == before


async def test_legacy_15_digit_licence_is_accepted(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="individual")
    r = await submit(u, shop["id"], licence_number="350100123456789")
    assert r.status_code == 200, r.text
    assert r.json()["licence_number"] == "350100123456789"


async def test_bank_and_id_numbers_are_encrypted_at_rest_and_masked(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="enterprise")
    id_number = f.id_number()
    bank = "6222021234567894321"
    r = await submit(u, shop["id"], operator_id_number=id_number, bank_account_number=bank)
    assert r.status_code == 200, r.text
    assert bank not in r.text and id_number not in r.text

    r = await client.get(f"/merchant/shops/{shop['id']}/qualification")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bank_account_number"] == "*" * (len(bank) - 4) + bank[-4:]
    assert body["operator_id_number"] == "*" * 14 + id_number[-4:]
    assert bank not in r.text and id_number not in r.text
    assert body["shop_status"] == "in_review"

    q = tables.shop_qualifications
    async with container.engine.connect() as conn:
        row = (await conn.execute(sa.select(q).where(q.c.shop_id == shop["id"]))).mappings().one()
        audit = (
            await conn.execute(
                sa.select(tables.audit_log).where(tables.audit_log.c.shop_id == shop["id"])
            )
        ).all()
    raw = repr(dict(row))
    assert bank not in raw
    assert id_number not in raw
    assert bank[8:] not in raw  # not even a long run of it
    assert row["bank_account_number_last4"] == bank[-4:]
    assert row["operator_id_number_last4"] == id_number[-4:]
    assert container.cipher.decrypt(row["bank_account_number_encrypted"]) == bank
    assert container.cipher.decrypt(row["operator_id_number_encrypted"]) == id_number
    assert row["submitted_by"] == u.id
    assert bank not in repr(audit) and id_number not in repr(audit)


async def test_personal_shop_cannot_submit_qualification(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    before = await f.fingerprint(container, shop["id"])
    r = await submit(u, shop["id"])
    body = assert_problem(r, 409, "conflict")
    assert body["subject_type"] == "personal"
    assert await f.fingerprint(container, shop["id"]) == before
    assert (await client.get(f"/merchant/shops/{shop['id']}")).json()["status"] == "open"


async def test_cannot_resubmit_while_in_review(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.business_shop_in_review(u)
    before = await f.fingerprint(container, shop["id"])
    r = await submit(u, shop["id"])
    body = assert_problem(r, 409, "invalid_state_transition")
    assert body["current_status"] == "in_review"
    assert await f.fingerprint(container, shop["id"]) == before


async def test_qualification_routes_need_session_and_csrf(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="enterprise")
    url = f"/merchant/shops/{shop['id']}/qualification"
    before = await f.fingerprint(container, shop["id"])
    r = await client.put(url, json=f.qualification())
    assert_problem(r, 403, "csrf_failed")
    anon = new_client()
    assert_problem(await anon.put(url, json=f.qualification()), 401, "session_required")
    assert_problem(await anon.get(url), 401, "session_required")
    assert_problem(await anon.get(f"/merchant/shops/{shop['id']}"), 401, "session_required")
    assert await f.fingerprint(container, shop["id"]) == before
