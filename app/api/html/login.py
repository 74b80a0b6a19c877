"""The HTML login page (works without JavaScript); the OAuth consent flow reuses it.

A form post cannot carry our CSRF header, so the page uses a double-submit token: a random
value in a SameSite=Strict cookie and the same value in a hidden field.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Cookie, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.api.deps import (
    SESSION_COOKIE,
    ContainerDep,
    UoW,
    client_ip,
    login_limits,
    same_token,
    set_session_cookie,
)
from app.api.routing import StrictRoute
from app.api.schemas.base import has_control_characters
from app.domain.accounts import services as accounts
from app.domain.errors import DomainError

router = APIRouter(route_class=StrictRoute, tags=["Pages"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
LOGIN_CSRF_COOKIE = "minishop_login_csrf"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def safe_next(value: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/auth/me"
    # Browsers drop tabs and newlines when parsing a URL ("/\t/evil.com" is "//evil.com").
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/auth/me"
    return value


def _render(
    request: Request,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
    secure: bool = False,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "csrf_token": token,
            "next": next_url,
            "username": username,
            "error": error,
            "account": None,
        },
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/login",
        max_age=3600,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    container: ContainerDep,
    next_url: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    return _render(request, next_url=safe_next(next_url), secure=container.settings.is_production)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    uow: UoW,
    container: ContainerDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2048)] = "",
    csrf_cookie: Annotated[str | None, Cookie(alias=LOGIN_CSRF_COOKIE)] = None,
) -> Response:
    target = safe_next(next_url)
    secure = container.settings.is_production
    if not csrf_cookie or not same_token(csrf_cookie, csrf_token):
        return _render(
            request,
            next_url=target,
            username=username,
            status_code=403,
            error="The form expired; please try again.",
            secure=secure,
        )
    if has_control_characters(username) or has_control_characters(password):
        # No account has such a name or password; PostgreSQL could not even compare a NUL.
        return _render(
            request,
            next_url=target,
            status_code=400,
            error="Wrong username or password.",
            secure=secure,
        )
    try:
        result = await accounts.login(
            uow,
            container.hasher,
            container.throttle,
            login_limits(container),
            username=username,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            session_ttl_seconds=container.settings.session_ttl_seconds,
        )
    except DomainError as e:
        return _render(
            request,
            next_url=target,
            username=username,
            status_code=e.status,
            error=e.detail if e.status in (429, 503) else "Wrong username or password.",
            secure=secure,
        )
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    set_session_cookie(response, container, result)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


__all__ = ["SESSION_COOKIE", "router", "safe_next"]
