"""The authorization server's back channel: token (RFC 6749 §3.2), introspection (RFC 7662),
revocation (RFC 7009), metadata (RFC 8414) and the signing keys (JWKS).

These endpoints speak OAuth, not problem+json: errors are `{"error", "error_description"}`
(RFC 6749 §5.2) and every response is `Cache-Control: no-store`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep, UoW, commit_apart
from app.api.oauth.schemas import OAUTH_ERRORS, IntrospectionBody, TokenBody
from app.api.routing import AutoCommitRoute
from app.container import Container, SqlUnitOfWork
from app.domain.authz import oauth
from app.domain.authz.errors import InvalidClient, InvalidRequest, OAuthError, UnsupportedGrantType
from app.domain.authz.model import App
from app.domain.authz.ports import AuthzUnitOfWork
from app.domain.authz.scopes import Scope

router = APIRouter(route_class=AutoCommitRoute, tags=["OAuth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"


def oauth_error(e: OAuthError, *, basic_attempted: bool = False) -> JSONResponse:
    headers = dict(NO_STORE)
    if isinstance(e, InvalidClient):
        # RFC 6749 §5.2: 401 with a challenge for the scheme the client used.
        headers["WWW-Authenticate"] = 'Basic realm="minishop"'
    return JSONResponse(
        {"error": e.error, "error_description": e.detail},
        status_code=401 if isinstance(e, InvalidClient) else 400,
        headers=headers,
    )


async def _form(request: Request) -> dict[str, str]:
    """The form parameters, refusing repeats (RFC 6749 §3.2: no parameter more than once)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != FORM:
        raise InvalidRequest(f"Send the parameters as {FORM}.")
    form = await request.form()
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise InvalidRequest("File uploads are not accepted here.")
        if key in out:
            raise InvalidRequest(f"The parameter {key} was sent more than once.")
        if "\x00" in value:
            raise InvalidRequest(f"The parameter {key} contains a NUL character.")
        if value != "":
            out[key] = value
    return out


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("Use HTTP Basic or client_secret_post for client authentication.")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
        client_id, sep, secret = decoded.partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise InvalidClient("Malformed Basic credentials.") from e
    if not sep:
        raise InvalidClient("Malformed Basic credentials.")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


async def _client(request: Request, form: dict[str, str], uow: SqlUnitOfWork) -> App:
    """client_secret_basic or client_secret_post — exactly one of them."""
    basic = _basic_credentials(request)
    posted = "client_secret" in form
    if basic and posted:
        raise InvalidRequest("Use one client authentication method, not two.")
    if basic:
        client_id, secret = basic
        if "client_id" in form and form["client_id"] != client_id:
            raise InvalidRequest("client_id does not match the Basic credentials.")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    return await oauth.authenticate_client(uow, client_id, secret)


def _token_body(result: oauth.TokenResponse) -> dict[str, Any]:
    return {
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_in": result.expires_in,
        "refresh_token": result.refresh_token,
        "scope": result.scope,
        "shop_id": result.shop_id,
        "grant_id": result.grant_id,
    }


_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "grant_type": {
                            "type": "string",
                            "enum": ["authorization_code", "refresh_token"],
                            "description": "The grant being exchanged.",
                            "examples": ["authorization_code"],
                        },
                        "code": {
                            "type": "string",
                            "description": "The authorization code.",
                            "examples": ["msac_Vb2yZ0k..."],
                        },
                        "redirect_uri": {
                            "type": "string",
                            "description": "The redirect URI of the request.",
                            "examples": ["https://erp.example.com/oauth/callback"],
                        },
                        "code_verifier": {
                            "type": "string",
                            "description": "The PKCE verifier (43-128 chars).",
                            "examples": ["dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"],
                        },
                        "refresh_token": {
                            "type": "string",
                            "description": "For grant_type=refresh_token.",
                            "examples": ["msr_3kT..."],
                        },
                        "scope": {
                            "type": "string",
                            "description": "Narrower scopes on refresh (optional).",
                            "examples": ["shop:read"],
                        },
                        "client_id": {
                            "type": "string",
                            "description": "With client_secret_post.",
                            "examples": ["msc_4f1c9a7e2b6d8f0a1c3e"],
                        },
                        "client_secret": {
                            "type": "string",
                            "description": "With client_secret_post.",
                            "examples": ["mss_..."],
                        },
                    },
                    "required": ["grant_type"],
                }
            }
        },
    }
}


_CLIENT_PROPS = {
    k: v
    for k, v in _FORM_DOC["requestBody"]["content"][FORM]["schema"]["properties"].items()  # type: ignore[index]
    if k in ("client_id", "client_secret")
}
_TOKEN_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "token": {
                            "type": "string",
                            "description": "An access or refresh token.",
                            "examples": ["msr_3kT..."],
                        },
                        "token_type_hint": {
                            "type": "string",
                            "enum": ["access_token", "refresh_token"],
                            "description": "What the token is (optional).",
                            "examples": ["refresh_token"],
                        },
                        **_CLIENT_PROPS,
                    },
                    "required": ["token"],
                }
            }
        },
    }
}


@router.post(
    "/oauth/token",
    operation_id="oauthToken",
    summary="Token endpoint",
    description="Form-encoded. `authorization_code` (with `code`, `redirect_uri`, "
    "`code_verifier`) or `refresh_token` (rotated on every use; a reused one revokes its "
    "family). Client authentication by `client_secret_basic` or `client_secret_post`. Errors "
    "as RFC 6749 §5.2.",
    openapi_extra=_FORM_DOC,
    responses={200: {"model": TokenBody, "description": "A token pair"}, **OAUTH_ERRORS},
)
async def token(request: Request, uow: UoW, container: ContainerDep) -> JSONResponse:
    try:
        form = await _form(request)
        app = await _client(request, form, uow)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            result = await oauth.exchange_code(
                uow,
                container.tokens,
                container.oauth,
                app,
                code=form.get("code"),
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
            )
        elif grant_type == "refresh_token":
            result = await oauth.refresh(
                uow,
                container.tokens,
                container.oauth,
                app,
                refresh_token=form.get("refresh_token"),
                scope=form.get("scope"),
            )
        elif grant_type is None:
            raise InvalidRequest("grant_type is required.")
        else:
            raise UnsupportedGrantType(f"grant_type {grant_type} is not supported.")
    except OAuthError as e:
        aftermath = e.aftermath
        if aftermath is not None:
            # The one failure that must persist (a spent code, a family revoked for a replay):
            # committed explicitly in a unit of work of its own, while this request's
            # transaction rolls back like any error's.
            async def record(own: AuthzUnitOfWork) -> None:
                await oauth.record_aftermath(own, aftermath)

            await commit_apart(request, record)
        return oauth_error(e)
    return JSONResponse(_token_body(result), headers=NO_STORE)


@router.post(
    "/oauth/introspect",
    operation_id="oauthIntrospect",
    summary="Token introspection (RFC 7662)",
    openapi_extra=_TOKEN_FORM_DOC,
    description="Client-authenticated. An inactive, unknown or other client's token gives "
    'only `{"active": false}`.',
    responses={200: {"model": IntrospectionBody, "description": "Token state"}, **OAUTH_ERRORS},
)
async def introspect(request: Request, uow: UoW, container: ContainerDep) -> JSONResponse:
    try:
        form = await _form(request)
        app = await _client(request, form, uow)
        body = await oauth.introspect(
            uow, container.tokens, container.oauth, app, form.get("token")
        )
    except OAuthError as e:
        return oauth_error(e)
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    "/oauth/revoke",
    operation_id="oauthRevoke",
    summary="Token revocation (RFC 7009)",
    openapi_extra=_TOKEN_FORM_DOC,
    description="Client-authenticated. Revoking a refresh token revokes every access token "
    "minted from its family (and the reverse). 200 even for an unknown token.",
    responses={200: {"description": "Revoked, or nothing to revoke"}, **OAUTH_ERRORS},
)
async def revoke(request: Request, uow: UoW, container: ContainerDep) -> JSONResponse:
    try:
        form = await _form(request)
        app = await _client(request, form, uow)
        await oauth.revoke_token(uow, container.tokens, app, form.get("token"))
    except OAuthError as e:
        return oauth_error(e)
    return JSONResponse({}, headers=NO_STORE)


def metadata(container: Container) -> dict[str, Any]:
    issuer = container.oauth.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "scopes_supported": [s.value for s in Scope],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{issuer}/docs",
    }


@router.get(
    "/.well-known/oauth-authorization-server",
    operation_id="oauthMetadata",
    summary="Authorization server metadata (RFC 8414)",
)
async def server_metadata(container: ContainerDep) -> JSONResponse:
    return JSONResponse(metadata(container), headers={"Cache-Control": "public, max-age=3600"})


@router.get(
    "/.well-known/jwks.json",
    operation_id="getJwks",
    summary="Public keys that verify access tokens",
)
async def jwks(container: ContainerDep) -> JSONResponse:
    return JSONResponse(container.tokens.jwks(), headers={"Cache-Control": "public, max-age=600"})
