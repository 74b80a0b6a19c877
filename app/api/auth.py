"""Accounts: register, log in (JSON), log out, who am I."""

from __future__ import annotations

from fastapi import Request, Response, status

from app.api.deps import (
    MERCHANT_ERRORS,
    SESSION_COOKIE,
    SESSION_ERRORS,
    ContainerDep,
    CurrentAccount,
    MerchantSession,
    UoW,
    client_ip,
    login_limits,
    set_session_cookie,
)
from app.api.errors import problem_responses
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.accounts import (
    Account,
    AccountCreate,
    LoginRequest,
    LoginResponse,
    SessionInfo,
)
from app.container import request_id_var
from app.domain.accounts import services as accounts
from app.domain.accounts.errors import (
    InvalidCredentials,
    LoginThrottled,
    PasswordHashingBusy,
    RegistrationThrottled,
    UsernameTaken,
)
from app.domain.ports import Quota

router = PrefixedRouter(route_class=StrictRoute, prefix="/auth", tags=["Accounts"])


@router.post(
    "/register",
    operation_id="registerAccount",
    summary="Register an account",
    status_code=status.HTTP_201_CREATED,
    response_model=Account,
    description="Limited per client address (`MINISHOP_REGISTRATIONS_PER_IP` an hour by "
    "default): 429 `registration_throttled` with `Retry-After` past it.",
    responses=problem_responses(
        400, 413, 415, 422, UsernameTaken, RegistrationThrottled, PasswordHashingBusy
    ),
)
async def register(
    body: AccountCreate, request: Request, uow: UoW, container: ContainerDep
) -> Account:
    s = container.settings
    account = await accounts.sign_up(
        uow,
        container.hasher,
        container.throttle,
        Quota(s.registrations_per_ip, s.registration_window_seconds),
        ip=client_ip(request),
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        email=body.email,
        request_id=request_id_var.get(),
    )
    return Account.model_validate(account)


@router.post(
    "/login",
    operation_id="login",
    summary="Log in",
    description="Sets the `minishop_session` cookie (HttpOnly, SameSite=Lax) and returns the "
    "CSRF token to send as `X-CSRF-Token` on every state change. Throttled per account and IP.",
    response_model=LoginResponse,
    responses=problem_responses(
        400, 413, 415, 422, InvalidCredentials, LoginThrottled, PasswordHashingBusy
    ),
)
async def login(
    body: LoginRequest, request: Request, response: Response, uow: UoW, container: ContainerDep
) -> LoginResponse:
    result = await accounts.login(
        uow,
        container.hasher,
        container.throttle,
        login_limits(container),
        username=body.username,
        password=body.password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        session_ttl_seconds=container.settings.session_ttl_seconds,
    )
    set_session_cookie(response, container, result)
    return LoginResponse(
        account=Account.model_validate(result.account),
        csrf_token=result.session.csrf_token,
        expires_at=result.session.expires_at,
    )


@router.post(
    "/logout",
    operation_id="logout",
    summary="Log out",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*MERCHANT_ERRORS),
)
async def logout(ctx: MerchantSession, uow: UoW) -> Response:
    accounts.logout(uow, ctx.actor, ctx.session)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(
    "/me",
    operation_id="getCurrentAccount",
    summary="The logged-in account",
    response_model=Account,
    responses=problem_responses(*SESSION_ERRORS),
)
async def me(ctx: CurrentAccount) -> Account:
    return Account.model_validate(ctx.account)


@router.get(
    "/session",
    operation_id="getCurrentSession",
    summary="The current session and its CSRF token",
    description="For a browser that logged in through the HTML `/login` page, which cannot "
    "return JSON: read the session's `csrf_token` here (same-origin, with the session cookie) "
    "and send it as `X-CSRF-Token` on every state change. Not cached.",
    response_model=SessionInfo,
    responses=problem_responses(*SESSION_ERRORS),
)
async def current_session(ctx: CurrentAccount, response: Response) -> SessionInfo:
    response.headers["Cache-Control"] = "no-store"
    return SessionInfo(
        account=Account.model_validate(ctx.account),
        csrf_token=ctx.session.csrf_token,
        expires_at=ctx.session.expires_at,
    )
