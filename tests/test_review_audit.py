"""The platform operator's surface (review queue, approve/reject, suspend/reinstate) and the
shop audit log that records every change."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.infra.db import tables
from tests import factories as f

NewClient = Callable[..., httpx.AsyncClient]


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code, body
    return body


def rid() -> str:
    return f"test-{secrets.token_hex(8)}"


async def shop_row(container: Container, shop_id: str) -> dict[str, Any]:
    s = tables.shops
    async with container.engine.connect() as conn:
        row = (await conn.execute(sa.select(s).where(s.c.id == shop_id))).mappings().one()
    return dict(row)


async def audit_rows(container: Container, shop_id: str) -> list[dict[str, Any]]:
    a = tables.audit_log
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(a).where(a.c.shop_id == shop_id).order_by(a.c.id))
        return [dict(r) for r in rows.mappings()]


async def add_member(owner: f.User, shop_id: str, u: f.User, role: str) -> None:
    r = await owner.client.post(
        f"/merchant/shops/{shop_id}/members",
        json={"username": u.username, "role": role},
        headers=owner.h,
    )
    assert r.status_code == 201, r.text


async def audit_log(u: f.User, shop_id: str, **params: Any) -> list[dict[str, Any]]:
    r = await u.client.get(f"/merchant/shops/{shop_id}/audit-log", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return list(r.json()["data"])


# --- the review queue --------------------------------------------------------------------------


async def test_review_queue_lists_in_review_shops_across_pages(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    u = await f.user(client)
    waiting = [
        (await f.business_shop_in_review(u, subject_type=t))["id"]
        for t in ("individual", "enterprise")
    ]
    other = await f.user(new_client())
    waiting.append((await f.business_shop_in_review(other))["id"])
    pending = await f.open_shop(other, subject_type="enterprise")
    personal = await f.open_shop(u)

    op = await f.operator(container, new_client())
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await op.client.get("/v1/platform/review-queue/shops", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        assert 0 < len(page["data"]) <= 2 or (pages == 1 and not page["data"])
        assert all(s["status"] == "in_review" for s in page["data"])
        assert all(s["submitted_at"] for s in page["data"])
        seen += [s["id"] for s in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
        assert pages < 500
    assert pages >= 2
    assert len(seen) == len(set(seen)), "a shop appeared on two pages"
    assert set(waiting) <= set(seen)
    assert pending["id"] not in seen
    assert personal["id"] not in seen

    # Approved and rejected shops leave the queue.
    r = await op.client.post(f"/v1/platform/shops/{waiting[0]}/approve", headers=op.h)
    assert r.status_code == 200
    r = await op.client.post(
        f"/v1/platform/shops/{waiting[1]}/reject", json={"reason": "Blurry scan"}, headers=op.h
    )
    assert r.status_code == 200
    r = await op.client.get("/v1/platform/review-queue/shops", params={"limit": 100})
    remaining: list[str] = []
    page = r.json()
    remaining += [s["id"] for s in page["data"]]
    while page["next_cursor"]:
        page = (
            await op.client.get(
                "/v1/platform/review-queue/shops",
                params={"limit": 100, "cursor": page["next_cursor"]},
            )
        ).json()
        remaining += [s["id"] for s in page["data"]]
    assert waiting[0] not in remaining
    assert waiting[1] not in remaining
    assert waiting[2] in remaining


async def test_review_queue_bad_paging_params(
    client: httpx.AsyncClient, container: Container
) -> None:
    op = await f.operator(container, client)
    r = await client.get("/v1/platform/review-queue/shops", params={"cursor": "%%%"})
    assert_problem(r, 400, "invalid_cursor")
    r = await client.get("/v1/platform/review-queue/shops", params={"limit": 0})
    assert_problem(r, 422, "validation_error")
    assert op.id


async def test_operator_reads_any_shop(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u, subject_type="enterprise")
    op = await f.operator(container, new_client())
    r = await op.client.get(f"/v1/platform/shops/{shop['id']}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == shop["id"]
    assert body["status"] == "pending_qualification"
    assert "role" not in body  # the platform view, not a member's
    r = await op.client.get("/v1/platform/shops/shop_00000000000000000000000000")
    assert_problem(r, 404, "shop_not_found")
    # Being an operator grants no merchant access to the shop.
    r = await op.client.get(f"/merchant/shops/{shop['id']}")
    assert_problem(r, 404, "shop_not_found")


@pytest.mark.parametrize("action", ["approve", "reject"])
async def test_review_decisions_need_a_shop_in_review(
    client: httpx.AsyncClient, new_client: NewClient, container: Container, action: str
) -> None:
    u = await f.user(client)
    pending = await f.open_shop(u, subject_type="enterprise")
    personal = await f.open_shop(u)
    op = await f.operator(container, new_client())
    body = {"reason": "Not good enough"} if action == "reject" else None
    before = await f.fingerprint(container, pending["id"], personal["id"])
    for shop, status in ((pending, "pending_qualification"), (personal, "open")):
        r = await op.client.post(
            f"/v1/platform/shops/{shop['id']}/{action}", json=body, headers=op.h
        )
        problem = assert_problem(r, 409, "invalid_state_transition")
        assert problem["current_status"] == status
    r = await op.client.post(
        f"/v1/platform/shops/shop_00000000000000000000000000/{action}", json=body, headers=op.h
    )
    assert_problem(r, 404, "shop_not_found")
    assert await f.fingerprint(container, pending["id"], personal["id"]) == before


async def test_approve_twice_is_409(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    u = await f.user(client)
    shop = await f.business_shop_in_review(u)
    op = await f.operator(container, new_client())
    r = await op.client.post(f"/v1/platform/shops/{shop['id']}/approve", headers=op.h)
    assert r.status_code == 200
    r = await op.client.post(f"/v1/platform/shops/{shop['id']}/approve", headers=op.h)
    assert assert_problem(r, 409, "invalid_state_transition")["current_status"] == "open"
    r = await op.client.post(
        f"/v1/platform/shops/{shop['id']}/reject", json={"reason": "Too late"}, headers=op.h
    )
    assert assert_problem(r, 409, "invalid_state_transition")["current_status"] == "open"
    assert (await shop_row(container, shop["id"]))["status"] == "open"


@pytest.mark.parametrize(
    "body", [None, {}, {"reason": "x"}, {"reason": "y" * 501}, {"reason": 3}, {"why": "because"}]
)
async def test_reject_and_suspend_need_a_reason(
    client: httpx.AsyncClient, new_client: NewClient, container: Container, body: Any
) -> None:
    u = await f.user(client)
    shop = await f.business_shop_in_review(u)
    op = await f.operator(container, new_client())
    before = await f.fingerprint(container, shop["id"])
    for action in ("reject", "suspend"):
        r = await op.client.post(
            f"/v1/platform/shops/{shop['id']}/{action}", json=body, headers=op.h
        )
        problem = assert_problem(r, 422, "validation_error")
        assert problem["errors"]
    assert await f.fingerprint(container, shop["id"]) == before


async def test_platform_routes_are_for_operators_only(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    merchant = await f.user(client)
    shop = await f.business_shop_in_review(merchant)
    sid = shop["id"]
    reason = {"reason": "Because I can"}
    before = await f.fingerprint(container, sid)

    r = await client.get("/v1/platform/review-queue/shops")
    assert_problem(r, 403, "operator_required")
    r = await client.get(f"/v1/platform/shops/{sid}")
    assert_problem(r, 403, "operator_required")
    for action, body in (
        ("approve", None),
        ("reject", reason),
        ("suspend", reason),
        ("reinstate", None),
    ):
        r = await client.post(f"/v1/platform/shops/{sid}/{action}", json=body, headers=merchant.h)
        assert_problem(r, 403, "operator_required")

    anon = new_client()
    assert_problem(await anon.get("/v1/platform/review-queue/shops"), 401, "session_required")
    assert_problem(await anon.post(f"/v1/platform/shops/{sid}/approve"), 401, "session_required")
    assert await f.fingerprint(container, sid) == before

    op = await f.operator(container, new_client())
    before = await f.fingerprint(container, sid)
    for action, body in (
        ("approve", None),
        ("reject", reason),
        ("suspend", reason),
        ("reinstate", None),
    ):
        r = await op.client.post(f"/v1/platform/shops/{sid}/{action}", json=body)
        assert_problem(r, 403, "csrf_failed")
        r = await op.client.post(
            f"/v1/platform/shops/{sid}/{action}", json=body, headers={"X-CSRF-Token": "forged"}
        )
        assert_problem(r, 403, "csrf_failed")
    assert await f.fingerprint(container, sid) == before
    assert (await shop_row(container, sid))["status"] == "in_review"


# --- suspension -------------------------------------------------------------------------------


async def test_suspended_shop_refuses_changes_but_can_be_read(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner, subject_type="enterprise")
    sid = shop["id"]
    staff = await f.user(new_client())
    await add_member(owner, sid, staff, "operator")
    newcomer = await f.user(new_client())
    op = await f.operator(container, new_client())

    reason = "Counterfeit goods reported."
    r = await op.client.post(
        f"/v1/platform/shops/{sid}/suspend", json={"reason": reason}, headers=op.h
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["suspended"] is True
    assert body["suspension_reason"] == reason
    assert body["can_sell"] is False
    assert body["status"] == "pending_qualification"  # the review status is untouched
    row = await shop_row(container, sid)
    assert row["suspended_at"] is not None
    assert row["suspension_reason"] == reason

    before = await f.fingerprint(container, sid)
    base = f"/merchant/shops/{sid}"
    attempts = [
        ("PATCH", base, {"name": "Renamed While Suspended"}),
        ("PATCH", base, {"logo_url": "https://cdn.example.com/x.png"}),
        ("PUT", f"{base}/qualification", f.qualification()),
        ("POST", f"{base}/members", {"username": newcomer.username, "role": "finance"}),
        ("PATCH", f"{base}/members/{staff.id}", {"role": "admin"}),
        ("DELETE", f"{base}/members/{staff.id}", None),
        ("POST", f"{base}/ownership-transfer", {"to_account_id": staff.id}),
    ]
    for method, url, payload in attempts:
        r = await client.request(method, url, json=payload, headers=owner.h)
        problem = assert_problem(r, 403, "shop_suspended")
        assert problem["shop_id"] == sid
        assert reason in problem["detail"]
    assert await f.fingerprint(container, sid) == before

    # Reads still work and show the suspension.
    r = await client.get(base)
    assert r.status_code == 200
    assert r.json()["suspended"] is True
    assert r.json()["suspension_reason"] == reason
    assert r.json()["can_sell"] is False
    listed = (await client.get("/merchant/shops")).json()["data"]
    assert [s["suspended"] for s in listed if s["id"] == sid] == [True]
    assert (await client.get(f"{base}/members")).status_code == 200
    assert (await client.get(f"{base}/audit-log")).status_code == 200
    assert (await staff.client.get(base)).json()["suspended"] is True

    r = await op.client.post(
        f"/v1/platform/shops/{sid}/suspend", json={"reason": "Again"}, headers=op.h
    )
    assert assert_problem(r, 409, "invalid_state_transition")["current_status"] == "suspended"

    r = await op.client.post(f"/v1/platform/shops/{sid}/reinstate", headers=op.h)
    assert r.status_code == 200, r.text
    assert r.json()["suspended"] is False
    assert r.json()["suspension_reason"] is None
    row = await shop_row(container, sid)
    assert (row["suspended_at"], row["suspension_reason"]) == (None, None)
    r = await op.client.post(f"/v1/platform/shops/{sid}/reinstate", headers=op.h)
    assert_problem(r, 409, "invalid_state_transition")

    # Everything works again.
    r = await client.patch(base, json={"name": "Back In Business"}, headers=owner.h)
    assert r.status_code == 200, r.text
    r = await client.put(f"{base}/qualification", json=f.qualification(), headers=owner.h)
    assert r.status_code == 200, r.text
    assert r.json()["shop_status"] == "in_review"


async def test_suspending_an_open_shop_stops_selling_until_reinstated(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    assert shop["can_sell"] is True
    op = await f.operator(container, new_client())
    r = await op.client.post(
        f"/v1/platform/shops/{shop['id']}/suspend", json={"reason": "Fraud check"}, headers=op.h
    )
    assert r.json()["status"] == "open"
    assert r.json()["can_sell"] is False
    mine = (await client.get(f"/merchant/shops/{shop['id']}")).json()
    assert (mine["status"], mine["can_sell"], mine["suspended"]) == ("open", False, True)
    platform_view = (await op.client.get(f"/v1/platform/shops/{shop['id']}")).json()
    assert platform_view["suspended"] is True
    await op.client.post(f"/v1/platform/shops/{shop['id']}/reinstate", headers=op.h)
    mine = (await client.get(f"/merchant/shops/{shop['id']}")).json()
    assert (mine["status"], mine["can_sell"], mine["suspended"]) == ("open", True, False)


# --- the audit log ----------------------------------------------------------------------------


async def test_every_change_is_audited_with_actor_surface_and_request_id(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    staff = await f.user(new_client())
    heir = await f.user(new_client())
    op = await f.operator(container, new_client())
    steps: list[tuple[str, str, str, str]] = []  # (action, actor id, surface, request id)

    def step(r: httpx.Response, action: str, actor: f.User, surface: str = "merchant") -> None:
        assert r.status_code < 300, r.text
        request_id = r.request.headers["X-Request-Id"]
        assert r.headers["X-Request-Id"] == request_id
        steps.append((action, actor.id, surface, request_id))

    r = await client.post(
        "/merchant/shops",
        json={"name": "Audit Me", "subject_type": "enterprise"},
        headers={**owner.h, "X-Request-Id": rid()},
    )
    step(r, "shop.opened", owner)
    sid = r.json()["id"]
    base = f"/merchant/shops/{sid}"

    def h(u: f.User) -> dict[str, str]:
        return {**u.h, "X-Request-Id": rid()}

    step(
        await client.patch(base, json={"name": "Audit Me Too"}, headers=h(owner)),
        "shop.updated",
        owner,
    )
    step(
        await client.put(f"{base}/qualification", json=f.qualification(), headers=h(owner)),
        "shop.qualification_submitted",
        owner,
    )
    step(
        await op.client.post(
            f"/v1/platform/shops/{sid}/reject", json={"reason": "Blurry scan"}, headers=h(op)
        ),
        "shop.rejected",
        op,
        "platform",
    )
    step(
        await client.put(f"{base}/qualification", json=f.qualification(), headers=h(owner)),
        "shop.qualification_submitted",
        owner,
    )
    step(
        await op.client.post(f"/v1/platform/shops/{sid}/approve", headers=h(op)),
        "shop.approved",
        op,
        "platform",
    )
    step(
        await client.post(
            f"{base}/members",
            json={"username": staff.username, "role": "operator"},
            headers=h(owner),
        ),
        "member.added",
        owner,
    )
    step(
        await client.patch(
            f"{base}/members/{staff.id}", json={"role": "finance"}, headers=h(owner)
        ),
        "member.role_changed",
        owner,
    )
    step(
        await op.client.post(
            f"/v1/platform/shops/{sid}/suspend", json={"reason": "Spot check"}, headers=h(op)
        ),
        "shop.suspended",
        op,
        "platform",
    )
    step(
        await op.client.post(f"/v1/platform/shops/{sid}/reinstate", headers=h(op)),
        "shop.reinstated",
        op,
        "platform",
    )
    step(
        await client.delete(f"{base}/members/{staff.id}", headers=h(owner)),
        "member.removed",
        owner,
    )
    step(
        await client.post(
            f"{base}/members", json={"username": heir.username, "role": "admin"}, headers=h(owner)
        ),
        "member.added",
        owner,
    )
    step(
        await client.post(
            f"{base}/ownership-transfer", json={"to_account_id": heir.id}, headers=h(owner)
        ),
        "shop.ownership_transferred",
        owner,
    )

    # The former owner is an admin now and still reads the log; so does the new owner.
    entries = await audit_log(owner, sid)
    assert entries == await audit_log(heir, sid)
    got = [(e["action"], e["actor_id"], e["surface"], e["request_id"]) for e in entries]
    assert got == list(reversed(steps)), "newest first, one entry per change"
    assert all(e["actor_type"] == "account" for e in entries)
    assert all(e["grant_id"] is None for e in entries)
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)

    by_action: dict[str, list[dict[str, Any]]] = {}
    for e in reversed(entries):
        by_action.setdefault(e["action"], []).append(e)

    opened = by_action["shop.opened"][0]
    assert (opened["target_type"], opened["target_id"]) == ("shop", sid)
    assert opened["before"] is None
    assert opened["after"]["name"] == "Audit Me"
    assert opened["after"]["subject_type"] == "enterprise"
    assert opened["after"]["status"] == "pending_qualification"

    updated = by_action["shop.updated"][0]
    assert updated["before"]["name"] == "Audit Me"
    assert updated["after"]["name"] == "Audit Me Too"

    submitted = by_action["shop.qualification_submitted"][0]
    assert submitted["before"]["status"] == "pending_qualification"
    assert submitted["after"]["status"] == "in_review"
    assert submitted["after"]["bank_account_number"] == "************9876"
    resubmitted = by_action["shop.qualification_submitted"][1]
    assert resubmitted["before"]["status"] == "rejected"

    rejected = by_action["shop.rejected"][0]
    assert rejected["before"]["status"] == "in_review"
    assert rejected["after"]["status"] == "rejected"
    assert rejected["after"]["reason"] == "Blurry scan"
    approved = by_action["shop.approved"][0]
    assert (approved["before"]["status"], approved["after"]["status"]) == ("in_review", "open")
    suspended = by_action["shop.suspended"][0]
    assert suspended["before"]["suspended"] is False
    assert suspended["after"]["suspended"] is True
    assert suspended["after"]["reason"] == "Spot check"
    reinstated = by_action["shop.reinstated"][0]
    assert (reinstated["before"]["suspended"], reinstated["after"]["suspended"]) == (True, False)

    added = by_action["member.added"][0]
    assert (added["target_type"], added["target_id"]) == ("account", staff.id)
    assert added["after"] == {"account_id": staff.id, "role": "operator"}
    changed = by_action["member.role_changed"][0]
    assert changed["before"]["role"] == "operator"
    assert changed["after"]["role"] == "finance"
    removed = by_action["member.removed"][0]
    assert removed["target_id"] == staff.id
    assert removed["before"] == {"account_id": staff.id, "role": "finance"}
    assert removed["after"] is None

    transferred = by_action["shop.ownership_transferred"][0]
    assert transferred["target_id"] == sid
    assert transferred["before"] == {
        "from": {"account_id": owner.id, "role": "owner"},
        "to": {"account_id": heir.id, "role": "admin"},
    }
    assert transferred["after"] == {
        "from": {"account_id": owner.id, "role": "admin"},
        "to": {"account_id": heir.id, "role": "owner"},
    }

    # The database holds exactly what the API shows.
    rows = await audit_rows(container, sid)
    assert [r["id"] for r in rows] == [e["id"] for e in reversed(entries)]
    assert [r["request_id"] for r in rows] == [s[3] for s in steps]
    assert all(r["created_at"] is not None for r in rows)


async def test_generated_request_id_is_recorded(
    client: httpx.AsyncClient, container: Container
) -> None:
    owner = await f.user(client)
    r = await client.post(
        "/merchant/shops", json={"name": "No Header", "subject_type": "personal"}, headers=owner.h
    )
    assert r.status_code == 201
    generated = r.headers["X-Request-Id"]
    assert generated.startswith("req_")
    rows = await audit_rows(container, r.json()["id"])
    assert [(x["action"], x["request_id"]) for x in rows] == [("shop.opened", generated)]
    # An unusable incoming id is replaced rather than stored.
    r = await client.patch(
        f"/merchant/shops/{r.json()['id']}",
        json={"name": "Bad Header"},
        headers={**owner.h, "X-Request-Id": "no spaces <allowed>"},
    )
    assert r.status_code == 200
    assert r.headers["X-Request-Id"].startswith("req_")
    rows = await audit_rows(container, r.json()["id"])
    assert rows[-1]["request_id"] == r.headers["X-Request-Id"]


async def test_audit_log_filters_and_pages(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    sid = shop["id"]
    staff = await f.user(new_client())
    await add_member(owner, sid, staff, "admin")
    for i in range(4):
        r = await client.patch(
            f"/merchant/shops/{sid}", json={"name": f"Name Number {i}"}, headers=owner.h
        )
        assert r.status_code == 200
    r = await staff.client.patch(
        f"/merchant/shops/{sid}", json={"name": "Admin Was Here"}, headers=staff.h
    )
    assert r.status_code == 200
    await client.patch(
        f"/merchant/shops/{sid}/members/{staff.id}", json={"role": "finance"}, headers=owner.h
    )
    everything = await audit_log(owner, sid)
    assert len(everything) == 8
    assert [e["action"] for e in everything] == [
        "member.role_changed",
        "shop.updated",
        "shop.updated",
        "shop.updated",
        "shop.updated",
        "shop.updated",
        "member.added",
        "shop.opened",
    ]

    updates = await audit_log(owner, sid, action="shop.updated")
    assert [e["after"]["name"] for e in updates] == [
        "Admin Was Here",
        "Name Number 3",
        "Name Number 2",
        "Name Number 1",
        "Name Number 0",
    ]
    by_staff = await audit_log(owner, sid, actor_id=staff.id)
    assert [(e["action"], e["actor_id"]) for e in by_staff] == [("shop.updated", staff.id)]
    about_staff = await audit_log(owner, sid, target_id=staff.id)
    assert [e["action"] for e in about_staff] == ["member.role_changed", "member.added"]
    combined = await audit_log(owner, sid, action="shop.updated", actor_id=owner.id)
    assert len(combined) == 4
    assert await audit_log(owner, sid, action="shop.deleted") == []

    # Time window: `since` is inclusive, `until` exclusive.
    pivot = everything[3]  # "Name Number 2"
    newer = await audit_log(owner, sid, since=pivot["created_at"])
    older = await audit_log(owner, sid, until=pivot["created_at"])
    assert pivot["id"] in {e["id"] for e in newer}
    assert pivot["id"] not in {e["id"] for e in older}
    assert {e["id"] for e in newer} | {e["id"] for e in older} == {e["id"] for e in everything}
    assert not {e["id"] for e in newer} & {e["id"] for e in older}
    both = await audit_log(
        owner, sid, since=everything[-1]["created_at"], until="2999-01-01T00:00:00Z"
    )
    assert len(both) == 8
    assert await audit_log(owner, sid, since="2999-01-01T00:00:00+08:00") == []

    # Pages of three, newest first, no gaps or repeats.
    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(f"/merchant/shops/{sid}/audit-log", params=params)
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]) <= 3
        paged += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert [e["id"] for e in paged] == [e["id"] for e in everything]
    # Filters and paging together.
    r = await client.get(
        f"/merchant/shops/{sid}/audit-log", params={"limit": 2, "action": "shop.updated"}
    )
    first = r.json()
    assert [e["after"]["name"] for e in first["data"]] == ["Admin Was Here", "Name Number 3"]
    r = await client.get(
        f"/merchant/shops/{sid}/audit-log",
        params={"limit": 2, "action": "shop.updated", "cursor": first["next_cursor"]},
    )
    assert [e["after"]["name"] for e in r.json()["data"]] == ["Name Number 2", "Name Number 1"]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},  # no time zone
        {"until": "2026-13-01T00:00:00Z"},
        {"limit": 500},
        {"action": "a" * 65},
    ],
)
async def test_audit_log_rejects_bad_filters(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    r = await client.get(f"/merchant/shops/{shop['id']}/audit-log", params=params)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"][0] == "query"


async def test_audit_log_bad_cursor(client: httpx.AsyncClient) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    r = await client.get(f"/merchant/shops/{shop['id']}/audit-log", params={"cursor": "@@"})
    assert_problem(r, 400, "invalid_cursor")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", True),
        ("operator", False),
        ("customer_service", False),
        ("finance", False),
    ],
)
async def test_who_reads_the_audit_log(
    client: httpx.AsyncClient, new_client: NewClient, role: str, allowed: bool
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    reader = await f.user(new_client())
    await add_member(owner, shop["id"], reader, role)
    r = await reader.client.get(f"/merchant/shops/{shop['id']}/audit-log")
    if allowed:
        assert r.status_code == 200
        assert [e["action"] for e in r.json()["data"]] == ["member.added", "shop.opened"]
    else:
        body = assert_problem(r, 403, "permission_denied")
        assert body["permission"] == "audit.read"
        assert body["role"] == role


async def test_audit_log_is_private_to_the_shop(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop_a = await f.open_shop(owner)
    other = await f.user(new_client())
    shop_b = await f.open_shop(other)
    r = await other.client.get(f"/merchant/shops/{shop_a['id']}/audit-log")
    assert_problem(r, 404, "shop_not_found")
    op = await f.operator(container, new_client())
    r = await op.client.get(f"/merchant/shops/{shop_a['id']}/audit-log")
    assert_problem(r, 404, "shop_not_found")
    # Each shop's log holds its own entries only.
    mine = await audit_log(owner, shop_a["id"])
    assert {e["target_id"] for e in mine} == {shop_a["id"]}
    theirs = await audit_log(other, shop_b["id"])
    assert {e["target_id"] for e in theirs} == {shop_b["id"]}
