"""A real browser logs in through the HTML page of the real server process.

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install -y chromium chromium-driver`);
Playwright only drives it (never `playwright install`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import factories as f
from tests.live_server import free_port, start_server

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


@dataclass
class Server:
    base_url: str
    log: Path


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "MINISHOP_DATABASE_URL": database_url,
        "MINISHOP_VAR_DIR": str(tmp_path / "var"),
        "MINISHOP_ENV": "development",
        "MINISHOP_PASSWORD_HASH_PROFILE": "fast",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("MINISHOP_REDIS_URL", None)
    proc = start_server(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        yield Server(base_url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def chromium() -> str:
    """Fails (never skips) without a browser: CI must install it."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package with "
            "`apt-get install -y chromium chromium-driver` (or set MINISHOP_TEST_CHROMIUM)."
        )
    return CHROMIUM


async def test_browser_logs_in_through_the_html_page(chromium: str, server: Server) -> None:
    from playwright.async_api import async_playwright

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        account = await f.register(http, display_name="Browser Tester")
    username = account["username"]

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            response = await page.goto(f"{server.base_url}/login?next=/auth/me")
            assert response is not None
            assert response.status == 200
            assert response.headers["x-frame-options"] == "DENY"
            assert await page.title() == "Log in · MiniShop"

            # A wrong password first: the page says so and no session cookie appears.
            await page.fill("#username", username)
            await page.fill("#password", "Wrong-passw0rd!")
            await page.click("button[type=submit]")
            await page.wait_for_selector("[role=alert]")
            assert "Wrong username or password." in await page.inner_text("[role=alert]")
            cookies = {c["name"]: c for c in await page.context.cookies()}
            assert "minishop_session" not in cookies
            assert await page.input_value("#username") == username

            # Then the right one: redirected to `next`, which shows the account.
            await page.fill("#password", f.PASSWORD)
            async with page.expect_navigation(url=f"{server.base_url}/auth/me"):
                await page.click("button[type=submit]")
            assert page.url == f"{server.base_url}/auth/me"
            body = await page.inner_text("body")
            assert username in body
            assert "Browser Tester" in body

            cookies = {c["name"]: c for c in await page.context.cookies()}
            session = cookies["minishop_session"]
            assert session["httpOnly"] is True
            assert session["sameSite"] == "Lax"
            assert session["path"] == "/"
            # JavaScript cannot read the session cookie.
            assert "minishop_session" not in await page.evaluate("document.cookie")
        finally:
            await asyncio.wait_for(browser.close(), timeout=30)
