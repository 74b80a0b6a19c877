"""The body read timeout: a body that does not arrive whole in time is answered 408, for any
route, whoever reads the body (the framework, a route, the idempotency layer)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from app.api.errors import install_error_handlers
from app.api.middleware import BodyLimitMiddleware


def _app(timeout: float) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/stream")
    async def stream(request: Request) -> StreamingResponse:
        await request.body()

        async def slow() -> AsyncIterator[bytes]:
            for _ in range(3):
                await asyncio.sleep(timeout)
                yield b"x"

        return StreamingResponse(slow())

    app.add_middleware(BodyLimitMiddleware, max_bytes=1000, timeout=timeout)
    return app


async def _trickle(pause: float) -> AsyncIterator[bytes]:
    for _ in range(3):
        yield b"abc"
        await asyncio.sleep(pause)


async def test_a_body_that_trickles_past_the_timeout_is_answered_408(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=_app(0.2))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        with caplog.at_level(logging.ERROR):
            r = await c.post("/echo", content=_trickle(0.15))
        assert r.status_code == 408, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["connection"] == "close"
        assert r.json()["code"] == "body_read_timeout"
        assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
        # In time, the same body is read as usual; and once it is read, a slow response is
        # no business of the timeout.
        r = await c.post("/echo", content=_trickle(0.01))
        assert r.status_code == 200 and r.json() == {"received": 9}
        r = await c.post("/stream", content=b"abc")
        assert r.status_code == 200 and r.content == b"xxx"


def test_every_operation_taking_a_body_declares_the_408() -> None:
    """The middleware answers 408 before any route runs, so every operation that takes a body
    can answer it: the committed spec says so (schema-conformance checks hold us to it)."""
    import json
    from pathlib import Path

    spec = json.loads((Path(__file__).parent.parent / "openapi" / "openapi.json").read_text())
    missing = [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation and "408" not in operation["responses"]
    ]
    taking_a_body = [
        1 for item in spec["paths"].values() for op in item.values() if "requestBody" in op
    ]
    assert len(taking_a_body) > 30
    assert missing == []
