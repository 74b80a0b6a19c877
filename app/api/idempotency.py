"""`Idempotency-Key` for state-changing requests, as Stripe does it.

The first request with a key runs and its response is stored for 24 h; a replay with the same
body gets that response again (`Idempotent-Replayed: true`); the same key with another body is
a 422; a replay while the first is still running is a 409. Keys are scoped to the caller's
credential, so two callers never see each other's responses.
"""

from __future__ import annotations

import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import problem_response
from app.infra.idempotency import IdempotencyStore

_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEEP_HEADERS = {"content-type", "location", "etag", "deprecation", "sunset"}
# As Stripe: a request that failed before the operation ran (validation, authentication,
# throttling) is not stored, so the corrected retry with the same key runs.
_NOT_STORED = {400, 401, 403, 413, 415, 422, 429}
# Logins create a session cookie that a replay could not give back; never replay them.
_EXCLUDED_PATHS = ("/auth/login", "/login", "/oauth/")


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", ())}


def _caller(headers: dict[bytes, bytes], scope: Scope) -> bytes:
    if auth := headers.get(b"authorization"):
        return b"auth:" + auth
    cookie = headers.get(b"cookie", b"")
    match = re.search(rb"(?:^|;\s*)minishop_session=([^;]+)", cookie)
    if match:
        return b"session:" + match.group(1)
    client = scope.get("client")
    return b"anon:" + (client[0].encode() if client else b"-")


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, store: IdempotencyStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE")
            or scope["path"].startswith(_EXCLUDED_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _KEY_RE.fullmatch(key):
            await problem_response(
                status=400,
                code="invalid_idempotency_key",
                title="Invalid Idempotency-Key",
                detail="Use 1 to 255 visible ASCII characters, such as a UUID.",
            )(scope, receive, send)
            return

        # Read the whole body (the body-size limit applies before us), then replay it downstream.
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)

        digest = hashlib.sha256()
        for part in (
            scope["method"].encode(),
            scope["path"].encode(),
            scope.get("query_string", b""),
            body,
        ):
            digest.update(len(part).to_bytes(8, "big") + part)
        request_hash = digest.hexdigest()
        scope_key = hashlib.sha256(_caller(headers, scope) + b"\x00" + raw_key).hexdigest()

        claim = await self.store.claim(scope_key, request_hash, scope["method"], scope["path"])
        if claim.outcome == "mismatch":
            await problem_response(
                status=422,
                code="idempotency_key_reused",
                title="Idempotency-Key reused with a different request",
                detail="This key was used with another method, path or body; use a new key.",
            )(scope, receive, send)
            return
        if claim.outcome == "in_progress":
            await problem_response(
                status=409,
                code="idempotency_key_in_use",
                title="A request with this Idempotency-Key is in progress",
                detail="Wait for the first request to finish, then retry.",
                headers={"Retry-After": "1"},
            )(scope, receive, send)
            return
        if claim.outcome == "replay":
            out_headers = [(k.encode(), v.encode()) for k, v in claim.headers.items()]
            out_headers += [
                (b"idempotent-replayed", b"true"),
                (b"content-length", str(len(claim.body)).encode()),
            ]
            await send(
                {"type": "http.response.start", "status": claim.status, "headers": out_headers}
            )
            await send({"type": "http.response.body", "body": claim.body})
            return

        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        kept: dict[str, str] = {}
        out: list[bytes] = []

        async def capture_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    name = k.decode("latin-1").lower()
                    if name in _KEEP_HEADERS:
                        kept[name] = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            await self.store.release(scope_key)
            raise
        if status >= 500 or status in _NOT_STORED:
            await self.store.release(scope_key)
        else:
            await self.store.complete(scope_key, status, kept, b"".join(out))
