"""Provider authentication: a bearer access token bound to one (app, shop), with scopes.

Each provider operation declares its one scope through a typed alias, which the OpenAPI
document shows (`ShopRead = Annotated[ShopAccess, Security(..., scopes=["shop:read"])]`).
The check, in order: signature/expiry/issuer/audience of the JWT, the live state of its
token family, grant, app and shop (one query), the (app, shop) rate limit, the scope, then
for a write that the shop is not suspended (403 `shop_suspended`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response, Security
from fastapi.security import OAuth2AuthorizationCodeBearer, SecurityScopes
from starlette.types import Scope as AsgiScope

from app.api.deps import after_response, checked_once, get_uow, request_uow
from app.api.errors import STATE_HEADERS
from app.container import Container, request_id_var
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.authz import oauth
from app.domain.authz.errors import InsufficientScope, InvalidToken
from app.domain.authz.model import AccessClaims, TokenState
from app.domain.authz.ports import AuthzUnitOfWork
from app.domain.authz.scopes import DESCRIPTIONS, Scope
from app.domain.clock import utcnow
from app.domain.errors import DomainError, TooManyRequests
from app.domain.shops.errors import ShopSuspended

OAUTH_SCHEME = "providerOAuth"
#: Methods that change nothing: the only ones a suspended shop's apps may still call.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REALM = "minishop"

bearer = OAuth2AuthorizationCodeBearer(
    authorizationUrl="/oauth/authorize",
    tokenUrl="/oauth/token",
    refreshUrl="/oauth/token",
    scopes={s.value: DESCRIPTIONS[s] for s in Scope},
    scheme_name=OAUTH_SCHEME,
    description="Per-shop access tokens from the authorization-code flow with PKCE (S256). "
    "In these docs, **Authorize** runs the flow against this server: use the demo app's "
    "`client_id` and `client_secret` from `var/demo.json`.",
    auto_error=False,
)

#: What every provider operation may answer before its own code runs: no or a bad token, a
#: scope the token lacks, the app's rate limit for the shop.
PROVIDER_ERRORS = (InvalidToken, InsufficientScope, TooManyRequests)
#: ... and, for a write, a suspended shop.
PROVIDER_WRITE_ERRORS = (*PROVIDER_ERRORS, ShopSuspended)


@dataclass(frozen=True)
class ShopAccess:
    """The caller of a provider operation: an app acting on one shop under a grant."""

    app_id: str
    client_id: str
    shop_id: str
    grant_id: str
    scopes: frozenset[Scope]

    @property
    def actor(self) -> Actor:
        return Actor(
            type=ActorType.APP,
            id=self.app_id,
            surface=Surface.OPEN_API,
            grant_id=self.grant_id,
            request_id=request_id_var.get(),
        )


# One authentication per request: a keyed request's token is checked by the idempotency
# middleware first (`verified_grant`), and that result is what `provider_access` then uses.
VERIFIED_TOKEN_KEY = "minishop.verified_token"


async def verified_grant(scope: AsgiScope, token: str) -> tuple[str, frozenset[str]] | None:
    """The grant a good access token acts under and the token's scopes, else None; checked
    in the request's unit of work and remembered, against the token, for `provider_access`."""
    try:
        claims, _ = await _claims_of(scope, await request_uow(scope), token)
    except DomainError:
        return None
    return claims.grant_id, frozenset(s.value for s in claims.scopes)


async def _claims_of(
    scope: AsgiScope, uow: AuthzUnitOfWork, token: str
) -> tuple[AccessClaims, TokenState]:
    """The token's claims and live state, checked once per request (`checked_once`)."""
    codec = scope["app"].state.container.tokens
    return await checked_once(
        scope, VERIFIED_TOKEN_KEY, token, lambda: oauth.live_access_claims(uow, codec, token)
    )


def _challenge(error: str, description: str, scope: str | None = None) -> str:
    value = f'Bearer realm="{REALM}", error="{error}", error_description="{description}"'
    return value + (f', scope="{scope}"' if scope else "")


async def provider_access(
    security_scopes: SecurityScopes,
    request: Request,
    response: Response,
    token: Annotated[str | None, Depends(bearer)],
) -> ShopAccess:
    # The request's unit of work and the container without declared sub-dependencies:
    # every provider request resolves this, and each declared one costs a resolution.
    uow = await get_uow(request)
    container: Container = request.app.state.container
    try:
        if not token:
            raise InvalidToken("Send an access token: `Authorization: Bearer <token>`.")
        claims, state = await _claims_of(request.scope, uow, token)
    except InvalidToken as e:
        e.headers["WWW-Authenticate"] = _challenge("invalid_token", e.detail.replace('"', "'"))
        raise

    settings = container.settings
    decision = await container.rate_limiter.hit(
        f"{claims.app_id}:{claims.shop_id}",
        state.rate_limit_burst or settings.rate_limit_burst,
        state.rate_limit_per_second or settings.rate_limit_per_second,
    )
    headers = decision.headers()
    setattr(request.state, STATE_HEADERS, headers)
    if not decision.allowed:
        raise TooManyRequests(
            "The rate limit of this app for this shop is exhausted; retry after "
            f"{headers['Retry-After']} s.",
            headers=headers,
        )
    response.headers.update(headers)

    missing = [s for s in security_scopes.scopes if s not in claims.scopes]
    if missing:
        raise _insufficient(" ".join(security_scopes.scopes), claims.scopes, headers)
    if request.method not in SAFE_METHODS:
        oauth.ensure_shop_writable(claims, state)
    if oauth.touch_due(state.grant_last_used_at):
        # Not in the request's transaction: a read stays a read, and the touch commits on
        # its own once the response is sent (throttled by `touch_due`, so rarely).
        grant_id, now = claims.grant_id, utcnow()

        async def touch(own: AuthzUnitOfWork) -> None:
            await own.grants.touch(grant_id, now)

        after_response(request, touch)
    return ShopAccess(
        app_id=claims.app_id,
        client_id=claims.client_id,
        shop_id=claims.shop_id,
        grant_id=claims.grant_id,
        scopes=claims.scopes,
    )


def _insufficient(
    needed: str, held: Iterable[str], headers: Mapping[str, str]
) -> InsufficientScope:
    return InsufficientScope(
        f"This operation needs the scope {needed}; the token has '{' '.join(sorted(held))}'.",
        extra={"required_scope": needed},
        headers={
            **headers,
            "WWW-Authenticate": _challenge(
                "insufficient_scope", "The token lacks a required scope.", needed
            ),
        },
    )


def require_scope(access: ShopAccess, scope: Scope) -> None:
    """A scope an operation needs for one of its options only (a waybill that also ships
    needs `orders:write`): 403 `insufficient_scope` when the token lacks it."""
    if scope not in access.scopes:
        raise _insufficient(scope.value, access.scopes, {})


def _scoped(scope: Scope) -> object:
    return Security(provider_access, scopes=[scope.value])


ShopRead = Annotated[ShopAccess, _scoped(Scope.SHOP_READ)]
ShopWrite = Annotated[ShopAccess, _scoped(Scope.SHOP_WRITE)]
ProductsRead = Annotated[ShopAccess, _scoped(Scope.PRODUCTS_READ)]
ProductsWrite = Annotated[ShopAccess, _scoped(Scope.PRODUCTS_WRITE)]
OrdersRead = Annotated[ShopAccess, _scoped(Scope.ORDERS_READ)]
OrdersWrite = Annotated[ShopAccess, _scoped(Scope.ORDERS_WRITE)]
LogisticsRead = Annotated[ShopAccess, _scoped(Scope.LOGISTICS_READ)]
LogisticsWrite = Annotated[ShopAccess, _scoped(Scope.LOGISTICS_WRITE)]
AftersalesRead = Annotated[ShopAccess, _scoped(Scope.AFTERSALES_READ)]
AftersalesWrite = Annotated[ShopAccess, _scoped(Scope.AFTERSALES_WRITE)]
MarketingRead = Annotated[ShopAccess, _scoped(Scope.MARKETING_READ)]
MarketingWrite = Annotated[ShopAccess, _scoped(Scope.MARKETING_WRITE)]
FundsRead = Annotated[ShopAccess, _scoped(Scope.FUNDS_READ)]
