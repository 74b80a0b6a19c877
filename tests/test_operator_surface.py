"""The operator sees what it approves, the queue is oldest first, account-level changes are
audited, suspended shops refuse even empty changes, the demo seed survives renames, and a
browser session can read its CSRF token."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.seed import seed
from app.settings import Settings
from tests import factories as f


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code, r.text
    return dict(r.json())


async def audit_rows(container: Container, *where: Any) -> list[dict[str, Any]]:
    a = tables.audit_log
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(a).where(*where).order_by(a.c.id))
        return [dict(r._mapping) for r in rows]


# --- 6. the operator surface ------------------------------------------------------------------


async def test_operator_reads_the_qualification_masked(
    client: httpx.AsyncClient, new_client: Any, container: Container
) -> None:
    merchant = await f.user(new_client())
    shop = await f.open_shop(merchant, subject_type="enterprise")
    submitted = f.qualification()
    r = await merchant.client.put(
        f"/merchant/shops/{shop['id']}/qualification", json=submitted, headers=merchant.h
    )
    assert r.status_code == 200, r.text
    own_view = r.json()

    op = await f.operator(container, client)
    r = await client.get(f"/v1/platform/shops/{shop['id']}/qualification")
    assert r.status_code == 200, r.text
    q = r.json()
    assert q == own_view  # the same masked document the merchant reads
    assert q["licence_number"] == submitted["licence_number"]
    assert q["shop_status"] == "in_review"
    digits = submitted["bank_account_number"].replace(" ", "")
    assert digits not in r.text and submitted["operator_id_number"] not in r.text
    assert q["bank_account_number"].endswith(digits[-4:])
    assert q["bank_account_number"].startswith("*")
    assert q["operator_id_number"].endswith(submitted["operator_id_number"][-4:])

    r = await client.get(f"/v1/platform/shops/{shop['id']}")
    assert r.status_code == 200 and r.json()["status"] == "in_review"

    # A shop without a qualification, and one that does not exist.
    personal = await f.open_shop(merchant)
    assert_problem(
        await client.get(f"/v1/platform/shops/{personal['id']}/qualification"), 404, "not_found"
    )
    assert_problem(
        await client.get("/v1/platform/shops/shop_nope/qualification"), 404, "shop_not_found"
    )
    # Merchants (even the owner) and anonymous callers cannot use the platform read.
    r = await merchant.client.get(f"/v1/platform/shops/{shop['id']}/qualification")
    assert_problem(r, 403, "operator_required")
    r = await new_client().get(f"/v1/platform/shops/{shop['id']}/qualification")
    assert_problem(r, 401, "session_required")
    assert op.id


async def queue_ids(client: httpx.AsyncClient, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/v1/platform/review-queue/shops", params=params)
        assert r.status_code == 200, r.text
        seen += [s["id"] for s in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("the queue never ended")


async def test_review_queue_is_oldest_submission_first(
    client: httpx.AsyncClient, container: Container
) -> None:
    u = await f.user(client)
    shops = [(await f.business_shop_in_review(u, subject_type="individual"))["id"]]
    shops += [(await f.business_shop_in_review(u))["id"] for _ in range(2)]
    # Submission order differs from id order: the newest shop waited longest, and two share
    # one submission time (the id breaks the tie).
    base = utcnow() - timedelta(days=3650)
    times = {
        shops[2]: base,
        shops[0]: base + timedelta(seconds=1),
        shops[1]: base + timedelta(seconds=1),
    }
    s = tables.shops
    async with container.engine.begin() as conn:
        for shop_id, when in times.items():
            await conn.execute(sa.update(s).where(s.c.id == shop_id).values(submitted_at=when))
    expected = [shops[2], *sorted([shops[0], shops[1]])]

    op = await f.operator(container, client)
    for limit in (1, 2, 100):
        seen = await queue_ids(op.client, limit)
        assert len(seen) == len(set(seen))
        assert seen[:3] == expected, (limit, seen[:3], expected)
        # Everything in the queue is ordered by submission time.
    r = await op.client.get("/v1/platform/review-queue/shops", params={"limit": 100})
    stamps = [x["submitted_at"] for x in r.json()["data"]]
    assert stamps == sorted(stamps)

    # A cursor that is not ours is refused, not a 500.
    for bad in (
        "WyJ4Il0",
        "WyJub3QtYS10aW1lIiwic2hvcF8xIl0",
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwieCJd",
    ):
        r = await op.client.get("/v1/platform/review-queue/shops", params={"cursor": bad})
        assert_problem(r, 400, "invalid_cursor")


# --- 7. account-level audit -------------------------------------------------------------------


async def test_register_and_logout_are_audited_without_a_shop(
    client: httpx.AsyncClient, container: Container
) -> None:
    account = await f.register(client)
    a = tables.audit_log
    rows = await audit_rows(container, a.c.target_id == account["id"])
    assert [r["action"] for r in rows] == ["account.registered"]
    (reg,) = rows
    assert reg["shop_id"] is None
    assert (reg["actor_type"], reg["actor_id"]) == ("account", account["id"])
    assert reg["after"]["username"] == account["username"]
    assert reg["request_id"]

    csrf = await f.login(client, username=account["username"])
    r = await client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    rows = await audit_rows(
        container, a.c.actor_id == account["id"], a.c.action == "account.logged_out"
    )
    assert len(rows) == 1
    assert rows[0]["shop_id"] is None
    assert rows[0]["target_type"] == "session"
    assert rows[0]["request_id"] == r.headers["x-request-id"]


async def test_operator_grant_is_audited_as_the_system(
    client: httpx.AsyncClient, container: Container
) -> None:
    a = tables.audit_log
    # A new operator: registered and granted by the command.
    op = await f.operator(container, client)
    rows = await audit_rows(container, a.c.target_id == op.id)
    assert [r["action"] for r in rows] == ["account.registered", "account.operator_granted"]
    assert all(r["actor_type"] == "system" and r["surface"] == "system" for r in rows)
    assert all(r["shop_id"] is None for r in rows)

    # An existing account promoted: one grant; promoting again records nothing more.
    from app.seed import ensure_operator

    account = await f.register(client)
    await ensure_operator(container.settings, account["username"], f.PASSWORD)
    await ensure_operator(container.settings, account["username"], f.PASSWORD)
    rows = await audit_rows(container, a.c.target_id == account["id"])
    assert [r["action"] for r in rows] == ["account.registered", "account.operator_granted"]
    assert rows[0]["actor_type"] == "account"
    assert rows[1]["actor_type"] == "system"
    assert rows[1]["after"] == {"is_operator": True}


async def test_auto_approve_is_recorded_as_the_system(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.settings, "auto_approve_reviews", True)
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="enterprise")
    r = await client.put(
        f"/merchant/shops/{shop['id']}/qualification", json=f.qualification(), headers=u.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["shop_status"] == "open"
    a = tables.audit_log
    rows = await audit_rows(container, a.c.shop_id == shop["id"])
    by_action = {r["action"]: r for r in rows}
    submitted, approved = by_action["shop.qualification_submitted"], by_action["shop.approved"]
    assert (submitted["actor_type"], submitted["actor_id"]) == ("account", u.id)
    assert approved["actor_type"] == "system"
    assert approved["actor_id"] != u.id
    assert approved["surface"] == "system"
    assert approved["after"]["auto_approved"] is True
    assert approved["request_id"] == submitted["request_id"]


# --- 8. suspended shops refuse even an empty change --------------------------------------------


async def test_empty_patch_on_a_suspended_shop_is_refused(
    client: httpx.AsyncClient, new_client: Any, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    op = await f.operator(container, new_client())
    r = await op.client.post(
        f"/v1/platform/shops/{shop['id']}/suspend", json={"reason": "Fake goods"}, headers=op.h
    )
    assert r.status_code == 200
    before = await f.fingerprint(container, shop["id"])
    for body in ({}, {"name": shop["name"]}):
        r = await client.patch(f"/merchant/shops/{shop['id']}", json=body, headers=owner.h)
        assert_problem(r, 403, "shop_suspended")
    assert await f.fingerprint(container, shop["id"]) == before


# --- 9. the demo seed finds its shops by id ---------------------------------------------------


async def test_seed_demo_survives_renamed_demo_shops(
    settings: Settings, container: Container, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    demo_settings = settings.model_copy(update={"var_dir": tmp_path})
    path = await seed(demo_settings)
    first = json.loads(path.read_text())
    ids = {k: v["id"] for k, v in first["shops"].items()}

    s = tables.shops
    async with container.engine.begin() as conn:
        for kind, name in (("personal", "Renamed Corner"), ("enterprise", "Renamed Tea")):
            await conn.execute(sa.update(s).where(s.c.id == ids[kind]).values(name=name))

    path = await seed(demo_settings)  # used to fail with shop_limit_reached
    second = json.loads(path.read_text())
    assert {k: v["id"] for k, v in second["shops"].items()} == ids
    assert second["shops"]["personal"]["name"] == "Renamed Corner"
    assert second["shops"]["enterprise"]["name"] == "Renamed Tea"
    assert second["merchant"]["password"] == first["merchant"]["password"]
    m = tables.shop_members
    async with container.engine.connect() as conn:
        owned = (
            await conn.execute(
                sa.select(sa.func.count()).where(
                    m.c.account_id == first["merchant"]["account_id"], m.c.role == "owner"
                )
            )
        ).scalar_one()
    assert owned == 2

    # Without demo.json (another machine, same database) the merchant's own shops are found.
    path.unlink()
    third = json.loads((await seed(demo_settings)).read_text())
    assert {k: v["id"] for k, v in third["shops"].items()} == ids


# --- 10. the session's CSRF token for browser logins -------------------------------------------


def hidden(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name} in the page"
    return html.unescape(match.group(1))


async def test_browser_login_reads_its_csrf_token_from_the_session(
    client: httpx.AsyncClient,
) -> None:
    account = await f.register(client)
    assert_problem(await client.get("/auth/session"), 401, "session_required")
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "next": "/merchant/shops",
            "username": account["username"],
            "password": f.PASSWORD,
        },
    )
    assert r.status_code == 303, r.text

    r = await client.get("/auth/session")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    info = r.json()
    assert info["account"]["id"] == account["id"]
    assert info["expires_at"]
    # Without the token a change is refused; with it, it works.
    body = {"name": "From The Browser", "subject_type": "personal"}
    assert_problem(await client.post("/merchant/shops", json=body), 403, "csrf_failed")
    r = await client.post(
        "/merchant/shops", json=body, headers={"X-CSRF-Token": info["csrf_token"]}
    )
    assert r.status_code == 201, r.text

    # After logout the session is gone.
    r = await client.post("/auth/logout", headers={"X-CSRF-Token": info["csrf_token"]})
    assert r.status_code == 204
    assert_problem(await client.get("/auth/session"), 401, "session_required")
