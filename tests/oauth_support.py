"""Helpers for the OAuth tests: a developer's app, PKCE pairs, the consent page, tokens."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.factories import User, open_shop, user

REDIRECT = "http://127.0.0.1:8765/callback"
ALL_SCOPES = [
    "shop:read",
    "shop:write",
    "products:read",
    "products:write",
    "orders:read",
    "orders:write",
    "logistics:read",
    "logistics:write",
    "aftersales:read",
    "aftersales:write",
    "marketing:read",
    "marketing:write",
    "funds:read",
]


@dataclass
class AppCreds:
    developer: User
    id: str
    client_id: str
    client_secret: str
    redirect_uri: str
    body: dict[str, Any]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def make_app(
    client: httpx.AsyncClient,
    *,
    scopes: list[str] | None = None,
    redirect_uris: list[str] | None = None,
    publish: bool = True,
    name: str | None = None,
    service_types: list[str] | None = None,
) -> AppCreds:
    # The developer gets a browser of its own, so the caller's cookies stay as they were.
    client = httpx.AsyncClient(transport=client._transport, base_url=client.base_url)
    dev = await user(client)
    r = await client.post(
        "/v1/apps",
        json={
            "name": name or f"App {secrets.token_hex(3)}",
            "description": "A test app.",
            "service_types": service_types or ["batch_order"],
            "redirect_uris": redirect_uris or [REDIRECT],
            "scopes": scopes or ALL_SCOPES,
        },
        headers=dev.h,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    if publish:
        p = await client.post(f"/v1/apps/{body['id']}/publish", headers=dev.h)
        assert p.status_code == 200, p.text
    return AppCreds(
        dev,
        body["id"],
        body["client_id"],
        body["client_secret"],
        (redirect_uris or [REDIRECT])[0],
        body,
    )


def authorize_params(app: AppCreds, challenge: str, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": " ".join(app.body["scopes"]),
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


async def consent(
    merchant: User, params: dict[str, str], *, shop_id: str, decision: str = "approve"
) -> httpx.Response:
    """Open the consent page as the logged-in merchant and press a button."""
    page = await merchant.client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    fields = hidden_fields(page.text)
    fields["shop_id"] = shop_id
    fields["decision"] = decision
    return await merchant.client.post("/oauth/authorize", data=fields)


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def get_code(
    merchant: User, app: AppCreds, *, shop_id: str, scope: str | None = None
) -> tuple[str, str]:
    verifier, challenge = pkce()
    params = authorize_params(app, challenge)
    if scope is not None:
        params["scope"] = scope
    q = redirect_query(await consent(merchant, params, shop_id=shop_id))
    assert q["state"] == params["state"]
    return q["code"], verifier


async def exchange(
    client: httpx.AsyncClient, app: AppCreds, code: str, verifier: str, **extra: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "code_verifier": verifier,
    }
    data.update(extra)
    return await client.post("/oauth/token", data=data, auth=(app.client_id, app.client_secret))


@dataclass
class Authorized:
    merchant: User
    shop: dict[str, Any]
    app: AppCreds
    tokens: dict[str, Any]

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


async def authorized(
    client: httpx.AsyncClient,
    *,
    app: AppCreds | None = None,
    merchant: User | None = None,
    shop: dict[str, Any] | None = None,
    scope: str | None = None,
) -> Authorized:
    """A merchant's shop that authorized an app, and the app's first token pair."""
    app = app or await make_app(client)
    merchant = merchant or await user(client)
    shop = shop or await open_shop(merchant)
    code, verifier = await get_code(merchant, app, shop_id=shop["id"], scope=scope)
    r = await exchange(client, app, code, verifier)
    assert r.status_code == 200, r.text
    return Authorized(merchant, shop, app, r.json())
