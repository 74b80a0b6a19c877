"""A real webhook receiver (an HTTP server on loopback, in a thread) and helpers."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from app.container import Container
from app.infra.webhooks.dispatcher import Dispatcher
from tests.oauth_support import AppCreds


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str = "/hooks"

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """Answers the queued status codes in turn, then `default`; records every request."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    #: Requests answered so far (a request still being answered is in `received` only).
    answered: int = 0
    #: TLS receivers: the server names the clients asked for (SNI), per connection.
    server_names: list[str | None] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default

    def bodies(self, type_: str | None = None) -> list[dict[str, Any]]:
        return [r.json for r in self.received if type_ is None or r.json["type"] == type_]

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request checked as a real receiver would, with the standardwebhooks library."""
        wh = Webhook(secret)
        return [dict(wh.verify(r.body, r.headers)) for r in self.received]


@contextmanager
def receiver(tls: ssl.SSLContext | None = None, **kw: Any) -> Iterator[Receiver]:
    """A plain HTTP receiver on loopback, or with `tls` (a server context) an HTTPS one whose
    `url` still names 127.0.0.1 (its certificate is the caller's business)."""
    state = Receiver(**kw)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.received.append(Received(headers, body, self.path))
            if state.delay:
                time.sleep(state.delay)
            code = state.answer()
            out = f"status {code}".encode()
            self.send_response(code)
            if 300 <= code < 400:  # a redirect the sender must not follow
                self.send_header("location", "/elsewhere")
            self.send_header("content-length", str(len(out)))
            with state.lock:  # before the answer goes out, so a client never sees it first
                state.answered += 1
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    state.url = f"http://127.0.0.1:{state.port}/hooks"
    if tls is not None:

        def named(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            state.server_names.append(name)

        tls.sni_callback = named  # type: ignore[assignment]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        state.url = f"https://127.0.0.1:{state.port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def subscribe(
    client: httpx.AsyncClient, app: AppCreds, url: str, topics: list[str]
) -> dict[str, Any]:
    dev = app.developer
    r = await dev.client.post(
        f"/v1/apps/{app.id}/webhook-endpoints", json={"url": url, "topics": topics}, headers=dev.h
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def drain(container: Container, rounds: int = 40, pause: float = 0.06) -> None:
    """Run the worker's dispatch until nothing is left to do now (retries included)."""
    dispatcher = Dispatcher(container.engine, container.cipher, container.settings)
    try:
        idle = 0
        for _ in range(rounds):
            made, sent = await dispatcher.run_once()
            idle = idle + 1 if not (made or sent) else 0
            if idle >= 3:
                return
            await asyncio.sleep(pause)
    finally:
        await dispatcher.close()
