"""The developer surface (apps), the operator's controls and the public service market."""

from __future__ import annotations

import secrets

import httpx

from tests.factories import operator, user
from tests.oauth_support import REDIRECT, authorized, make_app


async def test_developer_registers_edits_and_publishes_an_app(client: httpx.AsyncClient) -> None:
    app = await make_app(client, publish=False, name="Waybill Printer")
    dev = app.developer
    assert app.body["status"] == "draft"
    assert app.client_secret.startswith("mss_") and app.client_id.startswith("msc_")
    r = await dev.client.get(f"/v1/apps/{app.id}")
    assert r.status_code == 200 and "client_secret" not in r.json()
    etag = r.headers["etag"]
    listed = (await dev.client.get("/v1/apps")).json()["data"]
    assert [a["id"] for a in listed] == [app.id]

    r = await dev.client.patch(
        f"/v1/apps/{app.id}",
        json={"description": "Prints waybills in batches.", "scopes": ["logistics:write"]},
        headers={**dev.h, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert r.json()["scopes"] == ["logistics:write"]
    r = await dev.client.patch(
        f"/v1/apps/{app.id}", json={"name": "Late"}, headers={**dev.h, "If-Match": etag}
    )
    assert r.status_code == 412

    r = await dev.client.post(f"/v1/apps/{app.id}/publish", headers=dev.h)
    assert r.status_code == 200 and r.json()["status"] == "published"
    r = await dev.client.post(f"/v1/apps/{app.id}/publish", headers=dev.h)
    assert r.status_code == 409 and r.json()["current_status"] == "published"


async def test_redirect_uri_rules(client: httpx.AsyncClient) -> None:
    dev = await user(client)
    base = {"name": "Bad Redirects", "service_types": ["other"], "scopes": ["shop:read"]}
    for uris in (
        ["http://erp.example.com/cb"],  # http off loopback
        ["https://erp.example.com/cb#frag"],
        ["ftp://erp.example.com/cb"],
        ["/relative"],
        ["https://user:pw@erp.example.com/cb"],
        [],
    ):
        r = await client.post("/v1/apps", json={**base, "redirect_uris": uris}, headers=dev.h)
        assert r.status_code == 422, (uris, r.text)
        assert r.json()["errors"]
    for uris in (["https://erp.example.com/cb"], ["http://localhost:3000/cb", REDIRECT]):
        r = await client.post("/v1/apps", json={**base, "redirect_uris": uris}, headers=dev.h)
        assert r.status_code == 201, r.text
    r = await client.post(
        "/v1/apps",
        json={**base, "redirect_uris": ["https://a.example.com"], "scopes": ["root"]},
        headers=dev.h,
    )
    assert r.status_code == 422


INJECTING = "https://erp.example.com; script-src 'unsafe-inline' https:/cb"


async def test_redirect_uris_are_strict_urls(client: httpx.AsyncClient) -> None:
    """Nothing in a redirect URI may read as more than one URL or as a header's syntax."""
    dev = await user(client)
    base = {"name": "Strict Redirects", "service_types": ["other"], "scopes": ["shop:read"]}
    refused = [
        INJECTING,
        "https://erp.example.com/cb x",
        "https://erp.example.com/cb\tx",
        "https://erp.example.com/a,b",
        "https://erp.example.com/cb;x=1",
        "https://erp.example.com/'x'",
        'https://erp.example.com/"x"',
        "https://erp.example.com/cb?q=%zz",
        "https://erp.example.com:99999/cb",
        "https://erp.example.com:0/cb",
        "https://erp.example.com:x/cb",
        "https://erp_example.com/cb",
        "https://-erp.example.com/cb",
        "https://erp..example.com/cb",
        "https:///cb",
        "https:cb",
        "https://erp.example.com/" + "a" * 2048,
        "https://erp.example.com/ünïcode",
    ]
    for i, uri in enumerate(refused):
        uris = ["https://ok.example.com/cb", uri]
        r = await client.post("/v1/apps", json={**base, "redirect_uris": uris}, headers=dev.h)
        assert r.status_code == 422, (uri, r.text)
        body = r.json()
        assert body["code"] == "validation_error", body
        # (A control character is refused by the schema already, for the whole list.)
        where = [["body", "redirect_uris"]] if "\t" in uri else [["body", "redirect_uris", "1"]]
        assert [e["loc"] for e in body["errors"]] == where, (i, body)

    accepted = [
        "https://erp.example.com/cb",
        "https://erp.example.com:8443/oauth/cb?tenant=a&x=%20y",
        "https://[2001:db8::1]/cb",
        "https://203.0.113.5/cb",
        "http://[::1]:3000/cb",
        "http://localhost/cb",
    ]
    r = await client.post("/v1/apps", json={**base, "redirect_uris": accepted}, headers=dev.h)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["redirect_uris"] == accepted

    # The same checks on an edit, which changes nothing when refused.
    r = await dev.client.patch(
        f"/v1/apps/{app['id']}", json={"redirect_uris": [INJECTING]}, headers=dev.h
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "redirect_uris", "0"]
    r = await dev.client.get(f"/v1/apps/{app['id']}")
    assert r.json()["redirect_uris"] == accepted


async def test_another_developers_app_does_not_exist(client: httpx.AsyncClient, new_client) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(client)
    stranger = await user(new_client())
    assert (await stranger.client.get(f"/v1/apps/{app.id}")).status_code == 404
    r = await stranger.client.post(f"/v1/apps/{app.id}/secret", headers=stranger.h)
    assert r.status_code == 404
    r = await stranger.client.patch(
        f"/v1/apps/{app.id}", json={"name": "Mine now"}, headers=stranger.h
    )
    assert r.status_code == 404
    assert (await stranger.client.get("/v1/apps")).json()["data"] == []
    # Writes need the CSRF token.
    r = await app.developer.client.post(f"/v1/apps/{app.id}/secret")
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"


async def test_market_lists_published_apps_by_type_and_name(
    client: httpx.AsyncClient,
) -> None:
    tag = "Zq" + secrets.token_hex(3)
    listed = await make_app(
        client, name=f"{tag} Mover", service_types=["migration"], scopes=["products:write"]
    )
    await make_app(client, name=f"{tag} Draft", service_types=["migration"], publish=False)
    other = await make_app(client, name=f"{tag} Printer", service_types=["batch_waybill"])

    r = await client.get("/v1/market/apps", params={"q": tag.lower(), "limit": 1})
    assert r.status_code == 200
    page1 = r.json()
    assert len(page1["data"]) == 1 and page1["next_cursor"]
    r = await client.get(
        "/v1/market/apps", params={"q": tag, "limit": 1, "cursor": page1["next_cursor"]}
    )
    page2 = r.json()
    names = {page1["data"][0]["name"], page2["data"][0]["name"]}
    assert names == {f"{tag} Mover", f"{tag} Printer"} and page2["next_cursor"] is None

    r = await client.get("/v1/market/apps", params={"q": tag, "service_type": "migration"})
    assert [a["id"] for a in r.json()["data"]] == [listed.id]
    assert r.json()["data"][0]["developer"]

    detail = (await client.get(f"/v1/market/apps/{listed.id}")).json()
    assert detail["scopes"] == [
        {"scope": "products:write", "description": detail["scopes"][0]["description"]}
    ]
    assert detail["authorization_endpoint"].endswith("/oauth/authorize")
    assert (await client.get(f"/v1/market/apps/{other.id}")).status_code == 200
    r = await client.get("/v1/market/apps", params={"service_type": "teleport"})
    assert r.status_code == 422
    r = await client.get("/v1/market/apps", params={"q": "100%_"})
    assert r.status_code == 200 and r.json()["data"] == []


async def test_operator_suspends_an_app_everywhere_at_once(
    client: httpx.AsyncClient, new_client, container
) -> None:  # type: ignore[no-untyped-def]
    auth = await authorized(client)
    op = await operator(container, new_client())
    r = await op.client.post(
        f"/v1/platform/apps/{auth.app.id}/suspend", json={"reason": "abuse"}, headers=op.h
    )
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = await client.get("/v1/shop", headers=auth.bearer)
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    assert (await client.get(f"/v1/market/apps/{auth.app.id}")).status_code == 404
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": auth.tokens["refresh_token"]},
        auth=(auth.app.client_id, auth.app.client_secret),
    )
    assert r.status_code in (400, 401) and r.json()["error"] in (
        "unauthorized_client",
        "invalid_client",
    )
    listed = (await op.client.get("/v1/platform/apps", params={"status": "suspended"})).json()
    assert auth.app.id in {a["id"] for a in listed["data"]}
    r = await op.client.post(f"/v1/platform/apps/{auth.app.id}/reinstate", headers=op.h)
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert (await client.get("/v1/shop", headers=auth.bearer)).status_code == 200
    # Only operators.
    r = await auth.app.developer.client.post(
        f"/v1/platform/apps/{auth.app.id}/reinstate", headers=auth.app.developer.h
    )
    assert r.status_code == 403


async def test_rate_limit_override_is_bounded(
    client: httpx.AsyncClient, new_client, container
) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(client)
    op = await operator(container, new_client())
    for body in (
        {"burst": 0, "per_second": 1},
        {"burst": 5, "per_second": 1e-300},
        {"burst": 5, "per_second": -1},
    ):
        r = await op.client.put(f"/v1/platform/apps/{app.id}/rate-limit", json=body, headers=op.h)
        assert r.status_code == 422, (body, r.text)
    r = await op.client.put(
        f"/v1/platform/apps/{app.id}/rate-limit",
        json={"burst": 500, "per_second": 50},
        headers=op.h,
    )
    assert r.status_code == 200 and r.json()["rate_limit_burst"] == 500
