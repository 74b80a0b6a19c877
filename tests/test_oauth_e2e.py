"""The OAuth flow end to end against the real server process, with a real OAuth client
library (Authlib's httpx integration), as a service provider would run it.

Discovery (RFC 8414) → authorization URL with PKCE S256 → the merchant logs in and approves
on the consent page (a plain cookie-holding client) → 303 with code, state and iss (RFC 9207)
→ token exchange (client_secret_basic and client_secret_post) → /v1/shop → refresh rotation
with reuse detection → introspection (RFC 7662) → revocation (RFC 7009) → the access token
verified independently with the published JWKS.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import authlib.deprecate
import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from tests.live_server import LiveServer, login_session

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and warns (always) when it falls back to httpx.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = pytest.mark.slow

SCOPE = "shop:read shop:write orders:read"


@pytest.fixture(scope="module")
def server(demo_server: LiveServer) -> LiveServer:
    """The demo server, shared with the other modules of its group (tests/xdist_units.py)."""
    return demo_server


@pytest.fixture(scope="module")
def metadata(server: LiveServer) -> dict[str, Any]:
    r = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server")
    assert r.status_code == 200, r.text
    return dict(r.json())


class _ConsentForm(HTMLParser):
    """The consent page's hidden inputs and shop options (values HTML-unescaped)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.shops: dict[str, str] = {}
        self._option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "option":
            self._option = a["value"]

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self.shops[self._option] = self.shops.get(self._option, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._option = None


@dataclass
class Flow:
    client: OAuth2Client
    token: dict[str, Any]
    state: str
    location: str
    shop_id: str


def _oauth_client(server: LiveServer, metadata: dict[str, Any], method: str) -> OAuth2Client:
    app = server.demo["app"]
    return OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        scope=SCOPE,
        redirect_uri=app["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint=metadata["token_endpoint"],
        timeout=10,
    )


def _merchant(server: LiveServer) -> httpx.Client:
    m = server.demo["merchant"]
    return login_session(server.base_url, m["username"], m["password"])


def _approve(server: LiveServer, authorization_url: str, shop_id: str) -> str:
    """The merchant opens the authorization URL, approves for `shop_id`: the 303 Location."""
    browser = _merchant(server)
    try:
        page = browser.get(authorization_url)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        form = _ConsentForm()
        form.feed(page.text)
        shops = server.demo["shops"]
        assert shop_id in form.shops
        assert shops["enterprise"]["name"] in form.shops[shops["enterprise"]["id"]]
        assert shops["personal"]["name"] in form.shops[shops["personal"]["id"]]
        assert form.hidden["csrf_token"]
        r = browser.post(
            "/oauth/authorize",
            data={**form.hidden, "decision": "approve", "shop_id": shop_id},
        )
    finally:
        browser.close()
    assert r.status_code == 303, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.headers["location"]


def _code_flow(server: LiveServer, metadata: dict[str, Any], method: str) -> Flow:
    client = _oauth_client(server, metadata, method)
    verifier = generate_token(64)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    q = parse_qs(urlsplit(url).query)
    assert q["code_challenge_method"] == ["S256"]
    assert q["code_challenge"][0] and q["code_challenge"][0] != verifier

    shop_id = server.demo["shops"]["enterprise"]["id"]
    location = _approve(server, url, shop_id)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == server.demo["app"]["redirect_uri"]
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params["state"] == state
    assert params["iss"] == metadata["issuer"]  # RFC 9207
    assert params["code"]

    sent: list[httpx.Request] = []
    client.event_hooks["request"].append(sent.append)
    token = client.fetch_token(
        metadata["token_endpoint"],
        authorization_response=location,
        state=state,
        code_verifier=verifier,
    )
    client.event_hooks["request"].remove(sent.append)
    (request,) = sent
    body = parse_qs(request.content.decode())
    if method == "client_secret_basic":
        assert request.headers["authorization"].startswith("Basic ")
        assert "client_secret" not in body
    else:
        assert "authorization" not in request.headers
        assert body["client_secret"] == [server.demo["app"]["client_secret"]]
    assert body["code_verifier"] == [verifier]

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 7200
    assert token["scope"] == SCOPE
    assert token["shop_id"] == shop_id
    assert token["refresh_token"].startswith("msr_")
    return Flow(client, dict(token), state, location, shop_id)


def _get_shop(server: LiveServer, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{server.base_url}/v1/shop", headers={"Authorization": f"Bearer {access_token}"}
    )


def _assert_invalid_token(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


def _introspect(client: OAuth2Client, metadata: dict[str, Any], token: str) -> dict[str, Any]:
    r = client.introspect_token(metadata["introspection_endpoint"], token=token)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return dict(r.json())


def test_discovery_document_is_valid_rfc8414(
    server: LiveServer, metadata: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Authlib refuses a plain-http issuer unless told this is a local test.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    AuthorizationServerMetadata(metadata).validate()
    assert metadata["issuer"] == server.base_url
    for key, path in (
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ):
        assert metadata[key] == server.base_url + path
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert set(SCOPE.split()) <= set(metadata["scopes_supported"])
    assert metadata["authorization_response_iss_parameter_supported"] is True
    # The demo app's docs redirect URI names the port the server listens on.
    assert f"{server.base_url}/docs/oauth2-redirect" in server.demo["app"]["redirect_uris"]


def test_client_secret_basic_flow_refresh_rotation_and_reuse_detection(
    server: LiveServer, metadata: dict[str, Any]
) -> None:
    flow = _code_flow(server, metadata, "client_secret_basic")
    first = flow.token

    r = _get_shop(server, first["access_token"])
    assert r.status_code == 200, r.text
    shop = r.json()
    assert shop["id"] == server.demo["shops"]["enterprise"]["id"]
    assert shop["name"] == server.demo["shops"]["enterprise"]["name"]
    assert shop["subject_type"] == "enterprise"
    limit = int(r.headers["ratelimit-limit"])
    remaining = int(r.headers["ratelimit-remaining"])
    assert 0 <= remaining < limit
    assert int(r.headers["ratelimit-reset"]) >= 0
    assert r.headers["etag"]

    # The same token works through Authlib's own bearer auth.
    flow.client.token = first
    again = flow.client.get(f"{server.base_url}/v1/shop")
    assert again.status_code == 200
    assert int(again.headers["ratelimit-remaining"]) < remaining

    # Rotation: a new pair; the new access token works.
    second = dict(
        flow.client.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
    )
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == SCOPE
    assert second["shop_id"] == flow.shop_id
    assert second["grant_id"] == first["grant_id"]
    assert _get_shop(server, second["access_token"]).status_code == 200
    # The rotated refresh token is no longer active; the new one is.
    assert _introspect(flow.client, metadata, first["refresh_token"]) == {"active": False}
    assert _introspect(flow.client, metadata, second["refresh_token"])["active"] is True

    # Reuse of the rotated refresh token: invalid_grant, and the whole family is revoked.
    with pytest.raises(OAuthError) as reused:
        flow.client.refresh_token(metadata["token_endpoint"], refresh_token=first["refresh_token"])
    assert reused.value.error == "invalid_grant"
    _assert_invalid_token(_get_shop(server, second["access_token"]))
    _assert_invalid_token(_get_shop(server, first["access_token"]))
    assert _introspect(flow.client, metadata, second["access_token"]) == {"active": False}
    with pytest.raises(OAuthError) as family:
        flow.client.refresh_token(metadata["token_endpoint"], refresh_token=second["refresh_token"])
    assert family.value.error == "invalid_grant"


def test_client_secret_post_flow_introspection_and_revocation(
    server: LiveServer, metadata: dict[str, Any]
) -> None:
    flow = _code_flow(server, metadata, "client_secret_post")
    token = flow.token
    app = server.demo["app"]

    r = _get_shop(server, token["access_token"])
    assert r.status_code == 200, r.text
    assert r.json()["id"] == flow.shop_id
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(r.headers)

    info = _introspect(flow.client, metadata, token["access_token"])
    assert info["active"] is True
    assert info["token_type"] == "Bearer"
    assert info["scope"] == SCOPE
    assert info["shop_id"] == flow.shop_id
    assert info["client_id"] == app["client_id"]
    assert info["sub"] == app["app_id"]
    assert info["grant_id"] == token["grant_id"]
    assert info["iss"] == metadata["issuer"]
    assert info["exp"] - info["iat"] == 7200
    refresh_info = _introspect(flow.client, metadata, token["refresh_token"])
    assert refresh_info["active"] is True
    assert refresh_info["shop_id"] == flow.shop_id

    # RFC 7009: revoking the refresh token revokes the family, access token included.
    revoked = flow.client.revoke_token(
        metadata["revocation_endpoint"],
        token=token["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200, revoked.text
    assert _introspect(flow.client, metadata, token["access_token"]) == {"active": False}
    assert _introspect(flow.client, metadata, token["refresh_token"]) == {"active": False}
    _assert_invalid_token(_get_shop(server, token["access_token"]))
    with pytest.raises(OAuthError) as refused:
        flow.client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refused.value.error == "invalid_grant"
    # Revoking again, or an unknown token, is still 200 (RFC 7009 §2.2).
    again = flow.client.revoke_token(metadata["revocation_endpoint"], token=token["refresh_token"])
    assert again.status_code == 200


def test_code_is_single_use_and_bound_to_the_verifier(
    server: LiveServer, metadata: dict[str, Any]
) -> None:
    client = _oauth_client(server, metadata, "client_secret_basic")
    verifier = generate_token(64)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    location = _approve(server, url, server.demo["shops"]["personal"]["id"])

    with pytest.raises(OAuthError) as wrong:
        client.fetch_token(
            authorization_response=location, state=state, code_verifier=generate_token(64)
        )
    assert wrong.value.error == "invalid_grant"
    # The failed attempt consumed the code: the right verifier is now too late.
    with pytest.raises(OAuthError) as replayed:
        client.fetch_token(authorization_response=location, state=state, code_verifier=verifier)
    assert replayed.value.error == "invalid_grant"


def test_access_token_verifies_with_the_published_jwks(
    server: LiveServer, metadata: dict[str, Any]
) -> None:
    flow = _code_flow(server, metadata, "client_secret_basic")
    access_token = flow.token["access_token"]
    r = httpx.get(metadata["jwks_uri"])
    assert r.status_code == 200
    jwks = r.json()
    assert jwks["keys"]
    for key in jwks["keys"]:
        assert {"kty", "kid", "use", "alg"} <= set(key)
        assert "d" not in key  # public halves only

    keys = KeySet.import_key_set(jwks)
    token = jwt.decode(access_token, keys, algorithms=["ES256"])
    issuer = metadata["issuer"]
    jwt.JWTClaimsRegistry(
        leeway=5,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": f"{issuer}/v1"},
        sub={"essential": True, "value": server.demo["app"]["app_id"]},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    ).validate(token.claims)
    assert token.header["alg"] == "ES256"
    assert token.header["kid"] in {k["kid"] for k in jwks["keys"]}
    claims = token.claims
    assert claims["shop_id"] == flow.shop_id
    assert claims["scope"] == SCOPE
    assert claims["client_id"] == server.demo["app"]["client_id"]
    assert claims["grant_id"] == flow.token["grant_id"]
    assert claims["jti"].startswith("at_")
    assert claims["exp"] - claims["iat"] == 7200

    # A tampered payload fails verification with the same keys.
    head, payload, sig = access_token.split(".")
    forged = ".".join((head, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), sig))
    with pytest.raises(BadSignatureError):
        jwt.decode(forged, keys, algorithms=["ES256"])


def test_revoking_the_access_token_revokes_its_refresh_token(
    server: LiveServer, metadata: dict[str, Any]
) -> None:
    flow = _code_flow(server, metadata, "client_secret_basic")
    token = flow.token
    revoked = flow.client.revoke_token(
        metadata["revocation_endpoint"],
        token=token["access_token"],
        token_type_hint="access_token",
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.headers["cache-control"] == "no-store"
    _assert_invalid_token(_get_shop(server, token["access_token"]))
    assert _introspect(flow.client, metadata, token["refresh_token"]) == {"active": False}
    with pytest.raises(OAuthError) as refused:
        flow.client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refused.value.error == "invalid_grant"
