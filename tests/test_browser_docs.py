"""ReDoc in a real Chromium renders the whole served document: ReDoc refuses a document over
one dangling `$ref` ("Invalid reference token: …") and shows an error page instead.

Needs Debian's Chromium, as tests/test_browser_login.py does (`scripts/ensure-chromium.sh`).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer
from tests.test_browser_login import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow

#: What ReDoc writes when it cannot load or render a document.
ERROR_TEXT = ("Something went wrong", "Invalid reference token", "Failed to load")


@pytest.fixture(scope="module")
def server(demo_server: LiveServer) -> LiveServer:
    """The demo server, shared with the other modules of its group (tests/xdist_units.py)."""
    return demo_server


@pytest.fixture
def chromium() -> str:
    """Fails (never skips) without a browser: CI must install it."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package with "
            "`apt-get install -y chromium chromium-driver` (or set MINISHOP_TEST_CHROMIUM)."
        )
    return CHROMIUM


async def test_redoc_renders_every_operation_and_webhook(chromium: str, server: LiveServer) -> None:
    from playwright.async_api import async_playwright

    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            response = await page.goto(f"{server.base_url}/redoc")
            assert response is not None and response.status == 200
            # ReDoc has rendered the document once the API title heading is there; on a bad
            # document it renders its error page instead.
            heading = page.locator("h1", has_text=spec["info"]["title"])
            failed = page.get_by_text(ERROR_TEXT[0])
            await heading.or_(failed).first.wait_for(timeout=30_000)
            body = await page.inner_text("body")
            for text in ERROR_TEXT:
                assert text not in body, f"ReDoc shows {text!r}:\n{body[:2000]}"
            assert page_errors == []
            # Every operation and every webhook is in the rendered page.
            for item in spec["paths"].values():
                for op in item.values():
                    assert op["summary"] in body, op["operationId"]
            for name in spec["webhooks"]:
                assert name in body, name
            assert "Received: any 2xx status" in body
        finally:
            await asyncio.wait_for(browser.close(), timeout=30)
