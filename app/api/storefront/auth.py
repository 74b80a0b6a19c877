"""Buyer authentication on the storefront: `Authorization: Bearer <access token>` from
`POST /v1/storefront/token`.

`BuyerAuth` is the typed alias every buyer operation (addresses; carts and orders later) takes:
the check, in order, is the JWT's signature, expiry, issuer and the storefront's audience (a
provider's token fails here, as a buyer's fails on the open API), then the live state of the
login's token family, so a logout or a reused refresh token ends the access token at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.types import Scope as AsgiScope

from app.api.deps import checked_once, keep_checked, request_uow
from app.api.idempotency import Deferred
from app.container import Container, live_buyer_family
from app.domain.authz.errors import InvalidToken
from app.domain.buyers import services as buyers
from app.domain.buyers.model import BuyerClaims
from app.domain.errors import DomainError

BUYER_SCHEME = "buyerBearer"
REALM = "minishop-storefront"

#: What every buyer operation may answer before its own code runs.
BUYER_ERRORS = (InvalidToken,)


@dataclass(frozen=True)
class BuyerAccess:
    """The caller of a buyer operation: a buyer's account, through one login."""

    account_id: str
    family_id: str


# One authentication per request: a keyed request's token is checked by the idempotency
# middleware first (`verified_buyer`), and `BuyerBearer` then takes that outcome.
VERIFIED_BUYER_KEY = "minishop.verified_buyer"


async def _claims_of(scope: AsgiScope, token: str) -> BuyerClaims:
    container: Container = scope["app"].state.container
    uow = await request_uow(scope)
    return await checked_once(
        scope,
        VERIFIED_BUYER_KEY,
        token,
        lambda: buyers.authenticate(uow, container.buyer_tokens, token),
    )


async def verified_buyer(scope: AsgiScope, token: str) -> tuple[str, Deferred | None] | None:
    """The account of a good buyer access token, else None (for the idempotency middleware:
    a buyer's keys are the account's). Where the driver claims keys (PostgreSQL), the login's
    live state is left to the key's claim, which holds only under it in its own statement
    (one round trip less); the rest of the check is made here, and the route takes the whole
    as made once the claim confirms it."""
    uow = await request_uow(scope)
    try:
        if uow.driver is None:
            return (await _claims_of(scope, token)).account_id, None
        container: Container = scope["app"].state.container
        claims = buyers.signed_claims(container.buyer_tokens, token)
    except DomainError as e:
        keep_checked(scope, VERIFIED_BUYER_KEY, token, e)  # the route refuses it, unchecked
        return None

    def confirmed() -> None:
        keep_checked(scope, VERIFIED_BUYER_KEY, token, claims)

    live = live_buyer_family(claims.family_id, claims.account_id)
    return claims.account_id, Deferred(live, confirmed)


def challenge(description: str) -> str:
    description = description.replace('"', "'")
    return f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"'


class BuyerBearer(HTTPBearer):
    """The buyer's bearer token, checked: one dependency (the security scheme itself), so a
    buyer operation pays for one resolution, not one for the scheme and one for the check."""

    async def __call__(self, request: Request) -> BuyerAccess:  # type: ignore[override]
        try:
            credentials = await super().__call__(request)
            if credentials is None or not credentials.credentials.strip():
                raise InvalidToken(
                    "Send a buyer access token: `Authorization: Bearer <token>` from "
                    "POST /v1/storefront/token."
                )
            claims = await _claims_of(request.scope, credentials.credentials.strip())
        except InvalidToken as e:
            e.headers["WWW-Authenticate"] = challenge(e.detail)
            raise
        return BuyerAccess(account_id=claims.account_id, family_id=claims.family_id)


buyer_bearer = BuyerBearer(
    bearerFormat="JWT",
    scheme_name=BUYER_SCHEME,
    description="A buyer's access token from `POST /v1/storefront/token` (the password grant; "
    "renewed with the refresh token). Short-lived; not a provider's token.",
    auto_error=False,
)

#: A logged-in buyer.
BuyerAuth = Annotated[BuyerAccess, Depends(buyer_bearer)]
