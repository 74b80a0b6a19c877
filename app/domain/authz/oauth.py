"""The authorization server's use cases: RFC 6749 code flow with RFC 7636 PKCE (S256 only),
refresh-token rotation with reuse detection (RFC 9700 §4.14), RFC 7662 introspection and
RFC 7009 revocation.

Token-endpoint failures may have effects that must persist although the request's transaction
rolls back (a replayed code revokes its family): the `OAuthError` carries them as its
`aftermath`, which the caller records with `record_aftermath` in a unit of work of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.domain.audit.model import Actor, AuditEntry
from app.domain.authz.errors import (
    AccessDenied,
    Aftermath,
    AuthorizePageError,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScopeError,
    InvalidToken,
    OAuthError,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from app.domain.authz.model import (
    AccessClaims,
    App,
    AppStatus,
    AuthorizationCode,
    Grant,
    RefreshToken,
    TokenFamily,
    TokenState,
)
from app.domain.authz.ports import AuthzUnitOfWork
from app.domain.authz.scopes import InvalidScope, Scope, parse_scopes, scope_string
from app.domain.authz.tokens import (
    CODE_PREFIX,
    REFRESH_PREFIX,
    hash_secret,
    new_secret,
    pkce_matches,
    secret_matches,
    valid_challenge,
)
from app.domain.clock import utcnow
from app.domain.errors import DomainError
from app.domain.events.catalog import GrantEventData
from app.domain.events.model import Event
from app.domain.ids import new_id
from app.domain.shops.errors import ShopSuspended
from app.domain.shops.permissions import Permission
from app.domain.shops.services import access


class AccessTokenCodec(Protocol):
    """Signs and verifies access tokens (JWTs); `decode` raises `InvalidToken` on any flaw."""

    def encode(self, claims: dict[str, Any]) -> str: ...
    def decode(self, token: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class OAuthConfig:
    issuer: str
    audience: str
    access_ttl: timedelta = timedelta(hours=2)
    refresh_ttl: timedelta = timedelta(days=30)
    code_ttl: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class RedirectError(Exception):
    """An error the client learns through its redirect URI (RFC 6749 §4.1.2.1)."""

    error: OAuthError
    redirect_uri: str
    state: str | None


@dataclass(frozen=True)
class AuthorizationRequest:
    app: App
    redirect_uri: str
    scopes: frozenset[Scope]
    state: str | None
    code_challenge: str
    shop_id: str | None


async def validate_authorization_request(
    uow: AuthzUnitOfWork,
    *,
    client_id: str | None,
    redirect_uri: str | None,
    response_type: str | None,
    scope: str | None,
    state: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
    shop_id: str | None,
) -> AuthorizationRequest:
    app = await uow.apps.get_by_client_id(client_id) if client_id else None
    if app is None:
        raise AuthorizePageError("The client_id does not name a registered app.")
    if not redirect_uri or redirect_uri not in app.redirect_uris:
        raise AuthorizePageError(
            "The redirect_uri is not one the app registered (exact match required)."
        )

    def fail(error: OAuthError) -> RedirectError:
        return RedirectError(error, redirect_uri, state)

    if app.status is AppStatus.SUSPENDED:
        raise fail(UnauthorizedClient("The app is suspended."))
    if response_type != "code":
        raise fail(UnsupportedResponseType("Only response_type=code is supported."))
    if not code_challenge:
        raise fail(InvalidRequest("PKCE is required: send code_challenge (S256)."))
    if code_challenge_method != "S256":
        raise fail(InvalidRequest("code_challenge_method must be S256."))
    if not valid_challenge(code_challenge):
        raise fail(InvalidRequest("code_challenge must be 43 base64url characters."))
    try:
        scopes = parse_scopes(scope)
    except InvalidScope as e:
        raise fail(InvalidScopeError(str(e))) from e
    if not scopes:
        scopes = app.requested_scopes
    if not scopes <= app.requested_scopes:
        extra = scope_string(scopes - app.requested_scopes)
        raise fail(InvalidScopeError(f"The app did not register these scopes: {extra}."))
    return AuthorizationRequest(
        app=app,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=code_challenge,
        shop_id=shop_id,
    )


def grant_event(kind: str, grant: Grant, app: App) -> Event:
    data = GrantEventData(
        shop_id=grant.shop_id,
        grant_id=grant.id,
        app_id=app.id,
        client_id=app.client_id,
        scopes=list(grant.scopes),
        revoked_at=grant.revoked_at,
    )
    return Event(kind, data, app_id=app.id, resource_id=grant.id)


async def approve(
    uow: AuthzUnitOfWork,
    actor: Actor,
    req: AuthorizationRequest,
    shop_id: str,
    cfg: OAuthConfig,
) -> str:
    """The merchant approves: create or widen the grant, issue a single-use code."""
    acc = await access(uow, actor.id, shop_id, Permission.APPS_AUTHORIZE)
    acc.shop.ensure_active()
    app = req.app
    if app.status is AppStatus.DRAFT and app.developer_id != actor.id:
        raise AuthorizePageError("The app is not published yet.")
    grant = await uow.grants.get_active(app.id, shop_id, lock=True)
    changed = True
    before: dict[str, Any] | None = None
    if grant is None:
        grant = Grant(
            app_id=app.id,
            shop_id=shop_id,
            scopes=scope_string(req.scopes).split(" "),
            granted_by=actor.id,
        )
        uow.grants.add(grant)
        await uow.flush()  # the code refers to it; no relationship orders the inserts
    else:
        before = {"scopes": list(grant.scopes)}
        changed = grant.widen(req.scopes, actor.id)
    if changed:
        uow.audit.add(
            AuditEntry.record(
                actor,
                "app.authorized",
                target_type="grant",
                target_id=grant.id,
                shop_id=shop_id,
                before=before,
                after={"app_id": app.id, "scopes": list(grant.scopes)},
            )
        )
        await uow.outbox.add(grant_event("app.authorized", grant, app))
    code = new_secret(CODE_PREFIX)
    uow.oauth.add_code(
        AuthorizationCode(
            code_hash=hash_secret(code),
            app_id=app.id,
            shop_id=shop_id,
            grant_id=grant.id,
            account_id=actor.id,
            redirect_uri=req.redirect_uri,
            scopes=scope_string(req.scopes).split(" "),
            code_challenge=req.code_challenge,
            expires_at=utcnow() + cfg.code_ttl,
        )
    )
    await uow.flush()
    return code


def deny(req: AuthorizationRequest) -> RedirectError:
    return RedirectError(
        AccessDenied("The merchant denied the request."), req.redirect_uri, req.state
    )


async def authenticate_client(
    uow: AuthzUnitOfWork, client_id: str | None, client_secret: str | None
) -> App:
    """client_secret_basic / client_secret_post: the current secret, or the previous one
    while its grace period lasts."""
    if not client_id or not client_secret:
        raise InvalidClient("Client authentication failed.")
    app = await uow.apps.get_by_client_id(client_id)
    if app is None or not secret_matches(client_secret, app.secret_hashes(utcnow())):
        raise InvalidClient("Client authentication failed.")
    if app.status is AppStatus.SUSPENDED:
        raise UnauthorizedClient("The app is suspended.")
    return app


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    expires_in: int
    refresh_token: str
    scope: str
    shop_id: str
    grant_id: str


def _issue(
    uow: AuthzUnitOfWork,
    codec: AccessTokenCodec,
    cfg: OAuthConfig,
    app: App,
    family: TokenFamily,
    scopes: list[str],
) -> TokenResponse:
    now = utcnow()
    refresh = new_secret(REFRESH_PREFIX)
    uow.oauth.add_refresh(
        RefreshToken(
            token_hash=hash_secret(refresh),
            family_id=family.id,
            app_id=app.id,
            expires_at=now + cfg.refresh_ttl,
        )
    )
    iat = int(now.timestamp())
    ttl = int(cfg.access_ttl.total_seconds())
    scope = " ".join(scopes)
    access_token = codec.encode(
        {
            "iss": cfg.issuer,
            "aud": cfg.audience,
            "sub": app.id,
            "client_id": app.client_id,
            "shop_id": family.shop_id,
            "scope": scope,
            "grant_id": family.grant_id,
            "fam": family.id,
            "jti": new_id("at"),
            "iat": iat,
            "exp": iat + ttl,
        }
    )
    return TokenResponse(
        access_token=access_token,
        expires_in=ttl,
        refresh_token=refresh,
        scope=scope,
        shop_id=family.shop_id,
        grant_id=family.grant_id,
    )


async def _usable_grant(uow: AuthzUnitOfWork, grant_id: str, app: App) -> Grant:
    grant = await uow.grants.get(grant_id)
    if grant is None or not grant.active or grant.app_id != app.id:
        raise InvalidGrant("The authorization has been revoked.")
    return grant


async def exchange_code(
    uow: AuthzUnitOfWork,
    codec: AccessTokenCodec,
    cfg: OAuthConfig,
    app: App,
    *,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> TokenResponse:
    if not code:
        raise InvalidRequest("The code parameter is required.")
    stored = await uow.oauth.get_code(hash_secret(code))
    if stored is None or stored.app_id != app.id:
        raise InvalidGrant("The authorization code is not valid.")
    now = utcnow()
    if not await uow.oauth.mark_code_used(stored.code_hash, now):
        # RFC 6749 §4.1.2: a code used twice revokes every token issued from it.
        raise InvalidGrant(
            "The authorization code was already used; its tokens are revoked."
        ).leaving(
            Aftermath(revoked_family_id=stored.family_id, reason="authorization code replayed")
        )
    try:
        if stored.expires_at <= now:
            raise InvalidGrant("The authorization code has expired.")
        if redirect_uri != stored.redirect_uri:
            raise InvalidGrant("redirect_uri does not match the authorization request.")
        if not code_verifier:
            raise InvalidGrant("code_verifier is required (PKCE).")
        if not pkce_matches(code_verifier, stored.code_challenge):
            raise InvalidGrant("code_verifier does not match the code_challenge.")
        grant = await _usable_grant(uow, stored.grant_id, app)
    except OAuthError as e:
        # Presented by its own client, the code is spent even by a refused exchange.
        raise e.leaving(Aftermath(spent_code_hash=stored.code_hash)) from None
    family = TokenFamily(
        id=stored.family_id,
        app_id=app.id,
        shop_id=grant.shop_id,
        grant_id=grant.id,
        scopes=list(stored.scopes),
    )
    uow.oauth.add_family(family)
    await uow.flush()
    result = _issue(uow, codec, cfg, app, family, family.scopes)
    await uow.flush()
    return result


async def refresh(
    uow: AuthzUnitOfWork,
    codec: AccessTokenCodec,
    cfg: OAuthConfig,
    app: App,
    *,
    refresh_token: str | None,
    scope: str | None,
) -> TokenResponse:
    if not refresh_token:
        raise InvalidRequest("The refresh_token parameter is required.")
    stored = await uow.oauth.get_refresh(hash_secret(refresh_token))
    if stored is None or stored.app_id != app.id:
        raise InvalidGrant("The refresh token is not valid.")
    family = await uow.oauth.get_family(stored.family_id)
    if family is None or family.revoked_at is not None:
        raise InvalidGrant("The refresh token has been revoked.")
    now = utcnow()
    if not await uow.oauth.rotate_refresh(stored.id, now):
        # RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the whole family.
        raise InvalidGrant(
            "The refresh token was already used; the token family is revoked."
        ).leaving(Aftermath(revoked_family_id=family.id, reason="refresh token reused"))
    if stored.expires_at <= now:
        raise InvalidGrant("The refresh token has expired.")
    await _usable_grant(uow, family.grant_id, app)
    scopes = list(family.scopes)
    if scope:
        try:
            wanted = parse_scopes(scope)
        except InvalidScope as e:
            raise InvalidScopeError(str(e)) from e
        if not wanted <= frozenset(Scope(s) for s in family.scopes):
            raise InvalidScopeError("A refresh may narrow the scopes, never widen them.")
        scopes = scope_string(wanted).split(" ")
    result = _issue(uow, codec, cfg, app, family, scopes)
    await uow.flush()
    return result


def claims_of(payload: dict[str, Any]) -> AccessClaims:
    try:
        return AccessClaims(
            app_id=str(payload["sub"]),
            client_id=str(payload["client_id"]),
            shop_id=str(payload["shop_id"]),
            grant_id=str(payload["grant_id"]),
            family_id=str(payload["fam"]),
            scopes=parse_scopes(str(payload["scope"])),
            jti=str(payload["jti"]),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidToken("The access token is malformed.") from e


async def live_access_claims(
    uow: AuthzUnitOfWork, codec: AccessTokenCodec, token: str
) -> tuple[AccessClaims, Any]:
    """Signature, expiry, issuer and audience, then the live state: family, grant and app."""
    claims = claims_of(codec.decode(token))
    state = await uow.token_reads.token_state(claims.family_id)
    if state is None or state.family_revoked or state.grant_revoked:
        raise InvalidToken("The access token has been revoked.")
    if state.app_status is AppStatus.SUSPENDED:
        raise InvalidToken("The app is suspended.")
    if not state.vouches_for(claims):
        raise InvalidToken("The access token does not match its grant.")
    return claims, state


def ensure_shop_writable(claims: AccessClaims, state: TokenState) -> None:
    """A suspended shop is read-only to its apps: every provider write stops here, whatever
    it would change (stock, listing, deletion included), so no write path can forget it."""
    if state.shop_suspended:
        raise ShopSuspended(
            f"Shop {claims.shop_id} is suspended: {state.shop_suspension_reason}",
            extra={"shop_id": claims.shop_id},
        )


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


async def introspect(
    uow: AuthzUnitOfWork, codec: AccessTokenCodec, cfg: OAuthConfig, app: App, token: str | None
) -> dict[str, Any]:
    """RFC 7662: an inactive, unknown or foreign token is only `{"active": false}`."""
    inactive: dict[str, Any] = {"active": False}
    if not token:
        return inactive
    if _looks_like_jwt(token):
        try:
            claims, _ = await live_access_claims(uow, codec, token)
        except DomainError:
            return inactive
        if claims.app_id != app.id:
            return inactive
        return {
            "active": True,
            "token_type": "Bearer",
            "scope": scope_string(claims.scopes),
            "client_id": claims.client_id,
            "sub": claims.app_id,
            "shop_id": claims.shop_id,
            "grant_id": claims.grant_id,
            "jti": claims.jti,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
            "iss": cfg.issuer,
            "aud": cfg.audience,
        }
    stored = await uow.oauth.get_refresh(hash_secret(token))
    if stored is None or stored.app_id != app.id or stored.rotated_at is not None:
        return inactive
    if stored.expires_at <= utcnow():
        return inactive
    family = await uow.oauth.get_family(stored.family_id)
    state = await uow.token_reads.token_state(stored.family_id)
    if family is None or state is None or state.family_revoked or state.grant_revoked:
        return inactive
    if state.app_status is AppStatus.SUSPENDED:
        return inactive
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": " ".join(family.scopes),
        "client_id": app.client_id,
        "sub": app.id,
        "shop_id": family.shop_id,
        "grant_id": family.grant_id,
        "iat": int(stored.created_at.timestamp()),
        "exp": int(stored.expires_at.timestamp()),
        "iss": cfg.issuer,
    }


async def revoke_token(
    uow: AuthzUnitOfWork, codec: AccessTokenCodec, app: App, token: str | None
) -> None:
    """RFC 7009: revoking either token of a family revokes the family — the refresh token and
    every access token minted from it. Unknown or foreign tokens are ignored (still 200)."""
    if not token:
        raise InvalidRequest("The token parameter is required.")
    family_id: str | None = None
    if _looks_like_jwt(token):
        try:
            claims = claims_of(codec.decode(token))
        except DomainError:
            claims = None
        if claims is not None and claims.app_id == app.id:
            family_id = claims.family_id
    else:
        stored = await uow.oauth.get_refresh(hash_secret(token))
        if stored is not None and stored.app_id == app.id:
            family_id = stored.family_id
    if family_id is not None:
        await uow.oauth.revoke_family(family_id, "revoked by the client (RFC 7009)")
        await uow.flush()


async def record_aftermath(uow: AuthzUnitOfWork, aftermath: Aftermath) -> None:
    """Writes what a refused token request must leave behind (see `Aftermath`)."""
    if aftermath.spent_code_hash is not None:
        await uow.oauth.mark_code_used(aftermath.spent_code_hash, utcnow())
    if aftermath.revoked_family_id is not None:
        await uow.oauth.revoke_family(aftermath.revoked_family_id, aftermath.reason)


def touch_due(last_used: datetime | None) -> bool:
    """A grant's last use is recorded at most once a minute: a write per call would cost
    every request."""
    return last_used is None or utcnow() - last_used > timedelta(minutes=1)
