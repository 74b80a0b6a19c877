"""A buyer's login on the storefront: a token *family* per password login, the refresh tokens
rotated within it, and the claims of the short-lived access tokens it mints.

Every access token names its family and every request checks that the family is live, so
revoking the family (logout, a reused refresh token) ends the refresh token and every access
token minted from it at once, not when they expire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.clock import utcnow
from app.domain.ids import new_id


@dataclass(eq=False)
class BuyerTokenFamily:
    account_id: str
    user_agent: str | None = None
    id: str = field(default_factory=lambda: new_id("btf"))
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


@dataclass(eq=False)
class BuyerRefreshToken:
    """One refresh token of a family; only its hash is stored. Single use: `rotated_at` is
    set when it is exchanged, and presenting it again revokes the family."""

    token_hash: str
    family_id: str
    expires_at: datetime
    id: str = field(default_factory=lambda: new_id("brt"))
    created_at: datetime = field(default_factory=utcnow)
    rotated_at: datetime | None = None


@dataclass(frozen=True)
class BuyerClaims:
    """What a verified buyer access token says."""

    account_id: str
    family_id: str
    jti: str
    issued_at: int
    expires_at: int
