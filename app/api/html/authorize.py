"""`/oauth/authorize`: the merchant's consent page (server-rendered, works without JavaScript).

An unknown client or an unregistered redirect URI gets an error page — never a redirect, so
the endpoint cannot be used as an open redirector. Every other error goes back to the client
as `?error=…&state=…&iss=…` (RFC 6749 §4.1.2.1, RFC 9207).
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Cookie, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import SESSION_COOKIE, ContainerDep, UoW, client_ip
from app.api.html.login import SECURITY_HEADERS, templates
from app.api.routing import AutoCommitRoute
from app.container import request_id_var
from app.domain.accounts.model import Account, Session
from app.domain.accounts.services import authenticate
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.authz import grants, oauth
from app.domain.authz.apps import redirect_origin
from app.domain.authz.errors import AuthorizePageError
from app.domain.authz.scopes import DESCRIPTIONS, Scope
from app.domain.errors import DomainError
from app.domain.pagination import PageRequest
from app.domain.shops.permissions import Permission, allows

router = APIRouter(route_class=AutoCommitRoute, tags=["Pages"], include_in_schema=False)

PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _headers(redirect_uri: str | None = None) -> dict[str, str]:
    """No framing; forms may post here and (after the redirect) land on the client."""
    targets = "'self'"
    # Rebuilt from the parsed URI: an app registered before redirect URIs were checked this
    # strictly cannot write its own directives into the policy (it gets 'self' only).
    origin = redirect_origin(redirect_uri) if redirect_uri else None
    if origin:
        targets += f" {origin}"
    csp = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
        f"frame-ancestors 'none'; form-action {targets}"
    )
    return {**SECURITY_HEADERS, "Content-Security-Policy": csp}


def _error_page(
    request: Request, message: str, status: int = 400, *, untrusted: bool = False
) -> Response:
    return templates.TemplateResponse(
        request,
        "oauth_error.html",
        {"message": message, "untrusted": untrusted},
        status_code=status,
        headers=_headers(),
    )


def _redirect(uri: str, params: dict[str, str | None], issuer: str, status: int) -> Response:
    """Append to the registered URI, keeping any query it already has."""
    parts = urlsplit(uri)
    values = {k: v for k, v in params.items() if v is not None}
    values["iss"] = issuer
    query = "&".join(q for q in (parts.query, urlencode(values)) if q)
    target = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return RedirectResponse(target, status_code=status, headers={"Cache-Control": "no-store"})


def _error_redirect(e: oauth.RedirectError, issuer: str, status: int) -> Response:
    return _redirect(
        e.redirect_uri,
        {"error": e.error.error, "error_description": e.error.detail, "state": e.state},
        issuer,
        status,
    )


def _shows_username(account: Account) -> bool:
    """Whether the page adds `(username)` after the display name: not when the name already
    says it (`merchant`, `Li Wei (merchant)`)."""
    name, username = account.display_name.casefold(), account.username.casefold()
    return name != username and not name.endswith(f"({username})")


async def _session(uow: UoW, token: str | None) -> tuple[Account, Session] | None:
    try:
        return await authenticate(uow, token)
    except DomainError:
        return None


def _actor(request: Request, account: Account) -> Actor:
    return Actor(
        type=ActorType.ACCOUNT,
        id=account.id,
        surface=Surface.MERCHANT,
        request_id=request_id_var.get(),
        ip=client_ip(request),
    )


async def _validate(uow: UoW, values: dict[str, str | None]) -> oauth.AuthorizationRequest:
    return await oauth.validate_authorization_request(
        uow,
        client_id=values.get("client_id"),
        redirect_uri=values.get("redirect_uri"),
        response_type=values.get("response_type"),
        scope=values.get("scope"),
        state=values.get("state"),
        code_challenge=values.get("code_challenge"),
        code_challenge_method=values.get("code_challenge_method"),
        shop_id=values.get("shop_id"),
    )


def _query_values(request: Request) -> dict[str, str | None] | None:
    """None when a parameter repeats (RFC 6749 §3.1) or carries a control character."""
    values: dict[str, str | None] = {}
    for key, value in request.query_params.multi_items():
        if key in values or any(ord(c) < 0x20 for c in value):
            return None
        values[key] = value
    return values


@router.get("/oauth/authorize", response_class=HTMLResponse)
async def authorize_page(
    request: Request,
    uow: UoW,
    container: ContainerDep,
    session_token: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Response:
    issuer = container.oauth.issuer
    values = _query_values(request)
    if values is None:
        return _error_page(request, "A parameter is repeated or malformed.")
    try:
        req = await _validate(uow, values)
    except AuthorizePageError as e:
        return _error_page(request, e.detail, untrusted=True)
    except oauth.RedirectError as e:
        return _error_redirect(e, issuer, 302)

    found = await _session(uow, session_token)
    if found is None:
        target = request.url.path + "?" + request.url.query
        return RedirectResponse(
            "/login?" + urlencode({"next": target}),
            status_code=303,
            headers={"Cache-Control": "no-store"},
        )
    account, session = found
    page = await uow.shops.list_for_account(account.id, PageRequest(limit=100))
    shops = [
        (shop, member.role)
        for shop, member in page.items
        if allows(member.role, Permission.APPS_AUTHORIZE) and not shop.suspended
    ]
    names = await uow.apps.developer_names([req.app.developer_id])
    # Switching providers in one action: offer to revoke the apps the shop already
    # authorized for the same kind of service.
    by_id = {shop.id: shop for shop, _ in shops}
    replaceable = [
        (by_id[grant.shop_id], other)
        for grant, other in await uow.grants.active_for_shops(list(by_id))
        if other.id != req.app.id and set(other.service_types) & set(req.app.service_types)
    ]
    params = {k: v for k in PARAMS if (v := values.get(k)) is not None}
    params["scope"] = " ".join(s.value for s in Scope if s in req.scopes)
    return templates.TemplateResponse(
        request,
        "consent.html",
        {
            "app": req.app,
            "developer": names.get(req.app.developer_id, "an unknown developer"),
            "account": account,
            "show_username": _shows_username(account),
            "shops": shops,
            "selected_shop": req.shop_id,
            "scopes": [(s.value, DESCRIPTIONS[s]) for s in Scope if s in req.scopes],
            "params": params,
            "csrf_token": session.csrf_token,
            "replaceable": replaceable,
        },
        headers=_headers(req.redirect_uri),
    )


@router.post("/oauth/authorize", response_class=HTMLResponse)
async def authorize_decision(
    request: Request,
    uow: UoW,
    container: ContainerDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    shop_id: Annotated[str | None, Form(max_length=40)] = None,
    session_token: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Response:
    issuer = container.oauth.issuer
    form = await request.form()
    values: dict[str, str | None] = {}
    for key in PARAMS:
        raw = form.getlist(key)
        if len(raw) > 1 or any(not isinstance(v, str) for v in raw):
            return _error_page(request, "A parameter is repeated or malformed.")
        values[key] = str(raw[0]) if raw and raw[0] != "" else None
    try:
        req = await _validate(uow, values)
    except AuthorizePageError as e:
        return _error_page(request, e.detail, untrusted=True)
    except oauth.RedirectError as e:
        return _error_redirect(e, issuer, 303)

    found = await _session(uow, session_token)
    if found is None:
        return _error_page(request, "Your session has ended; start the authorization again.", 401)
    account, session = found
    if not csrf_token or not hmac.compare_digest(csrf_token, session.csrf_token):
        return _error_page(request, "The form expired; start the authorization again.", 403)
    if decision == "deny":
        return _error_redirect(oauth.deny(req), issuer, 303)
    if decision != "approve" or not shop_id:
        return _error_page(request, "Choose a shop, then Approve or Deny.")
    # "shop:app" pairs: an app is revoked only on the shop the merchant approved for.
    replace = [
        v.partition(":")[2]
        for v in form.getlist("replace")
        if isinstance(v, str) and v.partition(":")[0] == shop_id
    ]
    try:
        actor = _actor(request, account)
        code = await oauth.approve(uow, actor, req, shop_id, container.oauth)
        for app_id in replace[:20]:
            if app_id != req.app.id and await uow.grants.get_active(app_id, shop_id):
                await grants.revoke_grant(uow, actor, shop_id, app_id)
    except AuthorizePageError as e:
        return _error_page(request, e.detail, 403)
    except DomainError as e:
        return _error_page(request, e.detail, e.status if e.status < 500 else 400)
    return _redirect(req.redirect_uri, {"code": code, "state": req.state}, issuer, 303)
