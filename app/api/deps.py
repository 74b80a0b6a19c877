"""Dependencies: the unit of work, session authentication with CSRF, actors, preconditions.

Auth is expressed as typed aliases (`CurrentAccount`, `MerchantSession`, `OperatorSession`);
a route without one is public on purpose.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Header, Request, Response
from fastapi.security import APIKeyCookie, APIKeyHeader
from starlette.types import ASGIApp, Receive, Scope, Send

from app.container import Container, SqlUnitOfWork, request_id_var
from app.domain.accounts.errors import SessionRequired
from app.domain.accounts.model import Account, Session
from app.domain.accounts.services import LoginLimits, LoginResult, authenticate
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.errors import DomainError, Forbidden, PreconditionFailed
from app.domain.ports import Quota
from app.domain.shops.errors import OperatorRequired
from app.domain.shops.services import require_operator

SESSION_COOKIE = "minishop_session"
CSRF_HEADER = "X-CSRF-Token"

session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="sessionCookie",
    description="The session cookie set by `POST /auth/login` or the HTML login page.",
)
csrf_header = APIKeyHeader(
    name=CSRF_HEADER,
    auto_error=False,
    scheme_name="csrfToken",
    description="The `csrf_token` returned at login; required on every state change.",
)


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    title = "Missing or wrong CSRF token"


async def get_container(request: Request) -> Container:
    # async: FastAPI runs a plain `def` dependency in its thread pool, which costs more than
    # the lookup itself on every request.
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


#: Where `get_uow` leaves the request's unit of work for `UnitOfWorkScope` to end.
UOW_SCOPE_KEY = "minishop.uow"
#: Set by the idempotency middleware: writes the response into the request's transaction.
BEFORE_COMMIT_KEY = "minishop.before_commit"
#: Work that `after_response` queued for `UnitOfWorkScope` to run once the response is sent.
AFTER_RESPONSE_KEY = "minishop.after_response"
#: Set by `keep_writes_on_error`: the error the endpoint answers commits what it wrote.
KEEP_ON_ERROR_KEY = "minishop.keep_on_error"

#: Writes what must commit with the request's response (the Idempotency-Key's record).
BeforeCommit = Callable[[SqlUnitOfWork, Response], Awaitable[None]]
#: A change made in a unit of work of its own (`commit_apart`, `after_response`).
Work = Callable[[SqlUnitOfWork], Awaitable[None]]

log = logging.getLogger(__name__)


async def get_uow(request: Request) -> SqlUnitOfWork:
    """One unit of work per request, committed by `commit_request` alone.

    Ended by `UnitOfWorkScope` once the response is sent, as a `yield` dependency would be:
    FastAPI runs those under a shielded exit that costs a task per request, more than the
    rest of a cached read's dependencies together. Idempotent within a request, so other
    dependencies may call it directly (each declared sub-dependency costs a resolution).
    """
    return await request_uow(request.scope)


async def request_uow(scope: Scope) -> SqlUnitOfWork:
    """The request's unit of work, opened on first use (by the idempotency middleware's
    caller check when the request carries a key, else by the first dependency)."""
    uow: SqlUnitOfWork | None = scope.get(UOW_SCOPE_KEY)
    if uow is None:
        uow = await open_uow(scope)
    return uow


async def open_uow(scope: Scope) -> SqlUnitOfWork:
    """Opens the request's unit of work (before the route, for the idempotency middleware)."""
    container: Container = scope["app"].state.container
    uow = container.uow()
    scope[UOW_SCOPE_KEY] = uow
    await uow.__aenter__()
    return uow


# --- the one commit point -----------------------------------------------------------------
# Every `commit()` of the HTTP process is in this section (tests/test_commit_point.py fails
# on one anywhere else under app/api or app/domain): routes, services and repositories only
# write into the request's unit of work.


async def commit_request(request: Request, response: Response) -> None:
    """Commits the request's unit of work once its endpoint has returned, before a byte of the
    response is sent, so a refused commit (a conflict) is still answered as a problem.

    Called by `AutoCommitRoute` for every operation. An endpoint that raised never gets here
    (its unit of work rolls back), and neither does an error it answered itself (4xx/5xx):
    what it wrote is rolled back too."""
    uow: SqlUnitOfWork | None = request.scope.get(UOW_SCOPE_KEY)
    keep = response.status_code < 400 or request.scope.get(KEEP_ON_ERROR_KEY, False)
    if uow is not None and keep:
        before_commit: BeforeCommit | None = request.scope.get(BEFORE_COMMIT_KEY)
        if before_commit is not None:
            await before_commit(uow, response)
        await uow.commit()
        fault = request.app.state.settings.fault_exit_after_commit
        if fault and fault == f"{request.method} {request.url.path}":
            # Tests only (refused in production): the process dies between the commit and
            # the response, as a crash would (tests/test_idempotency_crash.py).
            os._exit(70)


def keep_writes_on_error(request: Request) -> None:
    """The error answer the endpoint returns (it does not raise it) commits the request's
    writes, as a success would: a refusal that must count (a wrong pickup code, counted
    against its shop under the lock its check took). With an `Idempotency-Key`, that answer
    is stored for the key like a success (a retry is answered, not counted again)."""
    request.scope[KEEP_ON_ERROR_KEY] = True


async def commit_apart(request: Request, work: Work) -> None:
    """Commits `work` at once in a unit of work of its own, for a failure whose effect must
    outlive the request's rolled-back transaction (a replayed authorization code revoking its
    tokens). The request's own transaction is rolled back first: it may hold the rows `work`
    writes, and nothing it did is to be kept."""
    uow: SqlUnitOfWork | None = request.scope.get(UOW_SCOPE_KEY)
    if uow is not None:
        await uow.release()
    container: Container = request.app.state.container
    async with container.uow() as own:
        await work(own)
        await own.commit()


def after_response(request: Request, work: Work) -> None:
    """Runs `work` once the response has been sent, in a short unit of work of its own
    (committed on its own; a failure is logged, never the client's): bookkeeping that must
    not make a read a write transaction, such as a grant's last use."""
    request.scope.setdefault(AFTER_RESPONSE_KEY, []).append(work)


async def _run_after_response(container: Container, works: list[Work]) -> None:
    for work in works:
        try:
            async with container.uow() as uow:
                await work(uow)
                await uow.commit()
        except Exception:
            log.warning("after-response work failed", exc_info=True)


class UnitOfWorkScope:
    """Pure ASGI, innermost: ends the unit of work `get_uow` opened for the request (a
    rollback of whatever `commit_request` did not commit; nothing at all when it never
    opened a session), then runs the work queued by `after_response`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            uow: SqlUnitOfWork | None = scope.pop(UOW_SCOPE_KEY, None)
            if uow is not None:
                await uow.__aexit__(None, None, None)
        works: list[Work] | None = scope.pop(AFTER_RESPONSE_KEY, None)
        if works:
            await _run_after_response(scope["app"].state.container, works)


UoW = Annotated[SqlUnitOfWork, Depends(get_uow)]


@dataclass(frozen=True)
class AuthContext:
    account: Account
    session: Session
    surface: Surface
    ip: str | None

    @property
    def actor(self) -> Actor:
        return Actor(
            type=ActorType.ACCOUNT,
            id=self.account.id,
            surface=self.surface,
            request_id=request_id_var.get(),
            ip=self.ip,
        )


def client_ip(request: Request) -> str | None:
    """The caller's address: the TCP peer's, or what a trusted proxy said it was (the
    `MINISHOP_FORWARDED_ALLOW_IPS` middleware has rewritten the peer by then)."""
    return request.client.host if request.client else None


def _surface(request: Request) -> Surface:
    path = request.url.path
    if path.startswith("/v1/platform"):
        return Surface.PLATFORM
    if path.startswith("/v1/apps"):
        return Surface.DEVELOPER
    return Surface.MERCHANT


# --- one authentication per request ----------------------------------------------------------
# A request with an Idempotency-Key has its credential checked by the idempotency middleware
# (to know whose key it is) before the route runs. The check's outcome — what it found, or the
# error it raised — is kept in the scope against the exact credential, so the route's own
# dependency takes it from there instead of checking again.
VERIFIED_SESSION_KEY = "minishop.verified_session"
T = TypeVar("T")


async def checked_once(
    scope: Scope, key: str, credential: str | None, check: Callable[[], Awaitable[T]]
) -> T:
    """`check()`'s outcome for `credential`, computed once per request: a result is returned
    again, a domain error raised again."""
    kept: tuple[str, object] | None = scope.get(key)
    if credential is not None and kept is not None and kept[0] == credential:
        outcome = kept[1]
        if isinstance(outcome, DomainError):
            raise outcome
        return cast(T, outcome)
    try:
        found = await check()
    except DomainError as e:
        if credential is not None:
            keep_checked(scope, key, credential, e)
        raise
    if credential is not None:
        keep_checked(scope, key, credential, found)
    return found


def keep_checked(scope: Scope, key: str, credential: str, outcome: object) -> None:
    """What a check of `credential` found (or the domain error it raised), for `checked_once`
    to give again this request; for a check made otherwise (the key's claim)."""
    scope[key] = (credential, outcome)


async def _session_of(scope: Scope, token: str | None) -> tuple[Account, Session]:
    uow = await request_uow(scope)
    return await checked_once(scope, VERIFIED_SESSION_KEY, token, lambda: authenticate(uow, token))


async def current_account(
    request: Request,
    token: Annotated[str | None, Depends(session_cookie)],
) -> AuthContext:
    account, session = await _session_of(request.scope, token)
    return AuthContext(account, session, _surface(request), client_ip(request))


def same_token(presented: str, expected: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (a header decoded as latin-1,
    a form field): `hmac.compare_digest` raises TypeError on non-ASCII str, which would be a 500."""
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def check_csrf(ctx: AuthContext, presented: str | None) -> None:
    if not presented or not same_token(presented, ctx.session.csrf_token):
        raise CsrfFailed(f"Send the session's csrf_token in the {CSRF_HEADER} header.")


async def verified_session_account(scope: Scope, token: str, csrf: str | None) -> str | None:
    """The account of an active session whose CSRF token was sent along, else None.

    The idempotency middleware asks this before it may replay a stored response: the same
    checks as `MerchantSession`, so only a caller the route itself would accept can replay.
    Asked in the request's unit of work, and remembered for the route's `current_account`.
    """
    try:
        account, session = await _session_of(scope, token)
    except SessionRequired:
        return None
    if not csrf or not same_token(csrf, session.csrf_token):
        return None
    return account.id


async def csrf_protected_account(
    ctx: Annotated[AuthContext, Depends(current_account)],
    csrf: Annotated[str | None, Depends(csrf_header)],
) -> AuthContext:
    check_csrf(ctx, csrf)
    return ctx


async def operator_account(
    ctx: Annotated[AuthContext, Depends(current_account)],
) -> AuthContext:
    require_operator(ctx.account)
    return ctx


async def operator_csrf_account(
    ctx: Annotated[AuthContext, Depends(csrf_protected_account)],
) -> AuthContext:
    require_operator(ctx.account)
    return ctx


#: The errors each session dependency below raises, for a route's `problem_responses`.
SESSION_ERRORS = (SessionRequired,)
MERCHANT_ERRORS = (SessionRequired, CsrfFailed)
OPERATOR_READ_ERRORS = (SessionRequired, OperatorRequired)
OPERATOR_WRITE_ERRORS = (SessionRequired, CsrfFailed, OperatorRequired)

#: Any logged-in account, for reads.
CurrentAccount = Annotated[AuthContext, Depends(current_account)]
#: A logged-in account making a state change: CSRF token required.
MerchantSession = Annotated[AuthContext, Depends(csrf_protected_account)]
#: A platform operator reading.
OperatorRead = Annotated[AuthContext, Depends(operator_account)]
#: A platform operator changing something: CSRF token required.
OperatorWrite = Annotated[AuthContext, Depends(operator_csrf_account)]


_ETAG_RE = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')


async def if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The `ETag` you read (e.g. `"3"`); 412 if the resource moved on.',
        ),
    ] = None,
) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _ETAG_RE.match(value)
    if not match:
        raise PreconditionFailed('If-Match must be an ETag such as "3".')
    return int(match.group(1))


IfMatch = Annotated[int | None, Depends(if_match)]


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def login_limits(container: Container) -> LoginLimits:
    s = container.settings
    return LoginLimits(
        per_account=Quota(s.login_attempts_per_account, s.login_window_seconds),
        per_ip=Quota(s.login_attempts_per_ip, s.login_window_seconds),
    )


def set_session_cookie(response: Response, container: Container, result: LoginResult) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=container.settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=container.settings.is_production,
        path="/",
    )
