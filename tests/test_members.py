"""Shop members: adding, roles, the permission matrix, the last owner, ownership transfer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.shops.permissions import MATRIX, Permission, Role
from app.infra.db import tables
from tests import factories as f

NewClient = Callable[..., httpx.AsyncClient]
NON_MANAGERS = ["operator", "customer_service", "finance"]


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["code"] == code, body
    return body


async def roles_in_db(container: Container, shop_id: str) -> dict[str, str]:
    m = tables.shop_members
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(m.c.account_id, m.c.role).where(m.c.shop_id == shop_id))
        return {a: str(r) for a, r in rows.all()}


async def add(owner: f.User, shop_id: str, username: str, role: str) -> httpx.Response:
    return await owner.client.post(
        f"/merchant/shops/{shop_id}/members",
        json={"username": username, "role": role},
        headers=owner.h,
    )


async def member(new_client: NewClient, owner: f.User, shop_id: str, role: str) -> f.User:
    """A fresh account, logged in on its own client, added to the shop with `role`."""
    u = await f.user(new_client())
    r = await add(owner, shop_id, u.username, role)
    assert r.status_code == 201, r.text
    return u


# --- adding members ----------------------------------------------------------------------------


async def test_owner_adds_member_by_username(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    other = await f.user(new_client())
    r = await add(owner, shop["id"], f"  {other.username.upper()} ", "operator")
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] == '"1"'
    body = r.json()
    assert body["account_id"] == other.id
    assert body["username"] == other.username
    assert body["role"] == "operator"
    assert body["version"] == 1
    assert await roles_in_db(container, shop["id"]) == {owner.id: "owner", other.id: "operator"}

    # The new member sees the shop with their role and its permissions.
    r = await other.client.get(f"/merchant/shops/{shop['id']}")
    assert r.status_code == 200
    assert r.json()["role"] == "operator"
    assert set(r.json()["permissions"]) == {str(p) for p in MATRIX[Role.OPERATOR]}
    listed = (await other.client.get("/merchant/shops")).json()["data"]
    assert [(s["id"], s["role"]) for s in listed] == [(shop["id"], "operator")]

    r = await client.get(f"/merchant/shops/{shop['id']}/members")
    assert r.status_code == 200
    assert {(m["account_id"], m["role"]) for m in r.json()["data"]} == {
        (owner.id, "owner"),
        (other.id, "operator"),
    }


async def test_members_list_pages(client: httpx.AsyncClient, new_client: NewClient) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    added = {(await member(new_client, owner, shop["id"], "finance")).id for _ in range(4)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"/merchant/shops/{shop['id']}/members", params=params)).json()
        assert len(page["data"]) <= 2
        seen += [m["account_id"] for m in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(added | {owner.id})


async def test_admin_adds_members_but_not_owners(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner, subject_type="enterprise")
    admin = await member(new_client, owner, shop["id"], "admin")
    newcomer = await f.user(new_client())

    before = await f.fingerprint(container, shop["id"])
    r = await add(admin, shop["id"], newcomer.username, "owner")
    body = assert_problem(r, 403, "permission_denied")
    assert "owner" in body["detail"]
    assert await f.fingerprint(container, shop["id"]) == before

    r = await add(admin, shop["id"], newcomer.username, "customer_service")
    assert r.status_code == 201, r.text
    assert (await roles_in_db(container, shop["id"]))[newcomer.id] == "customer_service"


async def test_unknown_username_is_404(client: httpx.AsyncClient, container: Container) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    before = await f.fingerprint(container, shop["id"])
    r = await add(owner, shop["id"], f.unique("ghost"), "admin")
    assert_problem(r, 404, "account_not_found")
    assert await f.fingerprint(container, shop["id"]) == before


async def test_duplicate_member_is_409(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    other = await member(new_client, owner, shop["id"], "finance")
    before = await f.fingerprint(container, shop["id"])
    assert_problem(await add(owner, shop["id"], other.username, "admin"), 409, "already_member")
    assert_problem(await add(owner, shop["id"], owner.username, "admin"), 409, "already_member")
    assert await f.fingerprint(container, shop["id"]) == before
    assert (await roles_in_db(container, shop["id"]))[other.id] == "finance"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "someone", "role": "king"},
        {"username": "someone"},
        {"role": "admin"},
        {"username": "x", "role": "admin"},
        {"username": "someone", "role": "admin", "extra": 1},
    ],
    ids=["bad_role", "no_role", "no_username", "short_username", "unknown_field"],
)
async def test_add_member_malformed_body(
    client: httpx.AsyncClient, container: Container, body: dict[str, Any]
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    before = await f.fingerprint(container, shop["id"])
    r = await client.post(f"/merchant/shops/{shop['id']}/members", json=body, headers=owner.h)
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"]
    assert await f.fingerprint(container, shop["id"]) == before


async def test_member_routes_need_csrf(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    other = await member(new_client, owner, shop["id"], "finance")
    base = f"/merchant/shops/{shop['id']}"
    before = await f.fingerprint(container, shop["id"])
    calls = [
        client.post(f"{base}/members", json={"username": other.username, "role": "admin"}),
        client.patch(f"{base}/members/{other.id}", json={"role": "admin"}),
        client.delete(f"{base}/members/{other.id}"),
        client.post(f"{base}/ownership-transfer", json={"to_account_id": other.id}),
    ]
    for call in calls:
        assert_problem(await call, 403, "csrf_failed")
    anon = new_client()
    assert_problem(await anon.get(f"{base}/members"), 401, "session_required")
    assert await f.fingerprint(container, shop["id"]) == before


# --- the permission matrix ------------------------------------------------------------------


async def test_roles_endpoint_documents_the_matrix(client: httpx.AsyncClient) -> None:
    r = await client.get("/merchant/roles")
    assert r.status_code == 200
    got = {row["role"]: set(row["permissions"]) for row in r.json()}
    assert got == {str(role): {str(p) for p in perms} for role, perms in MATRIX.items()}
    assert "ownership.transfer" in got["owner"]
    assert "ownership.transfer" not in got["admin"]
    assert "members.manage" not in got["operator"]


@pytest.mark.parametrize("role", NON_MANAGERS)
async def test_non_managers_cannot_manage_members(
    client: httpx.AsyncClient, new_client: NewClient, container: Container, role: str
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    actor = await member(new_client, owner, shop["id"], role)
    victim = await member(new_client, owner, shop["id"], "customer_service")
    outsider = await f.user(new_client())
    base = f"/merchant/shops/{shop['id']}"
    before = await f.fingerprint(container, shop["id"])

    r = await add(actor, shop["id"], outsider.username, "finance")
    body = assert_problem(r, 403, "permission_denied")
    assert body["role"] == role
    assert body["permission"] == "members.manage"
    r = await actor.client.patch(
        f"{base}/members/{victim.id}", json={"role": "admin"}, headers=actor.h
    )
    assert_problem(r, 403, "permission_denied")
    r = await actor.client.delete(f"{base}/members/{victim.id}", headers=actor.h)
    assert_problem(r, 403, "permission_denied")
    # Not even themselves: promoting yourself is managing members.
    r = await actor.client.patch(
        f"{base}/members/{actor.id}", json={"role": "admin"}, headers=actor.h
    )
    assert_problem(r, 403, "permission_denied")
    r = await actor.client.post(
        f"{base}/ownership-transfer", json={"to_account_id": victim.id}, headers=actor.h
    )
    assert_problem(r, 403, "permission_denied")
    assert await f.fingerprint(container, shop["id"]) == before

    # They may read the member list.
    r = await actor.client.get(f"{base}/members")
    assert r.status_code == 200
    assert len(r.json()["data"]) == 3


@pytest.mark.parametrize("role", NON_MANAGERS)
async def test_non_managers_cannot_change_the_shop(
    client: httpx.AsyncClient, new_client: NewClient, container: Container, role: str
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner, subject_type="enterprise")
    actor = await member(new_client, owner, shop["id"], role)
    url = f"/merchant/shops/{shop['id']}"
    before = await f.fingerprint(container, shop["id"])
    r = await actor.client.patch(url, json={"name": "Hijacked"}, headers=actor.h)
    body = assert_problem(r, 403, "permission_denied")
    assert body["permission"] == "shop.update"
    r = await actor.client.put(f"{url}/qualification", json=f.qualification(), headers=actor.h)
    body = assert_problem(r, 403, "permission_denied")
    assert body["permission"] == "qualification.submit"
    assert await f.fingerprint(container, shop["id"]) == before
    r = await actor.client.get(url)
    assert r.status_code == 200
    assert r.json()["role"] == role


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("owner", True),
        ("admin", True),
        ("finance", True),
        ("operator", False),
        ("customer_service", False),
    ],
)
async def test_who_reads_the_qualification(
    client: httpx.AsyncClient, new_client: NewClient, role: str, allowed: bool
) -> None:
    owner = await f.user(client)
    shop = await f.business_shop_in_review(owner)
    reader = owner if role == "owner" else await member(new_client, owner, shop["id"], role)
    r = await reader.client.get(f"/merchant/shops/{shop['id']}/qualification")
    assert allows_matrix(role, Permission.QUALIFICATION_READ) is allowed
    if allowed:
        assert r.status_code == 200, r.text
        assert r.json()["bank_account_number"].endswith("9876")
        assert r.json()["bank_account_number"].startswith("****")
    else:
        body = assert_problem(r, 403, "permission_denied")
        assert body["permission"] == "qualification.read"


def allows_matrix(role: str, permission: Permission) -> bool:
    return permission in MATRIX[Role(role)]


async def test_admin_manages_members_but_cannot_touch_owners(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    admin = await member(new_client, owner, shop["id"], "admin")
    staff = await member(new_client, owner, shop["id"], "operator")
    base = f"/merchant/shops/{shop['id']}/members"

    before = await f.fingerprint(container, shop["id"])
    r = await admin.client.patch(f"{base}/{owner.id}", json={"role": "admin"}, headers=admin.h)
    assert_problem(r, 403, "permission_denied")
    r = await admin.client.delete(f"{base}/{owner.id}", headers=admin.h)
    assert_problem(r, 403, "permission_denied")
    r = await admin.client.patch(f"{base}/{staff.id}", json={"role": "owner"}, headers=admin.h)
    assert_problem(r, 403, "permission_denied")
    r = await admin.client.post(
        f"/merchant/shops/{shop['id']}/ownership-transfer",
        json={"to_account_id": staff.id},
        headers=admin.h,
    )
    body = assert_problem(r, 403, "permission_denied")
    assert body["permission"] == "ownership.transfer"
    assert await f.fingerprint(container, shop["id"]) == before

    r = await admin.client.patch(
        f"{base}/{staff.id}", json={"role": "customer_service"}, headers=admin.h
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "customer_service"
    assert r.json()["version"] == 2
    assert r.headers["ETag"] == '"2"'
    r = await admin.client.delete(f"{base}/{staff.id}", headers=admin.h)
    assert r.status_code == 204
    assert await roles_in_db(container, shop["id"]) == {owner.id: "owner", admin.id: "admin"}


async def test_change_role_if_match_and_unknown_member(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    staff = await member(new_client, owner, shop["id"], "operator")
    url = f"/merchant/shops/{shop['id']}/members/{staff.id}"

    r = await client.patch(url, json={"role": "finance"}, headers={**owner.h, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    before = await f.fingerprint(container, shop["id"])
    r = await client.patch(url, json={"role": "admin"}, headers={**owner.h, "If-Match": '"1"'})
    body = assert_problem(r, 412, "precondition_failed")
    assert body["current_version"] == 2
    assert await f.fingerprint(container, shop["id"]) == before
    r = await client.patch(url, json={"role": "admin"}, headers={**owner.h, "If-Match": '"2"'})
    assert r.status_code == 200
    assert (await roles_in_db(container, shop["id"]))[staff.id] == "admin"

    stranger = await f.user(new_client())
    before = await f.fingerprint(container, shop["id"])
    base = f"/merchant/shops/{shop['id']}/members/{stranger.id}"
    assert_problem(
        await client.patch(base, json={"role": "admin"}, headers=owner.h), 404, "member_not_found"
    )
    assert_problem(await client.delete(base, headers=owner.h), 404, "member_not_found")
    r = await client.patch(url, json={"role": "chief"}, headers=owner.h)
    assert_problem(r, 422, "validation_error")
    assert await f.fingerprint(container, shop["id"]) == before


async def test_removed_member_loses_access(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    staff = await member(new_client, owner, shop["id"], "admin")
    assert (await staff.client.get(f"/merchant/shops/{shop['id']}")).status_code == 200
    r = await client.delete(f"/merchant/shops/{shop['id']}/members/{staff.id}", headers=owner.h)
    assert r.status_code == 204
    assert r.content == b""
    assert staff.id not in await roles_in_db(container, shop["id"])
    r = await staff.client.get(f"/merchant/shops/{shop['id']}")
    assert_problem(r, 404, "shop_not_found")
    assert (await staff.client.get("/merchant/shops")).json()["data"] == []


# --- owners ---------------------------------------------------------------------------------


async def test_last_owner_cannot_leave_or_step_down(
    client: httpx.AsyncClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    url = f"/merchant/shops/{shop['id']}/members/{owner.id}"
    before = await f.fingerprint(container, shop["id"])
    r = await client.patch(url, json={"role": "admin"}, headers=owner.h)
    assert_problem(r, 409, "last_owner")
    r = await client.delete(url, headers=owner.h)
    assert_problem(r, 409, "last_owner")
    assert await f.fingerprint(container, shop["id"]) == before
    # Setting the same role is a no-op, not an error.
    r = await client.patch(url, json={"role": "owner"}, headers=owner.h)
    assert r.status_code == 200
    assert r.json()["version"] == 1


async def test_a_second_owner_lets_the_first_leave(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner, subject_type="enterprise")
    co = await member(new_client, owner, shop["id"], "owner")
    assert await roles_in_db(container, shop["id"]) == {owner.id: "owner", co.id: "owner"}
    base = f"/merchant/shops/{shop['id']}/members"

    r = await client.patch(f"{base}/{owner.id}", json={"role": "admin"}, headers=owner.h)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"
    # Now `co` is the last owner.
    r = await co.client.delete(f"{base}/{co.id}", headers=co.h)
    assert_problem(r, 409, "last_owner")
    r = await co.client.delete(f"{base}/{owner.id}", headers=co.h)
    assert r.status_code == 204
    assert await roles_in_db(container, shop["id"]) == {co.id: "owner"}


async def test_adding_an_owner_respects_their_shop_limit(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    personal = await f.open_shop(owner)
    target = await f.user(new_client())
    # The target already owns a personal shop: the refused addition reads it, and must change
    # it no more than the shop it is made to.
    theirs = await f.open_shop(target)
    before = await f.fingerprint(container, personal["id"], theirs["id"])
    r = await add(owner, personal["id"], target.username, "owner")
    body = assert_problem(r, 409, "shop_limit_reached")
    assert body["limit"] == 1
    assert await f.fingerprint(container, personal["id"], theirs["id"]) == before
    # Any other role is fine: the limit counts owned shops only.
    r = await add(owner, personal["id"], target.username, "admin")
    assert r.status_code == 201
    r = await client.patch(
        f"/merchant/shops/{personal['id']}/members/{target.id}",
        json={"role": "owner"},
        headers=owner.h,
    )
    assert_problem(r, 409, "shop_limit_reached")
    assert (await roles_in_db(container, personal["id"]))[target.id] == "admin"


async def test_ownership_transfer(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    heir = await member(new_client, owner, shop["id"], "finance")
    url = f"/merchant/shops/{shop['id']}/ownership-transfer"

    r = await client.post(url, json={"to_account_id": heir.id}, headers=owner.h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["previous_owner"]["account_id"] == owner.id
    assert body["previous_owner"]["role"] == "admin"
    assert body["new_owner"]["account_id"] == heir.id
    assert body["new_owner"]["role"] == "owner"
    assert await roles_in_db(container, shop["id"]) == {owner.id: "admin", heir.id: "owner"}

    # The former owner is an admin now: no second transfer, shop still visible.
    r = await client.post(url, json={"to_account_id": heir.id}, headers=owner.h)
    assert_problem(r, 403, "permission_denied")
    assert (await client.get(f"/merchant/shops/{shop['id']}")).json()["role"] == "admin"
    assert (await heir.client.get(f"/merchant/shops/{shop['id']}")).json()["role"] == "owner"
    # Owning no personal shop any more, the former owner may open one again.
    again = await f.open_shop(owner)
    assert again["status"] == "open"


async def test_ownership_transfer_errors(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner)
    heir = await member(new_client, owner, shop["id"], "admin")
    # The heir already owns a personal shop: the refused transfer must not change it either.
    heirs = await f.open_shop(heir)
    stranger = await f.user(new_client())
    url = f"/merchant/shops/{shop['id']}/ownership-transfer"
    before = await f.fingerprint(container, shop["id"], heirs["id"])

    r = await client.post(url, json={"to_account_id": heir.id}, headers=owner.h)
    body = assert_problem(r, 409, "shop_limit_reached")
    assert body["subject_type"] == "personal"
    r = await client.post(url, json={"to_account_id": stranger.id}, headers=owner.h)
    assert_problem(r, 404, "member_not_found")
    r = await client.post(url, json={"to_account_id": owner.id}, headers=owner.h)
    assert_problem(r, 409, "conflict")
    r = await client.post(url, json={}, headers=owner.h)
    assert_problem(r, 422, "validation_error")
    assert await f.fingerprint(container, shop["id"], heirs["id"]) == before


async def test_ownership_transfer_of_business_shop_counts_business_limit(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop = await f.open_shop(owner, subject_type="individual")
    heir = await member(new_client, owner, shop["id"], "operator")
    for kind in ("individual", "enterprise", "enterprise"):
        await f.open_shop(heir, subject_type=kind)
    r = await client.post(
        f"/merchant/shops/{shop['id']}/ownership-transfer",
        json={"to_account_id": heir.id},
        headers=owner.h,
    )
    body = assert_problem(r, 409, "shop_limit_reached")
    assert body["limit"] == 3
    assert (await roles_in_db(container, shop["id"]))[heir.id] == "operator"
    # A personal shop is a separate allowance.
    personal = await f.open_shop(owner)
    r = await add(owner, personal["id"], heir.username, "admin")
    assert r.status_code == 201
    r = await client.post(
        f"/merchant/shops/{personal['id']}/ownership-transfer",
        json={"to_account_id": heir.id},
        headers=owner.h,
    )
    assert r.status_code == 200, r.text


# --- tenancy: non-members never learn that a shop exists ------------------------------------


def shop_routes(shop_id: str, account_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/merchant/shops/{shop_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"name": "Taken Over"}),
        ("GET", f"{base}/qualification", None),
        ("PUT", f"{base}/qualification", f.qualification()),
        ("GET", f"{base}/audit-log", None),
        ("GET", f"{base}/members", None),
        ("POST", f"{base}/members", {"username": "whoever", "role": "admin"}),
        ("PATCH", f"{base}/members/{account_id}", {"role": "admin"}),
        ("DELETE", f"{base}/members/{account_id}", None),
        ("POST", f"{base}/ownership-transfer", {"to_account_id": account_id}),
    ]


async def test_non_members_get_404_everywhere(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    owner = await f.user(client)
    shop_a = await f.open_shop(owner, subject_type="enterprise")
    other = await f.user(new_client())
    shop_b = await f.open_shop(other)  # a member of B probing A
    stranger = await f.user(new_client())  # a member of nothing
    # The shop probed and the intruder's own: a probe must change neither.
    before = await f.fingerprint(container, shop_a["id"], shop_b["id"])
    for intruder in (other, stranger):
        for method, url, body in shop_routes(shop_a["id"], owner.id):
            r = await intruder.client.request(method, url, json=body, headers=intruder.h)
            problem = assert_problem(r, 404, "shop_not_found")
            assert "errors" in problem
        # A shop id that does not exist answers exactly the same way.
        r = await intruder.client.get("/merchant/shops/shop_00000000000000000000000000")
        assert_problem(r, 404, "shop_not_found")
    assert await f.fingerprint(container, shop_a["id"], shop_b["id"]) == before
    assert (await other.client.get(f"/merchant/shops/{shop_b['id']}")).status_code == 200
