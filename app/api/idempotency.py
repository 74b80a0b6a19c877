"""`Idempotency-Key` for state-changing requests, as Stripe does it.

The first request with a key runs and its response is stored for 24 h; a replay with the same
body gets that response again (`Idempotent-Replayed: true`); the same key with another body is
a 422. The key is claimed in the request's own unit of work and its response written there at
the commit point (`deps.commit_request`), so the key, the response and the business change
commit together: a crash before the commit leaves nothing (the retry runs once), after it all
three (the retry replays), and a request with the key while the first is running waits for it,
then replays. An error, which changes nothing, is stored on its own after it is answered.
Stored bodies are encrypted with the key ring (they may carry a secret shown once); one that
no key opens any more is a 409 `idempotency_response_unavailable`, never a second run.

The key is looked at only once the request is known to reach an operation with a caller the
operation takes: the middleware first matches the route table (a request the router answers
with 404 or 405 gets that answer, whatever its key), then resolves the caller with the
credential the operation declares (its security schemes), through a `CallerResolver` that the
composition root supplies: a verified session is its account (a re-login keeps its keys), a
provider's bearer token its grant, and a public operation's anonymous caller its IP address.
A request without the credential its operation takes, or with one that is not good, gets no
idempotency handling at all: the route answers 401/403 as usual, so a revoked cookie can never
fetch a stored response and a missing one never meets the keys of another caller.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol, TypeVar

from fastapi.dependencies.models import Dependant
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import BEFORE_COMMIT_KEY, UOW_SCOPE_KEY, request_uow
from app.api.errors import problem_response
from app.api.route_table import operation_dependant, security_requirements
from app.api.uploads import SPOOL_BYTES
from app.container import Exists, IdempotencyStore, SqlUnitOfWork

_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEEP_HEADERS = {"content-type", "location", "etag", "deprecation", "sunset"}
# As Stripe: a request that failed before the operation ran (validation, authentication,
# throttling) is not stored, so the corrected retry with the same key runs.
_NOT_STORED = {400, 401, 403, 413, 415, 422, 429}
# Logins create a session cookie (or a token pair) that a replay could not give back; never
# replay them.
EXCLUDED_PATHS = ("/auth/login", "/login", "/oauth/", "/v1/storefront/token")
#: The methods whose requests may carry an `Idempotency-Key`.
METHODS = ("POST", "PUT", "PATCH", "DELETE")
_BLOCK_BYTES = 1 << 16


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", ())}


# --- who is calling ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """What a request presents, unverified: the resolver decides what it is worth."""

    authorization: str | None
    session_token: str | None
    csrf_token: str | None
    client_ip: str | None


def credentials_of(scope: Scope, *, session_cookie: str, csrf_header: str) -> Credentials:
    headers = _headers(scope)
    cookie = headers.get(b"cookie", b"").decode("latin-1")
    match = re.search(rf"(?:^|;\s*){re.escape(session_cookie)}=([^;]+)", cookie)
    csrf = headers.get(csrf_header.lower().encode())
    auth = headers.get(b"authorization")
    client = scope.get("client")
    return Credentials(
        authorization=auth.decode("latin-1") if auth is not None else None,
        session_token=match.group(1).strip() if match else None,
        csrf_token=csrf.decode("latin-1") if csrf is not None else None,
        client_ip=str(client[0]) if client else None,
    )


#: An operation's security schemes by name, each with the scopes it requires (OpenAPI's
#: `security` of the operation; empty for a public one).
Requirements = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Deferred:
    """A credential's last check left to the key's claim (`IdempotencyStore.claim`), which
    holds only under `condition`: `confirmed` is called once it did, for the route to take
    the credential as checked. When the condition does not hold, the request gets no
    idempotency handling: the route checks the credential itself and refuses it."""

    condition: Exists
    confirmed: Callable[[], None]


@dataclass(frozen=True)
class Caller:
    """Whom a key belongs to (`account:<id>`, ...), and what of the credential's check is
    left to the claim."""

    name: str
    deferred: Deferred | None = None


class CallerResolver(Protocol):
    async def __call__(
        self, scope: Scope, credentials: Credentials, requirements: Requirements
    ) -> Caller | None:
        """The caller a key is scoped to, judged by the credential that the operation
        takes, or None: the request gets no idempotency handling and goes straight to the
        route."""
        ...


#: Resolves a session token and the CSRF token sent with it to the account id, or None when
#: the session is missing, expired, revoked, or the CSRF token does not match it. Given the
#: request's scope: the lookup runs in the request's unit of work and is kept for the route.
SessionAccount = Callable[[Scope, str, str | None], Awaitable[str | None]]


#: Resolves a bearer token to the grant it acts under and the token's scopes, or None when
#: the token is not good (in the request's unit of work, kept for the route, as above).
BearerGrant = Callable[[Scope, str], Awaitable[tuple[str, frozenset[str]] | None]]


def anonymous_caller(client_ip: str | None) -> str:
    """Callers without a credential (registration) are told apart by address only."""
    return "anon:" + (client_ip or "-")


#: Resolves a buyer's access token to the buyer's account id, or None when it is not good;
#: with what of the token's check is left to the claim, if any.
BuyerAccount = Callable[[Scope, str], Awaitable[tuple[str, Deferred | None] | None]]


def _bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def caller_resolver(
    session_account: SessionAccount,
    bearer_grant: BearerGrant,
    buyer_account: BuyerAccount,
    *,
    session_scheme: str,
    bearer_scheme: str,
    buyer_scheme: str,
) -> CallerResolver:
    """The resolver the app uses; both lookups and both scheme names come from the
    composition root.

    A provider's keys belong to its grant (app + shop), so a refreshed access token keeps
    them; a token that is not good (expired, revoked) or lacks the operation's scope gets no
    replay: the route answers 401 or 403. An operation is only ever judged by the credential
    it takes: a session sent to a provider operation (or a bearer token to a merchant one)
    counts for nothing, as it does there. A buyer's keys belong to the buyer's account (a
    new login keeps them), apart from the same account's keys as a merchant.
    """

    async def resolve(
        scope: Scope, credentials: Credentials, requirements: Requirements
    ) -> Caller | None:
        public = not requirements
        if buyer_scheme in requirements:
            token = _bearer_token(credentials.authorization or "")
            buyer = await buyer_account(scope, token) if token else None
            return Caller(f"buyer:{buyer[0]}", buyer[1]) if buyer else None
        if credentials.authorization is not None and (public or bearer_scheme in requirements):
            scheme, _, token = credentials.authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            grant = await bearer_grant(scope, token.strip())
            if grant is None:
                return None
            grant_id, scopes = grant
            if not requirements.get(bearer_scheme, set()) <= scopes:
                return None
            return Caller(f"grant:{grant_id}")
        if credentials.session_token is not None and (public or session_scheme in requirements):
            account_id = await session_account(
                scope, credentials.session_token, credentials.csrf_token
            )
            return Caller(f"account:{account_id}") if account_id else None
        return Caller(anonymous_caller(credentials.client_ip)) if public else None

    return resolve


# --- the middleware ---------------------------------------------------------------------------


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        store: IdempotencyStore,
        resolve_caller: CallerResolver,
        routes: Callable[[], Sequence[BaseRoute]],
        session_cookie: str,
        csrf_header: str,
    ) -> None:
        self.app = app
        self.store = store
        self.resolve_caller = resolve_caller
        self.routes = routes
        self.session_cookie = session_cookie
        self.csrf_header = csrf_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in METHODS
            or scope["path"].startswith(EXCLUDED_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        operation = operation_dependant(self.routes(), scope)
        if operation is None:  # the router answers 404 or 405, whatever the key
            await self.app(scope, receive, send)
            return
        credentials = credentials_of(
            scope, session_cookie=self.session_cookie, csrf_header=self.csrf_header
        )
        try:
            # The caller is checked in the request's unit of work (opened here if the check
            # needs the database), which the key is then claimed in and the route writes in;
            # `UnitOfWorkScope` ends it, or this call does when the route is not reached.
            caller = await self.resolve_caller(scope, credentials, security_requirements(operation))
            if caller is None:
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
            scope_key = hashlib.sha256(caller.name.encode() + b"\x00" + raw_key).hexdigest()
            uow = await request_uow(scope)
            if plans_once(operation) and uow.driver is not None:
                uow.driver.plan_at_begin()  # the claim's BEGIN carries it
            await self._serve(scope, receive, send, uow, scope_key, operation, caller.deferred)
        finally:
            left: SqlUnitOfWork | None = scope.pop(UOW_SCOPE_KEY, None)
            if left is not None:
                await left.__aexit__(None, None, None)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        uow: SqlUnitOfWork,
        scope_key: str,
        operation: Dependant,
        deferred: Deferred | None,
    ) -> None:
        if not receives_body_itself(operation):
            # FastAPI reads a JSON or form body before the operation's dependencies run, so
            # nothing is lost by receiving it here, before the key is claimed.
            claimed = await self._claim(scope, receive, uow, scope_key, deferred)
            if isinstance(claimed, _Answer):
                await claimed.respond(scope, receive, send)
                return
            if isinstance(claimed, _Refused):  # the credential is not good: the route says so
                await self.app(scope, claimed.body.receive, send)
                return
            await self._run(scope, claimed.receive, send, scope_key, claimed)
            return

        # The operation checks what it must (its per-app cap, quotas, the format) and gives
        # its connection back before it reads its body: the key is claimed when it starts
        # reading, once the body is in, so a keyed upload is held to the same limits as any
        # other and holds no connection while it arrives. An operation answering without
        # reading its body refused the request: nothing to store.
        state: dict[str, _Claimed] = {}

        async def claim_on_first_read() -> Message:
            if "claimed" not in state:
                # The credential is checked in full here: the operation ran before the claim.
                claimed = await self._claim(scope, receive, uow, scope_key, None)
                if isinstance(claimed, _Answer):
                    raise claimed
                assert isinstance(claimed, _Claimed)
                state["claimed"] = claimed
            return await state["claimed"].receive()

        try:
            await self._run(scope, claim_on_first_read, send, scope_key, None, state)
        except _Answer as answer:
            await answer.respond(scope, receive, send)

    async def _claim(
        self,
        scope: Scope,
        receive: Receive,
        uow: SqlUnitOfWork,
        scope_key: str,
        deferred: Deferred | None,
    ) -> _Claimed | _Answer | _Refused:
        """Receive the whole body (the body-size limit applies before us), past 1 MiB into a
        temporary file (so a 64 MiB upload is not held in memory), then claim the
        key with the request's hash in the request's unit of work: the body to hand
        downstream, or the answer to give instead (a stored response, a conflict, a key
        reused with another request), or, when the check `deferred` to the claim failed,
        the body to hand to the route as if there were no key (its transaction rolled
        back: nothing was claimed)."""
        # In memory while it is small (most are one message), spooled once it grows.
        chunks: list[bytes] = []
        spooled: IO[bytes] | None = None
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if spooled is not None:
                    spooled.close()
                return _Answer(None)
            chunk = message.get("body", b"")
            size += len(chunk)
            if spooled is None and size > SPOOL_BYTES:
                spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
                spooled.writelines(chunks)
                chunks = []
            if spooled is not None:
                spooled.write(chunk)
            else:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = spooled if spooled is not None else io.BytesIO(b"".join(chunks))

        digest = hashlib.sha256()
        for part in (
            scope["method"].encode(),
            scope["path"].encode(),
            scope.get("query_string", b""),
        ):
            digest.update(len(part).to_bytes(8, "big") + part)
        digest.update(size.to_bytes(8, "big"))
        body.seek(0)
        while block := body.read(_BLOCK_BYTES):
            digest.update(block)
        body.seek(0)
        request_hash = digest.hexdigest()

        method, path = scope["method"], scope["path"]
        condition = deferred.condition if deferred is not None else None
        claim = await self.store.claim(uow, scope_key, request_hash, method, path, condition)
        if claim.outcome == "refused":
            await uow.rollback()
            return _Refused(_Claimed((request_hash, method, path), body, size, receive))
        if deferred is not None:
            deferred.confirmed()
        if claim.outcome == "mismatch":
            return _Answer(
                problem_response(
                    status=422,
                    code="idempotency_key_reused",
                    title="Idempotency-Key reused with a different request",
                    detail="This key was used with another method, path or body; use a new key.",
                )
            )
        if claim.outcome == "in_progress":
            return _Answer(
                problem_response(
                    status=409,
                    code="idempotency_key_in_use",
                    title="A request with this Idempotency-Key is in progress",
                    detail="Wait for the first request to finish, then retry.",
                    headers={"Retry-After": "1"},
                )
            )
        if claim.outcome == "unreadable":
            return _Answer(
                problem_response(
                    status=409,
                    code="idempotency_response_unavailable",
                    title="The first response to this Idempotency-Key cannot be given back",
                    detail="The stored response can no longer be decrypted; use a new key.",
                )
            )
        if claim.outcome == "replay":
            return _Answer(_Replay(claim.status, claim.headers, claim.body))

        claimed = _Claimed((request_hash, method, path), body, size, receive)

        async def record(uow: SqlUnitOfWork, response: Response) -> None:
            # At the commit point, before it commits: the response goes with the change.
            kept = {k: v for k, v in response.headers.items() if k.lower() in _KEEP_HEADERS}
            await self.store.complete(
                uow, scope_key, claimed.request, response.status_code, kept, bytes(response.body)
            )
            claimed.recorded_in = uow

        scope[BEFORE_COMMIT_KEY] = record
        return claimed

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        scope_key: str,
        claimed: _Claimed | None,
        later: dict[str, _Claimed] | None = None,
    ) -> None:
        """Run the operation with its body from `receive` (the claimed body, or the read that
        claims the key, `later`), then store an error's answer that the commit point did
        not (an error changes nothing, so its transaction, the claim with it, rolled back)."""
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

        await self.app(scope, receive, capture_send)
        if claimed is None and later is not None:
            claimed = later.get("claimed")
        if claimed is None or claimed.stored:
            return
        if 400 <= status < 500 and status not in _NOT_STORED:
            await self.store.save(scope_key, claimed.request, status, kept, b"".join(out))


def receives_body_itself(dependant: Dependant) -> bool:
    """Whether the operation reads its own body as a stream (an upload), after checks of its
    own, rather than taking a parsed body (see `receiving_body_itself`)."""
    return bool(getattr(dependant.call, _RECEIVES_BODY_ITSELF, False))


_RECEIVES_BODY_ITSELF = "__minishop_receives_body_itself__"
_PLANS_ONCE = "__minishop_plans_once__"

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def receiving_body_itself(endpoint: _Endpoint) -> _Endpoint:
    """Mark an operation that checks the caller's limits before it reads its body: its
    `Idempotency-Key` is claimed when it starts reading, not before it runs."""
    setattr(endpoint, _RECEIVES_BODY_ITSELF, True)
    return endpoint


def planned_once(endpoint: _Endpoint) -> _Endpoint:
    """Mark an operation whose use case plans its transaction once (`DriverReader.plan_once`,
    placing an order): asked before its `Idempotency-Key` is claimed (`plan_at_begin`), the
    setting goes with the transaction's BEGIN instead of costing a round trip of its own."""
    setattr(endpoint, _PLANS_ONCE, True)
    return endpoint


def plans_once(dependant: Dependant) -> bool:
    return bool(getattr(dependant.call, _PLANS_ONCE, False))


class _Claimed:
    """A claimed key's request (hash, method, path) and its received body, handed
    downstream a block at a time; then the connection's own messages (a disconnect)."""

    def __init__(
        self, request: tuple[str, str, str], body: IO[bytes], size: int, receive: Receive
    ) -> None:
        self.request = request
        #: The unit of work the response was written in, at its commit point.
        self.recorded_in: SqlUnitOfWork | None = None
        self.body = body
        self.size = size
        self.receive_more = receive
        self.sent = False

    @property
    def stored(self) -> bool:
        """The response went with the change it answers: recorded, and committed (a commit
        refused after the record was written stored nothing)."""
        return self.recorded_in is not None and self.recorded_in.committed

    async def receive(self) -> Message:
        if not self.sent:
            chunk = self.body.read(_BLOCK_BYTES)
            self.sent = self.body.tell() >= self.size
            return {"type": "http.request", "body": chunk, "more_body": not self.sent}
        return await self.receive_more()


@dataclass(frozen=True)
class _Refused:
    """The caller's check left to the claim failed: the received body, for the route."""

    body: _Claimed


@dataclass(frozen=True)
class _Replay:
    status: int
    headers: Mapping[str, str]
    body: bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        out_headers = [(k.encode(), v.encode()) for k, v in self.headers.items()]
        out_headers += [
            (b"idempotent-replayed", b"true"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": out_headers})
        await send({"type": "http.response.body", "body": self.body})


class _Answer(Exception):
    """What the key calls for instead of running the operation (None: the client left).
    Raised from the body's first read by an operation that reads its body itself."""

    def __init__(self, respond: ASGIApp | None) -> None:
        super().__init__("answered by the Idempotency-Key")
        self._respond = respond

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._respond is not None:
            await self._respond(scope, receive, send)
