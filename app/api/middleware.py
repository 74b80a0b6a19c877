"""Pure ASGI middleware: request ids, access logs, metrics, body limits and media types."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import problem_response
from app.container import metrics, request_id_var
from app.domain.ids import crockford32

log = logging.getLogger("minishop.access")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def new_request_id() -> str:
    """`req_` and 26 Crockford base32 characters, time-ordered like the other ids.

    Not `new_id`: a request id is no secret and needs no cryptographic randomness, and that
    (one `getrandom` call and a lock) would be a third of this middleware's cost.
    """
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    return "req_" + crockford32(value << 2, 26)  # 128 bits, left-aligned in 130


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


#: `Strict-Transport-Security` when the service is reached over https: a year, this host only
#: (the deployment's other subdomains are not ours to vouch for).
HSTS = b"max-age=31536000"


def security_headers(*, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response carries: no content sniffing (a JSON body must never be
    read as HTML or script), and HSTS over https."""
    headers = [(b"x-content-type-options", b"nosniff")]
    if https:
        headers.append((b"strict-transport-security", HSTS))
    return tuple(headers)


class RequestContextMiddleware:
    """Outermost: assigns the request id, logs, measures, turns crashes into a 500 problem,
    and adds `headers` (`security_headers`) to every response that does not set them itself."""

    def __init__(self, app: ASGIApp, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _REQUEST_ID_RE.fullmatch(incoming) else new_request_id()
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                if self.headers:
                    present = {name.lower() for name, _ in headers}
                    headers += [h for h in self.headers if h[0] not in present]
                message = {**message, "headers": headers}
            await send(message)

        metrics.IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if not response_started:
                response = problem_response(
                    status=500,
                    code="internal_error",
                    title="Internal server error",
                    detail="Something went wrong on our side; quote the request_id to support.",
                )
                await response(scope, receive, send_wrapper)
        finally:
            metrics.IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            metrics.observe(method, route, status, elapsed)
            if log.isEnabledFor(logging.INFO):  # the access log (off below INFO)
                log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": scope.get("path"),
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)


class _BodyRefused(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail

    def response(self) -> Response:
        # The client may still be sending: the connection is not kept for another request.
        return problem_response(
            status=self.status,
            code=self.code,
            title=self.title,
            detail=self.detail,
            headers={"Connection": "close"},
        )


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413, by Content-Length or while streaming, and
    bodies that do not arrive whole within `timeout` seconds with 408: a client trickling
    its body a byte at a time holds nothing of ours for longer than that.

    `overrides` gives single paths a limit of their own (bulk uploads take more than the
    JSON API's 1 MiB)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        overrides: Mapping[str, int] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.overrides = dict(overrides or {})
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.overrides.get(scope["path"], self.default_max_bytes)
        await _LimitedRequest(self.app, max_bytes, self.timeout)(scope, receive, send)


class _LimitedRequest:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float | None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    def _too_large(self) -> _BodyRefused:
        return _BodyRefused(
            413,
            "payload_too_large",
            "The request body is too large",
            f"Bodies are limited to {self.max_bytes} bytes.",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _header(scope, b"content-length")
        if declared is None and _header(scope, b"transfer-encoding") is None:
            # HTTP/1.1 frames a body by one of the two: without either there is none to limit.
            await self.app(scope, receive, send)
            return
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._too_large().response()(scope, receive, send)
                return
        received = 0
        complete = False
        deadline: float | None = None
        refused: _BodyRefused | None = None
        started = False

        async def limited_receive() -> Message:
            nonlocal received, complete, deadline, refused
            if complete:
                return await receive()  # after the body: waiting for a disconnect is fine
            loop = asyncio.get_running_loop()
            if deadline is None and self.timeout is not None:
                deadline = loop.time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refused = _BodyRefused(
                    408,
                    "body_read_timeout",
                    "The request body did not arrive in time",
                    f"The whole body must arrive within {self.timeout:g} s of the request.",
                )
                raise refused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = self._too_large()
                    raise refused
                complete = not message.get("more_body", False)
            return message

        swallow = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, swallow
            if message["type"] == "http.response.start":
                if refused is not None and not started:
                    # The framework may catch our exception while reading the body and answer
                    # with its own error (FastAPI sends a 400): answer ours instead.
                    started = swallow = True
                    await refused.response()(scope, receive, send)
                    return
                started = True
            if not swallow:
                await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyRefused as e:
            if not started:
                await e.response()(scope, receive, send)


class JsonOnlyMiddleware:
    """Bodies sent to the JSON API must be JSON; form posts are allowed on the HTML pages, and
    the paths in `raw_paths` take the media types listed for them instead (file uploads)."""

    def __init__(
        self,
        app: ASGIApp,
        form_paths: tuple[str, ...],
        raw_paths: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.app = app
        self.form_paths = form_paths
        self.raw_paths = dict(raw_paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("POST", "PUT", "PATCH")
            and not scope["path"].startswith(self.form_paths)
            and self._has_body(scope)
        ):
            ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            accepted = self.raw_paths.get(scope["path"])
            if accepted is not None and ctype not in accepted:
                response = problem_response(
                    status=415,
                    code="unsupported_media_type",
                    title="Unsupported media type",
                    detail=f"Send the body as {' or '.join(accepted)}.",
                    extra={"received": ctype or None, "accepted": list(accepted)},
                )
                await response(scope, receive, send)
                return
            if accepted is None and not (ctype == "application/json" or ctype.endswith("+json")):
                response = problem_response(
                    status=415,
                    code="unsupported_media_type",
                    title="Unsupported media type",
                    detail="Send the body as application/json.",
                    extra={"received": ctype or None},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _has_body(scope: Scope) -> bool:
        length = _header(scope, b"content-length")
        if length is not None:
            return length.strip() not in ("", "0")
        return _header(scope, b"transfer-encoding") is not None


class FormAsJsonMiddleware:
    """On `paths`, a form-encoded body (as OAuth client libraries send a token request) is
    handed on as the equivalent JSON object, so the operation validates one body model
    whichever way it came. A parameter sent twice becomes a list (which no field takes: a
    422), and an empty one is left out (RFC 6749 §3.1). Inside the body-size limit."""

    def __init__(self, app: ASGIApp, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.paths)
            or (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            != "application/x-www-form-urlencoded"
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        fields: dict[str, str | list[str]] = {}
        text = b"".join(chunks).decode("latin-1")
        for key, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
            if value == "":
                continue
            seen = fields.get(key)
            if seen is None:
                fields[key] = value
            else:
                fields[key] = [*([seen] if isinstance(seen, str) else seen), value]
        body = json.dumps(fields).encode()
        headers = [
            (k, v)
            for k, v in scope.get("headers", [])
            if k.lower() not in (b"content-type", b"content-length", b"transfer-encoding")
        ]
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        sent = False

        async def json_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        scope["headers"] = headers  # in place: outer layers read what the router notes
        await self.app(scope, json_receive, send)


_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")


class InvalidCharactersMiddleware:
    """Refuses control characters (NUL above all) in the path and the query string with 400.

    Ids and filters reach the database as strings; PostgreSQL cannot store a NUL, so without
    this check `/merchant/shops/ab%00c` would fail in the driver (a 500) instead of being
    refused as the bad input it is. The HTML pages (`page_paths`) answer in HTML and clean
    their own query parameters (a `next` with a tab becomes the default target), so only
    their path is checked.
    """

    def __init__(self, app: ASGIApp, page_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.page_paths = page_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._has_control_characters(scope, self.page_paths):
            response = problem_response(
                status=400,
                code="invalid_characters",
                title="The URL contains control characters",
                detail="Control characters (such as %00) are not allowed in the path or query.",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def checks_query(path: str, page_paths: tuple[str, ...]) -> bool:
        """Whether the query of a request to `path` is checked (the path always is); the
        OpenAPI document declares the 400 by the same rule."""
        return not path.startswith(page_paths)

    @classmethod
    def _has_control_characters(cls, scope: Scope, page_paths: tuple[str, ...]) -> bool:
        path: str = scope.get("path", "")
        raw_path: bytes = scope.get("raw_path") or b""
        query: bytes = scope.get("query_string", b"") if cls.checks_query(path, page_paths) else b""
        # Only %-escapes can hide a control character from the raw bytes' check.
        decoded_query = unquote_to_bytes(query.replace(b"+", b" ")) if b"%" in query else query
        decoded_path = unquote_to_bytes(raw_path) if b"%" in raw_path else raw_path
        return any(
            _CONTROL_BYTES.search(part) is not None
            for part in (path.encode("utf-8", "surrogateescape"), decoded_path, decoded_query)
        )
