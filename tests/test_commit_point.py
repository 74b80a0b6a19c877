"""One commit point: the edge commits the request's unit of work once, after the endpoint
returns and before the response is sent (`app/api/deps.py`, called by `AutoCommitRoute`);
routes, services and repositories never commit. A grant's last-use stamp is written after the
response in a unit of work of its own, and a refused token request keeps only its aftermath."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute

from app.api.routing import AutoCommitRoute
from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.infra.db.repositories.authz import SqlGrantRepository
from tests.factories import open_shop, user
from tests.oauth_support import authorized, exchange, get_code, make_app

ROOT = Path(__file__).resolve().parent.parent
#: The one place of the HTTP process that may call `commit()`.
COMMIT_POINT = ROOT / "app" / "api" / "deps.py"


def commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "commit")
            or (isinstance(node.func, ast.Name) and node.func.id == "commit")
        )
    ]


def test_nothing_under_api_or_domain_commits_but_the_commit_point() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("app/api", "app/domain")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != COMMIT_POINT
        for line in commit_calls(path)
    ]
    assert not found, (
        "commit() outside the one commit point (app/api/deps.py); write into the request's "
        f"unit of work and let the edge commit it: {found}"
    )
    assert commit_calls(COMMIT_POINT), "the commit point itself has moved: update this test"


def test_every_operation_commits_at_the_edge(app) -> None:  # type: ignore[no-untyped-def]
    # A route of another class would never commit: its writes would silently roll back.
    plain = [
        f"{sorted(r.methods or ())} {r.path}"
        for r in app.router.routes
        if isinstance(r, APIRoute) and not isinstance(r, AutoCommitRoute)
    ]
    assert not plain


async def _last_used(container: Container, shop_id: str, app_id: str) -> object:
    g = tables.grants
    async with container.engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(g.c.last_used_at).where(g.c.shop_id == shop_id, g.c.app_id == app_id)
            )
        ).scalar_one()


async def test_grant_touch_is_written_apart_and_never_fails_a_read(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = await authorized(client)
    shop_id, app_id = auth.shop["id"], auth.app.id
    g = tables.grants
    stale = utcnow() - timedelta(hours=1)
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(g)
            .where(g.c.shop_id == shop_id, g.c.app_id == app_id)
            .values(last_used_at=stale)
        )

    # A touch that cannot be written (a locked row, a lost connection) costs the read nothing.
    async def broken(self: SqlGrantRepository, grant_id: str, when: object) -> None:
        raise RuntimeError("the touch failed")

    with monkeypatch.context() as m:
        m.setattr(SqlGrantRepository, "touch", broken)
        r = await client.get("/v1/shop", headers=auth.bearer)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == shop_id

    # When it works, the stamp moves (once the response is out, in its own transaction).
    before = utcnow()
    r = await client.get("/v1/shop", headers=auth.bearer)
    assert r.status_code == 200
    last = await _last_used(container, shop_id, app_id)
    assert isinstance(last, type(before))
    assert last.replace(tzinfo=before.tzinfo) >= before - timedelta(seconds=1)


async def test_a_refused_exchange_spends_its_code_and_keeps_nothing_else(
    client: httpx.AsyncClient,
) -> None:
    app = await make_app(client)
    merchant = await user(client)
    shop = await open_shop(merchant)
    code, verifier = await get_code(merchant, app, shop_id=shop["id"])
    r = await exchange(client, app, code, "x" * 43 + "wrong")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # The spent code was committed on its own: the right verifier comes too late, and as a
    # replay it revokes whatever the code had issued (nothing here).
    r = await exchange(client, app, code, verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "already used" in r.json()["error_description"]
