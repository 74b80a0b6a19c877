"""What the HTTP edge exposes and how: the docs (on unless turned off), `/metrics` (a bearer
token, and nothing at all in production without one), and the headers on every response
(`X-Content-Type-Options: nosniff`, HSTS when the public base URL is https)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.responses import JSONResponse

from app.container import Container
from app.main import create_app
from app.settings import Settings
from tests import factories as f
from tests.conftest import random_ip

DOCS = (
    "/docs",
    "/redoc",
    "/openapi.json",
    "/docs/oauth2-redirect",
    "/static/docs/redoc.standalone.js",
)
HSTS = "max-age=31536000"

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def client_with() -> AsyncIterator[MakeClient]:
    """A client of an app built with these settings changed (on the test database)."""
    made: list[httpx.AsyncClient] = []

    async def make(container: Container, **changes: Any) -> httpx.AsyncClient:
        settings = container.settings.model_copy(update=changes)
        app = create_app(settings, container=container)

        async def crash() -> JSONResponse:
            raise RuntimeError("boom")

        app.add_api_route("/__test__/crash", crash, methods=["GET"])
        transport = httpx.ASGITransport(app=app, client=(random_ip(), 50000))
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        made.append(c)
        return c

    yield make
    for c in made:
        await c.aclose()


def problem_code(r: httpx.Response) -> str:
    assert r.headers["content-type"] == "application/problem+json", r.text
    return str(r.json()["code"])


# --- headers on every response ----------------------------------------------------------------


async def _many_responses(c: httpx.AsyncClient) -> list[httpx.Response]:
    u = await f.user(c)
    key = {"Idempotency-Key": f"ik-{secrets.token_hex(8)}"}
    body = {"name": f"Shop {secrets.token_hex(3)}", "subject_type": "personal"}
    return [
        await c.get("/healthz"),
        await c.get("/auth/me"),
        await c.get(f"/no/such/{secrets.token_hex(3)}"),
        await c.options("/v1/shop"),
        await c.get("/merchant/shops/ab%00c"),
        await c.post("/auth/register", content=b"{}", headers={"Content-Type": "text/plain"}),
        await c.post("/merchant/shops", json=body, headers={**u.h, **key}),
        await c.post("/merchant/shops", json=body, headers={**u.h, **key}),  # a replay
        await c.get("/login"),
        await c.get("/docs"),
        await c.get("/openapi.json"),
        await c.get("/static/docs/swagger-ui.css"),
        await c.get("/metrics"),
        await c.get("/__test__/crash"),
    ]


async def test_every_response_says_nosniff_and_no_hsts_over_http(
    client_with: MakeClient, container: Container
) -> None:
    assert container.settings.public_base_url.startswith("http://")
    c = await client_with(container)
    responses = await _many_responses(c)
    assert responses[7].headers["idempotent-replayed"] == "true"
    assert responses[-1].status_code == 500
    for r in responses:
        where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
        # Exactly once: the HTML pages set it themselves too.
        assert r.headers.get_list("x-content-type-options") == ["nosniff"], where
        assert "strict-transport-security" not in r.headers, where


async def test_hsts_on_every_response_when_the_public_base_url_is_https(
    client_with: MakeClient, container: Container
) -> None:
    c = await client_with(container, public_base_url="https://shop.example.com")
    for r in await _many_responses(c):
        where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
        assert r.headers.get_list("strict-transport-security") == [HSTS], where
        assert r.headers["x-content-type-options"] == "nosniff", where


# --- docs -------------------------------------------------------------------------------------


async def test_docs_are_public_by_default_in_production_too(
    client_with: MakeClient, container: Container
) -> None:
    assert Settings.model_fields["docs_enabled"].default is True
    c = await client_with(container, env="production", public_base_url="https://shop.example.com")
    for path in DOCS:
        r = await c.get(path)
        assert r.status_code == 200, path
    assert (await c.get("/openapi.json")).json()["info"]["title"]


async def test_docs_can_be_turned_off(client_with: MakeClient, container: Container) -> None:
    c = await client_with(container, docs_enabled=False)
    for path in DOCS:
        r = await c.get(path)
        assert r.status_code == 404, path
        assert problem_code(r) == "not_found"
    # The API itself is unchanged.
    assert (await c.get("/healthz")).status_code == 200
    u = await f.user(c)
    assert (await c.get("/auth/me")).json()["id"] == u.id


def test_the_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINISHOP_DOCS_ENABLED", "false")
    monkeypatch.setenv("MINISHOP_METRICS_TOKEN", "scrape-me-please-0123456789")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.docs_enabled is False
    assert s.metrics_token is not None
    assert s.metrics_token.get_secret_value() == "scrape-me-please-0123456789"
    assert "scrape-me" not in repr(s)


# --- /metrics ---------------------------------------------------------------------------------


async def test_metrics_in_production_without_a_token_are_not_served(
    client_with: MakeClient, container: Container
) -> None:
    c = await client_with(container, env="production", public_base_url="https://shop.example")
    for headers in ({}, {"Authorization": "Bearer anything"}):
        r = await c.get("/metrics", headers=headers)
        assert r.status_code == 404
        assert problem_code(r) == "not_found"
        assert "minishop_http_requests_total" not in r.text
    # Outside production, without a token, they stay open (the tests, `make run`).
    dev = await client_with(container)
    r = await dev.get("/metrics")
    assert r.status_code == 200
    assert "minishop_http_requests_total" in r.text


@pytest.mark.parametrize("env", ["production", "development"])
async def test_metrics_with_a_token_require_it(
    client_with: MakeClient, container: Container, env: str
) -> None:
    token = "mtk_" + secrets.token_urlsafe(24)
    c = await client_with(
        container,
        env=env,
        public_base_url="https://shop.example",
        metrics_token=SecretStr(token),
    )
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": "Bearer ключ".encode()},
    ):
        r = await c.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert problem_code(r) == "metrics_token_required"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "minishop_http_requests_total" not in r.text
    r = await c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "minishop_http_requests_total" in r.text
