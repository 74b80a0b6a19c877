"""`minishop serve --port X` advertises port X: with neither `PORT` nor a public base URL in
the environment, only the commands' `--port` (as `make run` passes it) says where the server
is, and discovery, the endpoints, the tokens' `iss` and the demo app's docs redirect (Swagger
UI's Authorize) all name that port."""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import parse_qs, urlsplit

import authlib.deprecate
import httpx
import pytest
from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.live_server import LiveServer, login_session
from tests.oauth_support import hidden_fields

with warnings.catch_warnings():
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = pytest.mark.slow

SCOPE = "shop:read products:read"


@pytest.fixture(scope="module")
def server(demo_server: LiveServer) -> LiveServer:
    """The demo server, shared with the other modules of its group (tests/xdist_units.py)."""
    return demo_server


@pytest.fixture(scope="module")
def metadata(server: LiveServer) -> dict[str, Any]:
    r = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_discovery_names_the_port_served(server: LiveServer, metadata: dict[str, Any]) -> None:
    assert metadata["issuer"] == server.base_url
    urls = {
        k: v for k, v in metadata.items() if isinstance(v, str) and "://" in v and k != "issuer"
    }
    assert {
        "authorization_endpoint",
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "jwks_uri",
    } <= set(urls)
    for key, url in urls.items():
        assert url.startswith(server.base_url + "/"), (key, url)
        # Every advertised endpoint is really served there.
        if key == "jwks_uri":
            assert httpx.get(url).json()["keys"]


def test_demo_app_registers_the_docs_redirect_on_the_port_served(server: LiveServer) -> None:
    port = urlsplit(server.base_url).port
    redirects = server.demo["app"]["redirect_uris"]
    # Swagger redirects to the origin the docs were opened at: either loopback name works.
    assert f"http://127.0.0.1:{port}/docs/oauth2-redirect" in redirects
    assert f"http://localhost:{port}/docs/oauth2-redirect" in redirects
    assert not [r for r in redirects if ":8000/" in r]
    assert server.demo["base_url"] == server.base_url


def test_swagger_authorize_code_flow_on_the_port_served(
    server: LiveServer, metadata: dict[str, Any]
) -> None:
    """What the docs' Authorize button does: the code flow back to `/docs/oauth2-redirect`."""
    app = server.demo["app"]
    redirect_uri = f"{server.base_url}/docs/oauth2-redirect"
    client = OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=10,
    )
    verifier = generate_token(64)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    shop_id = server.demo["shops"]["personal"]["id"]
    m = server.demo["merchant"]
    browser = login_session(server.base_url, m["username"], m["password"])
    try:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        r = browser.post(
            "/oauth/authorize",
            data={**hidden_fields(page.text), "decision": "approve", "shop_id": shop_id},
        )
    finally:
        browser.close()
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith(redirect_uri + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["state"] == state
    assert params["iss"] == server.base_url  # RFC 9207

    token = client.fetch_token(
        metadata["token_endpoint"],
        authorization_response=location,
        state=state,
        code_verifier=verifier,
    )
    assert token["shop_id"] == shop_id
    keys = KeySet.import_key_set(httpx.get(metadata["jwks_uri"]).json())
    claims = jwt.decode(token["access_token"], keys, algorithms=["ES256"]).claims
    assert claims["iss"] == server.base_url
    assert claims["aud"] == f"{server.base_url}/v1"
    shop = httpx.get(
        f"{server.base_url}/v1/shop",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert shop.status_code == 200, shop.text
    assert shop.json()["id"] == shop_id
