"""The HTML login page: double-submit CSRF, anti-framing headers, safe `next` redirects."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from app.api.html.login import safe_next
from app.container import Container
from tests import factories as f

SESSION_COOKIE = "minishop_session"
LOGIN_CSRF_COOKIE = "minishop_login_csrf"
NewClient = Callable[..., httpx.AsyncClient]


def hidden(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name} in the page"
    return html.unescape(match.group(1))


def set_cookie_header(r: httpx.Response, name: str) -> str | None:
    for header in r.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    return None


def assert_security_headers(r: httpx.Response) -> None:
    assert r.headers["X-Frame-Options"] == "DENY"
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"


async def open_form(c: httpx.AsyncClient, next_url: str | None = None) -> dict[str, str]:
    r = await c.get("/login", params={"next": next_url} if next_url is not None else None)
    assert r.status_code == 200, r.text
    return {"csrf_token": hidden(r.text, "csrf_token"), "next": hidden(r.text, "next")}


async def submit(
    c: httpx.AsyncClient, form: dict[str, str], username: str, password: str = f.PASSWORD
) -> httpx.Response:
    return await c.post("/login", data={**form, "username": username, "password": password})


# --------------------------------------------------------------------------- GET


async def test_login_page_renders_a_protected_form(client: httpx.AsyncClient) -> None:
    r = await client.get("/login", params={"next": "/merchant/shops?limit=5"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login">' in r.text
    assert 'name="username"' in r.text
    assert 'type="password" id="password" name="password"' in r.text
    assert_security_headers(r)

    token = hidden(r.text, "csrf_token")
    assert len(token) >= 24
    assert hidden(r.text, "next") == "/merchant/shops?limit=5"

    cookie = set_cookie_header(r, LOGIN_CSRF_COOKIE)
    assert cookie is not None
    assert cookie.startswith(f"{LOGIN_CSRF_COOKIE}={token};")
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert "path=/login" in lowered
    assert "secure" not in lowered  # not production

    # A new page, a new token.
    again = await client.get("/login")
    assert hidden(again.text, "csrf_token") != token
    assert hidden(again.text, "next") == "/auth/me"


async def test_login_page_escapes_reflected_values(client: httpx.AsyncClient) -> None:
    evil = '/x"><script>alert(1)</script>'
    r = await client.get("/login", params={"next": evil})
    assert "<script>alert(1)</script>" not in r.text
    assert hidden(r.text, "next") == evil


# --------------------------------------------------------------------------- POST


async def test_post_without_csrf_cookie_is_refused(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    account = await f.register(client)
    form = await open_form(client, "/auth/me")
    before = await f.db_fingerprint(container)

    # A cross-site post: the attacker's page cannot send our SameSite=Strict cookie.
    attacker = new_client()
    r = await submit(attacker, form, account["username"])
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "The form expired" in r.text
    assert_security_headers(r)
    assert set_cookie_header(r, SESSION_COOKIE) is None
    assert (await attacker.get("/auth/me")).status_code == 401

    # The cookie present but the field missing or different: refused too.
    for bad in ({"csrf_token": ""}, {"csrf_token": form["csrf_token"] + "x"}, {}):
        data = {"next": form["next"], **bad}
        r = await submit(client, data, account["username"])
        assert r.status_code == 403, bad
        assert set_cookie_header(r, SESSION_COOKIE) is None
    assert (await client.get("/auth/me")).status_code == 401
    assert await f.db_fingerprint(container) == before


async def test_wrong_password_shows_error_and_no_session(
    client: httpx.AsyncClient, container: Container
) -> None:
    account = await f.register(client)
    form = await open_form(client, "/merchant/shops")
    before = await f.db_fingerprint(container)
    r = await submit(client, form, account["username"], "Wrong-passw0rd!")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in r.text
    assert "Wrong username or password." in r.text
    assert_security_headers(r)
    assert set_cookie_header(r, SESSION_COOKIE) is None
    # The form is shown again, with the username kept and a fresh token, the password not.
    assert f'value="{account["username"]}"' in r.text
    assert hidden(r.text, "next") == "/merchant/shops"
    assert hidden(r.text, "csrf_token") != form["csrf_token"]
    assert "Wrong-passw0rd!" not in r.text
    assert (await client.get("/auth/me")).status_code == 401
    assert await f.db_fingerprint(container) == before

    # An unknown user sees exactly the same message.
    form = await open_form(client)
    r = await submit(client, form, f.unique("ghost"))
    assert r.status_code == 401
    assert "Wrong username or password." in r.text


async def test_successful_login_redirects_to_next_with_session(
    client: httpx.AsyncClient,
) -> None:
    account = await f.register(client)
    form = await open_form(client, "/merchant/shops?limit=2")
    r = await submit(client, form, account["username"].upper())
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/merchant/shops?limit=2"
    assert_security_headers(r)

    cookie = set_cookie_header(r, SESSION_COOKIE)
    assert cookie is not None
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "path=/" in lowered
    # The one-time login CSRF cookie is dropped.
    dropped = set_cookie_header(r, LOGIN_CSRF_COOKIE)
    assert dropped is not None
    assert "max-age=0" in dropped.lower() or "expires=" in dropped.lower()

    me = await client.get("/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == account["username"]
    shops = await client.get(r.headers["location"])
    assert shops.status_code == 200


async def test_login_page_is_throttled_like_the_api(
    new_client: NewClient, client: httpx.AsyncClient
) -> None:
    account = await f.register(client)
    c = new_client()
    for _ in range(5):
        form = await open_form(c)
        r = await submit(c, form, account["username"], "Wrong-passw0rd!")
        assert r.status_code == 401
    form = await open_form(c)
    r = await submit(c, form, account["username"])
    assert r.status_code == 429
    assert "Too many failed logins" in r.text
    assert set_cookie_header(r, SESSION_COOKIE) is None


async def test_login_form_validation_is_not_a_500(client: httpx.AsyncClient) -> None:
    form = await open_form(client)
    r = await client.post("/login", data={**form, "username": "x" * 65, "password": "p"})
    assert 400 <= r.status_code < 500
    assert set_cookie_header(r, SESSION_COOKIE) is None


# --------------------------------------------------------------------------- open redirects

EVIL_NEXT = [
    "//evil.com",
    "//evil.com/auth/me",
    "https://evil.com",
    "http://evil.com/login",
    "/\\evil.com",
    "\\\\evil.com",
    "/\\/evil.com",
    "javascript:alert(1)",
    "evil.com",
    "",
    "/\t/evil.com",
    "/\n/evil.com",
    "/\r\n/evil.com",
]


@pytest.mark.parametrize("next_url", EVIL_NEXT)
def test_safe_next_refuses_off_site_targets(next_url: str) -> None:
    assert safe_next(next_url) == "/auth/me"


@pytest.mark.parametrize(
    "next_url", ["/auth/me", "/merchant/shops", "/oauth/authorize?client_id=a&state=b", "/"]
)
def test_safe_next_keeps_local_paths(next_url: str) -> None:
    assert safe_next(next_url) == next_url


def test_safe_next_none() -> None:
    assert safe_next(None) == "/auth/me"


def _stays_local(location: str) -> bool:
    # Browsers drop tabs and newlines and read '\' as '/' before resolving a URL.
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    target = urlsplit(urljoin("http://testserver/login", cleaned))
    return target.scheme == "http" and target.netloc == "testserver"


@pytest.mark.parametrize("next_url", [*EVIL_NEXT, "/%2F%2Fevil.com"])
async def test_login_never_redirects_off_site(
    next_url: str, new_client: NewClient, client: httpx.AsyncClient
) -> None:
    account = await f.register(client)
    c = new_client()
    # Whatever reaches the page as ?next=...
    form = await open_form(c, next_url)
    assert _stays_local(form["next"]), form["next"]
    # ...and whatever a forged form posts as next.
    form["next"] = next_url
    r = await submit(c, form, account["username"])
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert _stays_local(location), location
    if next_url in EVIL_NEXT:
        assert location == "/auth/me"
