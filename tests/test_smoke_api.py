from __future__ import annotations

import httpx

from tests import factories as f


async def test_register_login_me_logout(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    r = await client.get("/auth/me")
    assert r.status_code == 200
    assert r.json()["username"] == u.username
    r = await client.post("/auth/logout", headers=u.h)
    assert r.status_code == 204
    r = await client.get("/auth/me")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "session_required"


async def test_open_personal_shop(client: httpx.AsyncClient) -> None:
    u = await f.user(client)
    shop = await f.open_shop(u)
    assert shop["status"] == "open"
    assert shop["role"] == "owner"
    assert shop["id"].startswith("shop_")
