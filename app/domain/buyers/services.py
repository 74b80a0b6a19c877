"""Use cases of the storefront's token endpoint, shaped like an OAuth 2.0 token endpoint for
the platform's own first-party client (the merchant's mini program): the resource owner's
password grant and the refresh grant (RFC 6749 §4.3, §6), rotation with reuse detection
(RFC 9700 §4.14.2), revocation (RFC 7009 semantics), and the check of an access token.

Access tokens are ES256 JWTs with the storefront's own audience: a provider's token (the open
API's audience) is never a buyer's, nor the reverse. Each names its family, whose live state
is read on every request, so a revoked family ends its access tokens at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.domain.accounts.errors import InvalidCredentials
from app.domain.accounts.services import LoginLimits, check_login
from app.domain.authz.errors import InvalidToken
from app.domain.authz.oauth import AccessTokenCodec
from app.domain.authz.tokens import hash_secret, new_secret
from app.domain.buyers.errors import BuyerGrantInvalid
from app.domain.buyers.model import BuyerClaims, BuyerRefreshToken, BuyerTokenFamily
from app.domain.buyers.ports import BuyersUnitOfWork
from app.domain.clock import utcnow
from app.domain.errors import DomainError
from app.domain.ids import new_id
from app.domain.ports import PasswordHasher, Throttle

#: Buyer refresh tokens: greppable, and told apart from a provider's (`msr_`) at a glance.
BUYER_REFRESH_PREFIX = "msbr_"
#: The `token_use` claim of a buyer access token.
TOKEN_USE = "buyer_access"


@dataclass(frozen=True)
class BuyerTokenConfig:
    issuer: str
    audience: str
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class BuyerTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    account_id: str


def _issue(
    uow: BuyersUnitOfWork, codec: AccessTokenCodec, cfg: BuyerTokenConfig, family: BuyerTokenFamily
) -> BuyerTokens:
    now = utcnow()
    refresh = new_secret(BUYER_REFRESH_PREFIX)
    uow.buyer_tokens.add_refresh(
        BuyerRefreshToken(
            token_hash=hash_secret(refresh),
            family_id=family.id,
            expires_at=now + cfg.refresh_ttl,
        )
    )
    iat = int(now.timestamp())
    ttl = int(cfg.access_ttl.total_seconds())
    access = codec.encode(
        {
            "iss": cfg.issuer,
            "aud": cfg.audience,
            "sub": family.account_id,
            "fam": family.id,
            "token_use": TOKEN_USE,
            "jti": new_id("bat"),
            "iat": iat,
            "exp": iat + ttl,
        }
    )
    return BuyerTokens(
        access_token=access, expires_in=ttl, refresh_token=refresh, account_id=family.account_id
    )


async def password_grant(
    uow: BuyersUnitOfWork,
    hasher: PasswordHasher,
    throttle: Throttle,
    limits: LoginLimits,
    codec: AccessTokenCodec,
    cfg: BuyerTokenConfig,
    *,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
) -> BuyerTokens:
    """A new family for the account: throttled and checked exactly as the merchant login is
    (the same counters, per account and per address)."""
    try:
        account = await check_login(
            uow, hasher, throttle, limits, username=username, password=password, ip=ip
        )
    except InvalidCredentials as e:
        raise BuyerGrantInvalid("Wrong username or password.") from e
    family = BuyerTokenFamily(account_id=account.id, user_agent=(user_agent or "")[:255] or None)
    uow.buyer_tokens.add_family(family)
    await uow.flush()  # the refresh token refers to it; no relationship orders the inserts
    tokens = _issue(uow, codec, cfg, family)
    await uow.flush()
    return tokens


async def refresh_grant(
    uow: BuyersUnitOfWork, codec: AccessTokenCodec, cfg: BuyerTokenConfig, *, refresh_token: str
) -> BuyerTokens:
    """Exchange a refresh token for a new pair. The token is spent by the exchange; presented
    again, it revokes its family (`BuyerGrantInvalid.revoked_family_id`, to be committed
    apart: this request's transaction rolls back)."""
    stored = await uow.buyer_tokens.get_refresh(hash_secret(refresh_token))
    if stored is None:
        raise BuyerGrantInvalid("The refresh token is not valid.")
    family = await uow.buyer_tokens.get_family(stored.family_id)
    if family is None or not family.live:
        raise BuyerGrantInvalid("The refresh token has been revoked; log in again.")
    now = utcnow()
    if not await uow.buyer_tokens.rotate_refresh(stored.id, now):
        raise BuyerGrantInvalid(
            "The refresh token was already used; every token of this login is revoked. "
            "Log in again.",
            revoked_family_id=family.id,
        )
    if stored.expires_at <= now:
        raise BuyerGrantInvalid("The refresh token has expired; log in again.")
    tokens = _issue(uow, codec, cfg, family)
    await uow.flush()
    return tokens


REUSE_REASON = "refresh token reused"


async def record_reuse(uow: BuyersUnitOfWork, family_id: str) -> None:
    """What a reused refresh token leaves behind although its request rolls back."""
    await uow.buyer_tokens.revoke_family(family_id, REUSE_REASON)


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


async def revoke(uow: BuyersUnitOfWork, codec: AccessTokenCodec, token: str) -> None:
    """RFC 7009 semantics: either token of a login (the refresh token, or an access token
    minted in it) revokes the whole family; an unknown, expired or foreign token is no error
    (the caller learns nothing about it)."""
    family_id: str | None = None
    if _looks_like_jwt(token):
        try:
            family_id = claims_of(codec.decode(token)).family_id
        except DomainError:
            family_id = None
    else:
        stored = await uow.buyer_tokens.get_refresh(hash_secret(token))
        family_id = stored.family_id if stored is not None else None
    if family_id is not None:
        await uow.buyer_tokens.revoke_family(family_id, "revoked by the buyer (logout)")
        await uow.flush()


def claims_of(payload: dict[str, Any]) -> BuyerClaims:
    if payload.get("token_use") != TOKEN_USE:
        raise InvalidToken("This is not a buyer access token.")
    try:
        return BuyerClaims(
            account_id=str(payload["sub"]),
            family_id=str(payload["fam"]),
            jti=str(payload["jti"]),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidToken("The access token is malformed.") from e


def signed_claims(codec: AccessTokenCodec, token: str) -> BuyerClaims:
    """What a buyer access token says, once its signature, expiry, issuer and the storefront
    audience hold: `authenticate` without the family's live state (which the caller then
    checks otherwise, `live_buyer_family`)."""
    return claims_of(codec.decode(token))


async def authenticate(uow: BuyersUnitOfWork, codec: AccessTokenCodec, token: str) -> BuyerClaims:
    """Signature, expiry, issuer and the storefront audience, then the family's live state."""
    claims = signed_claims(codec, token)
    if await uow.buyer_tokens.family_owner(claims.family_id) != claims.account_id:
        raise InvalidToken("The access token has been revoked; log in again.")
    return claims
