"""Provider apps, the merchant's grants to them, and the OAuth artefacts issued from a grant.

A grant is one (app, shop) authorization with its scopes. Each authorization code starts a
token *family*: the refresh tokens rotated from it and the access tokens they mint. Revoking a
family (code replay, refresh-token reuse, RFC 7009 revocation) or the grant ends every token in
it on the next request, since every access token names its family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.authz.scopes import Scope, scope_string
from app.domain.clock import utcnow
from app.domain.errors import InvalidTransition
from app.domain.ids import new_id


class ServiceType(StrEnum):
    """What an app does for a shop: the service market's categories."""

    MIGRATION = "migration"
    BATCH_PRODUCT = "batch_product"
    CROSS_PLATFORM_PRODUCT = "cross_platform_product"
    BATCH_ORDER = "batch_order"
    BATCH_WAYBILL = "batch_waybill"
    LOGISTICS_BINDING = "logistics_binding"
    OTHER = "other"


class AppStatus(StrEnum):
    """draft → published (listed in the market) ⇄ suspended (by the operator)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    SUSPENDED = "suspended"


@dataclass(eq=False)
class App:
    developer_id: str
    name: str
    client_id: str
    secret_hash: str
    description: str = ""
    logo_url: str | None = None
    homepage_url: str | None = None
    install_url: str | None = None
    support_email: str | None = None
    service_types: list[str] = field(default_factory=list)
    redirect_uris: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    status: AppStatus = AppStatus.DRAFT
    previous_secret_hash: str | None = None
    previous_secret_expires_at: datetime | None = None
    secret_rotated_at: datetime | None = None
    rate_limit_burst: int | None = None
    rate_limit_per_second: float | None = None
    published_at: datetime | None = None
    suspended_at: datetime | None = None
    suspension_reason: str | None = None
    id: str = field(default_factory=lambda: new_id("app"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def requested_scopes(self) -> frozenset[Scope]:
        return frozenset(Scope(s) for s in self.scopes)

    @property
    def usable(self) -> bool:
        """Only a published app may be authorized or have its tokens honoured."""
        return self.status is AppStatus.PUBLISHED

    def publish(self) -> None:
        if self.status is not AppStatus.DRAFT:
            raise InvalidTransition("publish the app", self.status)
        self.status = AppStatus.PUBLISHED
        self.published_at = self.updated_at = utcnow()

    def suspend(self, reason: str) -> None:
        if self.status is AppStatus.SUSPENDED:
            raise InvalidTransition("suspend the app", self.status)
        self.status = AppStatus.SUSPENDED
        self.suspended_at = self.updated_at = utcnow()
        self.suspension_reason = reason

    def reinstate(self) -> None:
        if self.status is not AppStatus.SUSPENDED:
            raise InvalidTransition("reinstate the app", self.status)
        self.status = AppStatus.PUBLISHED if self.published_at else AppStatus.DRAFT
        self.suspended_at = self.suspension_reason = None
        self.updated_at = utcnow()

    def rotate_secret(self, new_hash: str, grace: timedelta) -> None:
        now = utcnow()
        self.previous_secret_hash = self.secret_hash
        self.previous_secret_expires_at = now + grace
        self.secret_hash = new_hash
        self.secret_rotated_at = self.updated_at = now

    def secret_hashes(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while its grace period lasts."""
        hashes = [self.secret_hash]
        if (
            self.previous_secret_hash
            and self.previous_secret_expires_at
            and now < self.previous_secret_expires_at
        ):
            hashes.append(self.previous_secret_hash)
        return hashes

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": str(self.status),
            "redirect_uris": list(self.redirect_uris),
            "scopes": list(self.scopes),
        }


@dataclass(eq=False)
class Grant:
    """A shop's authorization of an app. At most one active grant per (app, shop)."""

    app_id: str
    shop_id: str
    scopes: list[str]
    granted_by: str
    id: str = field(default_factory=lambda: new_id("grant"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    version: int = 1

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def widen(self, scopes: frozenset[Scope], by: str) -> bool:
        """Incremental consent: the grant holds the union of everything ever approved."""
        merged = set(self.granted_scopes) | scopes
        if merged == set(self.granted_scopes):
            return False
        self.scopes = scope_string(merged).split(" ")
        self.granted_by = by
        self.updated_at = utcnow()
        return True

    @property
    def granted_scopes(self) -> frozenset[Scope]:
        return frozenset(Scope(s) for s in self.scopes)

    def revoke(self, by: str | None) -> None:
        now = utcnow()
        self.revoked_at = self.updated_at = now
        self.revoked_by = by


@dataclass(eq=False)
class AuthorizationCode:
    """Stored by hash only; single use; bound to client, redirect URI and PKCE challenge."""

    code_hash: str
    app_id: str
    shop_id: str
    grant_id: str
    account_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str
    expires_at: datetime
    family_id: str = field(default_factory=lambda: new_id("fam"))
    used_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class TokenFamily:
    """Every token descended from one authorization code."""

    app_id: str
    shop_id: str
    grant_id: str
    scopes: list[str]
    id: str = field(default_factory=lambda: new_id("fam"))
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    def revoke(self, reason: str) -> None:
        if self.revoked_at is None:
            self.revoked_at = utcnow()
            self.revoked_reason = reason


@dataclass(eq=False)
class RefreshToken:
    """Opaque, stored hashed; rotated on every use. Presenting a rotated one revokes the family."""

    token_hash: str
    family_id: str
    app_id: str
    expires_at: datetime
    id: str = field(default_factory=lambda: new_id("rt"))
    created_at: datetime = field(default_factory=utcnow)
    rotated_at: datetime | None = None


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says; the resource server trusts it only after the live
    state check (family, grant and app still good)."""

    app_id: str
    client_id: str
    shop_id: str
    grant_id: str
    family_id: str
    scopes: frozenset[Scope]
    jti: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class TokenState:
    """The live state behind a token, read in one query per request."""

    family_revoked: bool
    grant_revoked: bool
    app_status: AppStatus
    grant_last_used_at: datetime | None
    rate_limit_burst: int | None
    rate_limit_per_second: float | None
    #: What the family and its grant say the token is for, to hold the token's claims to.
    grant_id: str
    shop_id: str
    app_id: str
    grant_app_id: str
    client_id: str
    grant_scopes: frozenset[str]

    #: The grant's shop is suspended by the platform: provider writes stop, reads go on.
    shop_suspended: bool = False
    shop_suspension_reason: str | None = None

    def vouches_for(self, claims: AccessClaims) -> bool:
        """The token claims what its family and grant hold: their grant, shop, app and
        client, and no scope the grant lacks. A token signed with the real key but claiming
        another shop (or a scope never granted) is not honoured."""
        return (
            claims.grant_id == self.grant_id
            and claims.shop_id == self.shop_id
            and claims.app_id == self.app_id == self.grant_app_id
            and claims.client_id == self.client_id
            and {s.value for s in claims.scopes} <= self.grant_scopes
        )
