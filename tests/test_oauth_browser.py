"""A real browser (headless Chromium via Playwright) runs the OAuth consent flow of the real
server process: authorization URL → login page → consent page → back to the client's
redirect URI; and the Swagger UI's Authorize button at /docs does the same for the docs.

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install -y chromium chromium-driver`);
Playwright only drives it (never `playwright install`). Without it these tests fail, never
skip: CI must install it.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.live_server import LiveServer
from tests.oauth_support import pkce

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("MINISHOP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCOPES = ["shop:read", "shop:write", "orders:read"]
SCOPE_WORDS = {
    "shop:read": "See your shop's name, logo, type and status",
    "shop:write": "Change your shop's name and logo",
    "orders:read": "See your orders, including buyers' delivery addresses",
}
#: Swagger UI renders the whole spec (it grows with every route): on a loaded 2-core machine
#: that took more than 15 s before the Authorize button existed.
TIMEOUT_MS = 45_000


@pytest.fixture
def chromium() -> str:
    """Fails (never skips) without a browser: CI must install it."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package with "
            "`apt-get install -y chromium chromium-driver` (or set MINISHOP_TEST_CHROMIUM)."
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def server(demo_server: LiveServer) -> LiveServer:
    """The demo server, shared with the other modules of its group (tests/xdist_units.py)."""
    return demo_server


@asynccontextmanager
async def browser_page(chromium: str) -> AsyncIterator[Any]:
    """A fresh browser context (no cookies) and page."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context()
            context.set_default_timeout(TIMEOUT_MS)
            page = await context.new_page()
            yield page
        finally:
            await asyncio.wait_for(browser.close(), timeout=30)


def _authorize_url(server: LiveServer, challenge: str, state: str) -> str:
    app = server.demo["app"]
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uri"],
        "scope": " ".join(SCOPES),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{server.base_url}/oauth/authorize?{urlencode(params)}"


async def _follow_to_client(page: Any, server: LiveServer, button: str) -> str:
    """Press a consent button; the URL the browser then requests at the client's redirect URI.

    Nothing listens there, and Playwright's `page.route` does not see the hops of a redirect
    chain (only its first request), so the redirected navigation request itself is captured.
    It is only sent if the consent page's CSP `form-action` allows the redirect target.
    """
    redirect = server.demo["app"]["redirect_uri"]
    async with page.expect_request(
        lambda r: r.is_navigation_request() and r.url.startswith(redirect + "?")
    ) as captured:
        await page.click(button)
    request = await captured.value
    origin = request.redirected_from
    assert origin is not None
    assert origin.method == "POST"
    assert origin.url == f"{server.base_url}/oauth/authorize"
    response = await origin.response()
    assert response is not None and response.status == 303
    return str(request.url)


async def _login_then_consent(page: Any, server: LiveServer, url: str) -> Any:
    """Open the authorization URL, land on the login page, log in: the consent response."""
    first = await page.goto(url)
    assert first is not None and first.status == 200
    login = urlsplit(page.url)
    assert login.path == "/login"
    next_url = parse_qs(login.query)["next"][0]
    assert next_url.startswith("/oauth/authorize?")
    assert await page.title() == "Log in · MiniShop"

    merchant = server.demo["merchant"]
    await page.fill("#username", merchant["username"])
    await page.fill("#password", merchant["password"])
    async with page.expect_navigation(url=re.compile(r"/oauth/authorize\?")) as nav:
        await page.click("button[type=submit]")
    consent = await nav.value
    assert consent is not None and consent.status == 200
    return consent


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_browser_approves_and_the_client_gets_a_working_code(
    chromium: str, server: LiveServer
) -> None:
    app = server.demo["app"]
    shops = server.demo["shops"]
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(16)

    async with browser_page(chromium) as page:
        consent = await _login_then_consent(page, server, _authorize_url(server, challenge, state))

        # The consent page cannot be framed, and says who asks for what, for which shop.
        assert consent.headers["x-frame-options"] == "DENY"
        csp = consent.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        # The form may post here and then land on the client's origin, nowhere else.
        assert "form-action 'self' http://127.0.0.1:8765;" in csp + ";"
        assert await page.title() == f"Authorize {app['name']} · MiniShop"
        assert app["name"] in await page.inner_text("h1")
        body = await page.inner_text("body")
        assert server.demo["merchant"]["username"] in body
        for scope in SCOPES:
            assert SCOPE_WORDS[scope] in body
        assert "products:write" not in body  # only what was asked for
        options = await page.eval_on_selector_all(
            "#shop_id option", "els => els.map(e => [e.value, e.textContent])"
        )
        names = dict(options)
        assert shops["enterprise"]["name"] in names[shops["enterprise"]["id"]]
        assert shops["personal"]["name"] in names[shops["personal"]["id"]]

        await page.select_option("#shop_id", shops["enterprise"]["id"])
        callback = await _follow_to_client(page, server, "#approve")

    assert callback.startswith(app["redirect_uri"] + "?")
    q = _query(callback)
    assert q["state"] == state
    assert q["iss"] == server.base_url
    assert q["code"]

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": q["code"],
                "redirect_uri": app["redirect_uri"],
                "code_verifier": verifier,
            },
            auth=(app["client_id"], app["client_secret"]),
        )
        assert r.status_code == 200, r.text
        token = r.json()
        assert token["shop_id"] == shops["enterprise"]["id"]
        assert token["scope"] == " ".join(SCOPES)
        shop = await http.get(
            "/v1/shop", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert shop.status_code == 200, shop.text
        assert shop.json()["id"] == shops["enterprise"]["id"]
        assert shop.json()["name"] == shops["enterprise"]["name"]
        assert "ratelimit-remaining" in shop.headers


async def test_browser_denies_and_the_client_gets_access_denied(
    chromium: str, server: LiveServer
) -> None:
    _, challenge = pkce()
    state = secrets.token_urlsafe(16)

    async with browser_page(chromium) as page:
        await _login_then_consent(page, server, _authorize_url(server, challenge, state))
        callback = await _follow_to_client(page, server, "#deny")

    q = _query(callback)
    assert q["error"] == "access_denied"
    assert q["state"] == state
    assert q["iss"] == server.base_url
    assert "code" not in q


async def _only_this_server(context: Any, server: LiveServer) -> list[str]:
    """/docs must work offline: Swagger UI's assets come from the server itself. Anything
    else the page asks for (a CDN) is refused and recorded."""
    refused: list[str] = []

    async def handle(route: Any) -> None:
        url = route.request.url
        if url.startswith(server.base_url + "/"):
            await route.continue_()
            return
        refused.append(url)
        await route.abort()

    await context.route("**/*", handle)
    return refused


async def test_swagger_ui_authorize_runs_the_code_flow(chromium: str, server: LiveServer) -> None:
    """/docs → Authorize: the providerOAuth dialog (authorization URL, PKCE, the demo client
    id prefilled); then the whole flow through Swagger UI's popup, to "Logout"."""
    app = server.demo["app"]
    merchant = server.demo["merchant"]

    async with browser_page(chromium) as page:
        context = page.context
        refused = await _only_this_server(context, server)
        response = await page.goto(f"{server.base_url}/docs")
        assert response is not None and response.status == 200

        await page.click("button.authorize")
        dialog = page.locator(".dialog-ux .modal-ux")
        await dialog.wait_for()
        oauth = dialog.locator(".auth-container", has_text="providerOAuth")
        await oauth.wait_for()
        text = await oauth.inner_text()
        assert "authorizationCode with PKCE" in text
        authorization_url = oauth.locator("p", has_text="Authorization URL").locator("code")
        assert (await authorization_url.inner_text()).strip() == "/oauth/authorize"
        token_url = oauth.locator("p", has_text="Token URL").locator("code")
        assert (await token_url.inner_text()).strip() == "/oauth/token"
        client_id = oauth.locator("#client_id_authorizationCode")
        assert await client_id.input_value() == app["client_id"]

        # Drive it all the way: secret, scopes, Authorize → popup: login → consent → back.
        await oauth.locator("#client_secret_authorizationCode").fill(app["client_secret"])
        for scope in ("shop:read", "orders:read"):
            # The checkbox itself is hidden behind its styled label.
            checkbox_id = f"{scope}-authorizationCode-checkbox-providerOAuth"
            await oauth.locator(f"label[for='{checkbox_id}']").click()
            assert await oauth.locator(f"input[data-value='{scope}']").is_checked()
        async with page.expect_popup() as popup_info:
            await oauth.locator("button.authorize").click()
        popup = await popup_info.value
        await popup.wait_for_url(re.compile(r"/login\?"))
        await popup.fill("#username", merchant["username"])
        await popup.fill("#password", merchant["password"])
        await popup.click("button[type=submit]")
        await popup.wait_for_url(re.compile(r"/oauth/authorize\?"))
        assert app["name"] in await popup.inner_text("h1")
        consent_text = await popup.inner_text("body")
        assert SCOPE_WORDS["shop:read"] in consent_text
        assert SCOPE_WORDS["orders:read"] in consent_text
        assert "shop:write" not in consent_text
        await popup.select_option("#shop_id", server.demo["shops"]["personal"]["id"])
        redirect = f"{server.base_url}/docs/oauth2-redirect?"
        async with (
            popup.expect_request(lambda r: r.url.startswith(redirect)) as back_info,
            page.expect_response(lambda r: r.url == f"{server.base_url}/oauth/token") as token_info,
        ):
            await popup.click("#approve")
        back = _query((await back_info.value).url)
        assert back["code"] and back["iss"] == server.base_url and back["state"]
        token_response = await token_info.value
        if not popup.is_closed():  # the redirect page hands the code over and closes itself
            await popup.wait_for_event("close")
        assert token_response.status == 200, await token_response.text()
        sent = parse_qs(token_response.request.post_data or "")
        assert sent["grant_type"] == ["authorization_code"]
        assert sent["code"] == [back["code"]]
        assert len(sent["code_verifier"][0]) >= 43  # PKCE
        token = await token_response.json()
        assert token["shop_id"] == server.demo["shops"]["personal"]["id"]
        assert token["scope"] == "shop:read orders:read"

        # Swagger UI now shows the scheme as authorized, with a Logout button.
        await oauth.locator("button", has_text="Logout").wait_for()
        assert await oauth.locator("h6").inner_text() == "Authorized"
        assert refused == [], refused

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        shop = await http.get(
            "/v1/shop", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
    assert shop.status_code == 200, shop.text
    assert shop.json()["id"] == server.demo["shops"]["personal"]["id"]
