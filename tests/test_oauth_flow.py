"""The authorization-code flow with PKCE, token rotation, revocation and introspection."""

from __future__ import annotations

import re
from typing import Any

import httpx
import sqlalchemy as sa

from app.container import Container
from app.infra.db import tables
from tests import factories as f
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


async def _tokens_ok(client: httpx.AsyncClient, access_token: str) -> int:
    r = await client.get("/v1/shop", headers={"Authorization": f"Bearer {access_token}"})
    return r.status_code


async def test_code_is_single_use_and_replay_revokes_its_tokens(
    client: httpx.AsyncClient,
) -> None:
    app = await make_app(client)
    merchant = await user(client)
    shop = await open_shop(merchant)
    code, verifier = await get_code(merchant, app, shop_id=shop["id"])
    first = await exchange(client, app, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert await _tokens_ok(client, tokens["access_token"]) == 200

    replay = await exchange(client, app, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert replay.headers["cache-control"] == "no-store"
    # Every token issued from that code is now dead: the access token and the refresh token.
    assert await _tokens_ok(client, tokens["access_token"]) == 401
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(app.client_id, app.client_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_wrong_verifier_wrong_redirect_and_other_client_are_invalid_grant(
    client: httpx.AsyncClient,
) -> None:
    app = await make_app(client, redirect_uris=["http://127.0.0.1:8765/cb", "http://localhost/x"])
    other = await make_app(client)
    merchant = await user(client)
    shop = await open_shop(merchant)

    code, verifier = await get_code(merchant, app, shop_id=shop["id"])
    r = await exchange(client, app, code, "x" * 43 + "wrong")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    code, verifier = await get_code(merchant, app, shop_id=shop["id"])
    r = await exchange(client, app, code, verifier, redirect_uri="http://localhost/x")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    code, verifier = await get_code(merchant, app, shop_id=shop["id"])
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(other.client_id, other.client_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # The code is still good for its own client: another client's attempt did not burn it.
    assert (await exchange(client, app, code, verifier)).status_code == 200

    code, _ = await get_code(merchant, app, shop_id=shop["id"])
    r = await exchange(client, app, code, "")
    assert r.status_code == 400 and r.json()["error"] in ("invalid_grant", "invalid_request")


async def test_pkce_is_required_and_s256_only(client: httpx.AsyncClient) -> None:
    app = await make_app(client)
    merchant = await user(client)
    shop = await open_shop(merchant)
    _, challenge = pkce()
    for changes in (
        {"code_challenge": ""},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": ""},
        {"code_challenge": "too-short"},
    ):
        params = {k: v for k, v in authorize_params(app, challenge, **changes).items() if v}
        r = await merchant.client.get("/oauth/authorize", params=params)
        q = redirect_query(r)
        assert q["error"] == "invalid_request", (changes, q)
        assert q["state"] == params["state"]
        assert q["iss"]
    del shop


async def test_untrusted_client_or_redirect_gets_an_error_page_never_a_redirect(
    client: httpx.AsyncClient,
) -> None:
    app = await make_app(client)
    merchant = await user(client)
    _, challenge = pkce()
    cases = [
        authorize_params(app, challenge, client_id="msc_unknown"),
        authorize_params(app, challenge, redirect_uri="http://127.0.0.1:8765/callback/"),
        authorize_params(app, challenge, redirect_uri="https://evil.example.com/cb"),
        {k: v for k, v in authorize_params(app, challenge).items() if k != "redirect_uri"},
    ]
    for params in cases:
        r = await merchant.client.get("/oauth/authorize", params=params)
        assert r.status_code == 400, params
        assert "location" not in r.headers
        assert r.headers["x-frame-options"] == "DENY"
        assert "text/html" in r.headers["content-type"]


async def test_other_authorization_errors_redirect_with_state(client: httpx.AsyncClient) -> None:
    app = await make_app(client, scopes=["shop:read"])
    merchant = await user(client)
    _, challenge = pkce()
    r = await merchant.client.get(
        "/oauth/authorize", params=authorize_params(app, challenge, response_type="token")
    )
    assert redirect_query(r)["error"] == "unsupported_response_type"
    for scope in ("orders:write", "shop:read nonsense"):
        r = await merchant.client.get(
            "/oauth/authorize", params=authorize_params(app, challenge, scope=scope)
        )
        assert redirect_query(r)["error"] == "invalid_scope"


async def test_not_logged_in_goes_to_login_and_comes_back(client: httpx.AsyncClient) -> None:
    app = await make_app(client)
    _, challenge = pkce()
    params = authorize_params(app, challenge)
    r = await client.get("/oauth/authorize", params=params)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/login?next=")
    page = await client.get(location)
    assert page.status_code == 200 and 'name="next"' in page.text
    assert "/oauth/authorize?" in page.text


async def test_consent_page_shows_the_app_scopes_and_only_manageable_shops(
    client: httpx.AsyncClient, new_client
) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(client, scopes=["shop:read", "orders:read"], name="Order Helper")
    owner = await user(new_client())
    mine = await open_shop(owner, name="Owner Shop")
    staff = await user(new_client())
    r = await owner.client.post(
        f"/merchant/shops/{mine['id']}/members",
        json={"username": staff.username, "role": "operator"},
        headers=owner.h,
    )
    assert r.status_code == 201, r.text
    _, challenge = pkce()
    page = await owner.client.get("/oauth/authorize", params=authorize_params(app, challenge))
    assert page.status_code == 200
    assert "Order Helper" in page.text and "See your orders" in page.text
    assert mine["id"] in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # An operator may not authorize apps: no shop to choose, only a way back.
    page = await staff.client.get("/oauth/authorize", params=authorize_params(app, challenge))
    assert page.status_code == 200
    assert mine["id"] not in page.text and 'id="approve"' not in page.text
    # Posting the shop anyway is refused.
    from tests.oauth_support import hidden_fields

    fields = hidden_fields(page.text) | {"shop_id": mine["id"], "decision": "approve"}
    r = await staff.client.post("/oauth/authorize", data=fields)
    assert r.status_code in (403, 404) and "location" not in r.headers


def _consent_csp(page: httpx.Response) -> str:
    assert page.status_code == 200, page.text
    return page.headers["content-security-policy"]


async def test_consent_csp_form_action_is_the_parsed_origin_of_the_redirect(
    client: httpx.AsyncClient, container: Container
) -> None:
    redirect = "https://erp.example.com:8443/oauth/cb?tenant=a"
    app = await make_app(client, redirect_uris=[redirect])
    merchant = await user(client)
    await open_shop(merchant)
    _, challenge = pkce()
    csp = _consent_csp(
        await merchant.client.get("/oauth/authorize", params=authorize_params(app, challenge))
    )
    assert csp.endswith("; form-action 'self' https://erp.example.com:8443"), csp

    # A redirect URI stored before registration checked them this strictly cannot write
    # directives of its own into the policy: the form may post to the page itself only.
    injecting = "https://erp.example.com; script-src 'unsafe-inline' https:/cb"
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(tables.apps)
            .where(tables.apps.c.id == app.id)
            .values(redirect_uris=[redirect, injecting])
        )
    params = authorize_params(app, challenge, redirect_uri=injecting)
    csp = _consent_csp(await merchant.client.get("/oauth/authorize", params=params))
    directives = [d.strip().split(" ")[0] for d in csp.split(";")]
    assert directives == [
        "default-src",
        "style-src",
        "img-src",
        "frame-ancestors",
        "form-action",
    ], csp
    assert csp.endswith("; form-action 'self'"), csp
    assert "unsafe-inline' https:" not in csp


async def test_consent_page_names_the_account_once(
    client: httpx.AsyncClient, new_client: Any
) -> None:
    """Not "Logged in as Li Wei (merchant) (merchant)"."""
    app = await make_app(client)
    _, challenge = pkce()
    name = f.unique("merchant")
    for username, display, expected in (
        (name, f"Li Wei ({name})", f"Logged in as <strong>Li Wei ({name})</strong>."),
        (name + "x", "Chen Jing", f"Logged in as <strong>Chen Jing</strong> ({name}x)."),
        (name + "y", None, f"Logged in as <strong>{name}y</strong>."),
    ):
        browser = new_client()
        await f.register(browser, username=username, display_name=display)
        await f.login(browser, username=username)
        page = await browser.get("/oauth/authorize", params=authorize_params(app, challenge))
        assert page.status_code == 200, page.text
        (line,) = re.findall(r"<p>Logged in as .*?</p>", page.text)
        assert line == f"<p>{expected}</p>", line
        assert line.count(username) == 1, line


async def test_deny_and_csrf(client: httpx.AsyncClient) -> None:
    app = await make_app(client)
    merchant = await user(client)
    shop = await open_shop(merchant)
    _, challenge = pkce()
    params = authorize_params(app, challenge)
    q = redirect_query(await consent(merchant, params, shop_id=shop["id"], decision="deny"))
    assert q["error"] == "access_denied" and q["state"] == params["state"]
    # A forged post without the session's CSRF token is refused.
    r = await merchant.client.post(
        "/oauth/authorize",
        data={**params, "shop_id": shop["id"], "decision": "approve", "csrf_token": "forged"},
    )
    assert r.status_code == 403 and "location" not in r.headers


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    auth = await authorized(client)
    creds = (auth.app.client_id, auth.app.client_secret)
    first = auth.tokens
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=creds,
    )
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert await _tokens_ok(client, second["access_token"]) == 200
    # Narrowing on refresh is allowed, widening is not.
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": second["refresh_token"],
            "scope": "shop:read nonsense",
        },
        auth=creds,
    )
    assert r.json()["error"] == "invalid_scope"

    reused = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=creds,
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # The whole family is revoked: the newest access and refresh tokens too.
    assert await _tokens_ok(client, second["access_token"]) == 401
    assert await _tokens_ok(client, first["access_token"]) == 401
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        auth=creds,
    )
    assert r.json()["error"] == "invalid_grant"


async def test_client_authentication(client: httpx.AsyncClient) -> None:
    app = await make_app(client)
    merchant = await user(client)
    shop = await open_shop(merchant)
    code, verifier = await get_code(merchant, app, shop_id=shop["id"])
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "code_verifier": verifier,
    }
    r = await client.post("/oauth/token", data=base, auth=(app.client_id, "mss_wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")
    r = await client.post("/oauth/token", data=base)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await client.post(
        "/oauth/token",
        data={**base, "client_id": app.client_id, "client_secret": app.client_secret},
        auth=(app.client_id, app.client_secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await client.post("/oauth/token", json=base, auth=(app.client_id, app.client_secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await client.post(
        "/oauth/token",
        data={**base, "grant_type": "password"},
        auth=(app.client_id, app.client_secret),
    )
    assert r.json()["error"] == "unsupported_grant_type"
    # client_secret_post works too; the code was not burnt by the failed authentications.
    r = await client.post(
        "/oauth/token",
        data={**base, "client_id": app.client_id, "client_secret": app.client_secret},
    )
    assert r.status_code == 200, r.text


async def test_secret_rotation_keeps_the_old_secret_for_the_grace_period(
    client: httpx.AsyncClient, container
) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from app.domain.clock import utcnow
    from app.infra.db import tables

    app = await make_app(client)
    old = app.client_secret
    r = await app.developer.client.post(f"/v1/apps/{app.id}/secret", headers=app.developer.h)
    assert r.status_code == 200, r.text
    new = r.json()["client_secret"]
    assert new != old and r.json()["previous_secret_expires_at"]
    for secret in (old, new):
        r = await client.post(
            "/oauth/introspect", data={"token": "x"}, auth=(app.client_id, secret)
        )
        assert r.status_code == 200 and r.json() == {"active": False}
    # The grace period ends: the old secret is rejected, the new one still works.
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(tables.apps)
            .where(tables.apps.c.id == app.id)
            .values(previous_secret_expires_at=utcnow())
        )
    r = await client.post("/oauth/introspect", data={"token": "x"}, auth=(app.client_id, old))
    assert r.status_code == 401
    r = await client.post("/oauth/introspect", data={"token": "x"}, auth=(app.client_id, new))
    assert r.status_code == 200


async def test_introspection_and_revocation(client: httpx.AsyncClient) -> None:
    auth = await authorized(client)
    creds = (auth.app.client_id, auth.app.client_secret)
    other = await make_app(client)
    access = auth.tokens["access_token"]
    r = await client.post("/oauth/introspect", data={"token": access}, auth=creds)
    body = r.json()
    assert body["active"] is True and body["shop_id"] == auth.shop["id"]
    assert body["client_id"] == auth.app.client_id and "shop:read" in body["scope"]
    r = await client.post(
        "/oauth/introspect", data={"token": auth.tokens["refresh_token"]}, auth=creds
    )
    assert r.json()["active"] is True and r.json()["token_type"] == "refresh_token"
    # Another client learns nothing about the token.
    r = await client.post(
        "/oauth/introspect", data={"token": access}, auth=(other.client_id, other.client_secret)
    )
    assert r.json() == {"active": False}
    # Unknown tokens revoke fine (200); another client cannot revoke ours.
    r = await client.post("/oauth/revoke", data={"token": "msr_nope"}, auth=creds)
    assert r.status_code == 200
    r = await client.post(
        "/oauth/revoke", data={"token": access}, auth=(other.client_id, other.client_secret)
    )
    assert r.status_code == 200 and await _tokens_ok(client, access) == 200
    # Revoking the refresh token revokes the access tokens minted from it.
    r = await client.post("/oauth/revoke", data={"token": auth.tokens["refresh_token"]}, auth=creds)
    assert r.status_code == 200
    assert await _tokens_ok(client, access) == 401
    r = await client.post("/oauth/introspect", data={"token": access}, auth=creds)
    assert r.json() == {"active": False}
    r = await client.post("/oauth/revoke", data={"token": access})
    assert r.status_code == 401


async def test_incremental_consent_widens_the_grant(client: httpx.AsyncClient) -> None:
    app = await make_app(client, scopes=["shop:read", "shop:write", "orders:read"])
    first = await authorized(client, app=app, scope="shop:read")
    assert first.tokens["scope"] == "shop:read"
    again = await authorized(
        client, app=app, merchant=first.merchant, shop=first.shop, scope="orders:read"
    )
    assert again.tokens["scope"] == "orders:read"
    r = await first.merchant.client.get(f"/merchant/shops/{first.shop['id']}/apps")
    assert r.status_code == 200
    [grant] = r.json()["data"]
    assert grant["scopes"] == ["shop:read", "orders:read"]
    assert grant["app_id"] == app.id and grant["grant_id"] == again.tokens["grant_id"]


async def test_revoking_a_grant_and_switching_providers(
    client: httpx.AsyncClient, container
) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from app.infra.db import tables

    a = await authorized(client)
    b = await authorized(client, merchant=a.merchant, shop=a.shop)
    listed = (await a.merchant.client.get(f"/merchant/shops/{a.shop['id']}/apps")).json()
    assert {g["app_id"] for g in listed["data"]} == {a.app.id, b.app.id}
    r = await a.merchant.client.delete(
        f"/merchant/shops/{a.shop['id']}/apps/{a.app.id}", headers=a.merchant.h
    )
    assert r.status_code == 204
    assert await _tokens_ok(client, a.tokens["access_token"]) == 401
    assert await _tokens_ok(client, b.tokens["access_token"]) == 200
    r = await a.merchant.client.delete(
        f"/merchant/shops/{a.shop['id']}/apps/{a.app.id}", headers=a.merchant.h
    )
    assert r.status_code == 404
    listed = (await a.merchant.client.get(f"/merchant/shops/{a.shop['id']}/apps")).json()
    assert [g["app_id"] for g in listed["data"]] == [b.app.id]
    async with container.engine.connect() as conn:
        events = (
            await conn.execute(
                sa.select(tables.outbox_events.c.type, tables.outbox_events.c.app_id).where(
                    tables.outbox_events.c.shop_id == a.shop["id"]
                )
            )
        ).all()
        audit = (
            (
                await conn.execute(
                    sa.select(tables.audit_log.c.action).where(
                        tables.audit_log.c.shop_id == a.shop["id"]
                    )
                )
            )
            .scalars()
            .all()
        )
    assert ("app.authorized", a.app.id) in events and ("app.authorized", b.app.id) in events
    assert ("app.authorization_revoked", a.app.id) in events
    assert "app.authorized" in audit and "app.authorization_revoked" in audit


async def test_metadata_and_jwks(client: httpx.AsyncClient) -> None:
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint"].endswith("/oauth/token")
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert jwks["keys"][0]["alg"] == "ES256" and jwks["keys"][0]["kid"]


async def test_idempotency_keys_belong_to_the_grant(client: httpx.AsyncClient) -> None:
    auth = await authorized(client)
    key = {"Idempotency-Key": "rename-1"}
    first = await client.patch(
        "/v1/shop", json={"name": "Renamed Once"}, headers={**auth.bearer, **key}
    )
    assert first.status_code == 200, first.text
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": auth.tokens["refresh_token"]},
        auth=(auth.app.client_id, auth.app.client_secret),
    )
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    # The refreshed token replays the first response instead of running again.
    again = await client.patch("/v1/shop", json={"name": "Renamed Once"}, headers={**fresh, **key})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # A revoked token gets no replay: 401.
    await client.post(
        "/oauth/revoke",
        data={"token": r.json()["refresh_token"]},
        auth=(auth.app.client_id, auth.app.client_secret),
    )
    r = await client.patch("/v1/shop", json={"name": "Renamed Once"}, headers={**fresh, **key})
    assert r.status_code == 401


async def test_switching_providers_in_one_consent(client: httpx.AsyncClient) -> None:
    from tests.oauth_support import hidden_fields

    old = await authorized(client)
    new_app = await make_app(client)  # same service type (batch_order)
    unrelated = await make_app(client, service_types=["migration"])
    await authorized(client, app=unrelated, merchant=old.merchant, shop=old.shop)
    _, challenge = pkce()
    params = authorize_params(new_app, challenge)
    page = await old.merchant.client.get("/oauth/authorize", params=params)
    pair = f"{old.shop['id']}:{old.app.id}"
    assert f'value="{pair}"' in page.text
    assert unrelated.id not in page.text  # offers only apps of the same kind of service
    fields = hidden_fields(page.text) | {"shop_id": old.shop["id"], "decision": "approve"}
    r = await old.merchant.client.post("/oauth/authorize", data={**fields, "replace": [pair]})
    assert "code" in redirect_query(r)
    assert await _tokens_ok(client, old.tokens["access_token"]) == 401
    listed = (await old.merchant.client.get(f"/merchant/shops/{old.shop['id']}/apps")).json()
    assert {g["app_id"] for g in listed["data"]} == {new_app.id, unrelated.id}


async def test_a_token_is_held_to_its_grant(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A token signed with the real key is still refused when it claims another shop, app,
    client or grant than its family's grant, or a scope the grant never gave."""
    auth = await authorized(client, scope="shop:read products:read")
    other_shop = await open_shop(auth.merchant, subject_type="individual")
    other = await authorized(client, merchant=auth.merchant, shop=other_shop)
    claims = container.tokens.decode(auth.tokens["access_token"])

    async def call(**changes: str) -> httpx.Response:
        token = container.tokens.encode({**claims, **changes})
        return await client.get("/v1/shop", headers={"Authorization": f"Bearer {token}"})

    same = await call(jti="at_resigned")  # re-signed with nothing changed: honoured
    assert same.status_code == 200, same.text
    assert same.json()["id"] == auth.shop["id"]
    other_claims = container.tokens.decode(other.tokens["access_token"])
    for changes in (
        {"shop_id": other_shop["id"]},
        {"sub": other.app.id},
        {"client_id": other.app.client_id},
        {"grant_id": other_claims["grant_id"]},
        {"shop_id": other_shop["id"], "grant_id": other_claims["grant_id"]},
        {"scope": "shop:read products:read orders:write"},
    ):
        r = await call(**changes)
        assert r.status_code == 401, (changes, r.text)
        assert r.json()["code"] == "invalid_token", r.json()
        assert "does not match its grant" in r.json()["detail"]
        assert r.headers["www-authenticate"].startswith('Bearer realm="minishop"')
    # A narrower token than the grant is fine (a refresh may narrow the scopes).
    assert (await call(scope="shop:read")).status_code == 200
    # Introspection does not call a forged token active either.
    forged = container.tokens.encode({**claims, "shop_id": other_shop["id"]})
    r = await client.post(
        "/oauth/introspect",
        data={"token": forged},
        auth=(auth.app.client_id, auth.app.client_secret),
    )
    assert r.json() == {"active": False}
