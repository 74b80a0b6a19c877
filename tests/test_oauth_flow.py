"""The authorization-code flow with PKCE, token rotation, revocation and introspection."""

from __future__ import annotations

import httpx

from tests.factories import open_shop, user
from tests.oauth_support import (
    authorize_params,
    authorized,
    consent,
    exchange,
    get_code,
    make_app,
    pkce,
    redirect_query,
)


async def test_code_flow_gives_a_token_for_the_chosen_shop(client: httpx.AsyncClient) -> None:
    auth = await authorized(client)
    t = auth.tokens
    assert t["token_type"] == "Bearer" and t["expires_in"] == 7200
    assert t["shop_id"] == auth.shop["id"] and t["refresh_token"].startswith("msr_")
    r = await client.get("/v1/shop", headers=auth.bearer)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == auth.shop["id"]
    for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert h in r.headers
    assert r.headers["RateLimit-Limit"] == "80"
