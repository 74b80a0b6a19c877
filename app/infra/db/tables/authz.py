"""Tables: Apps, the grants shops give them, OAuth codes and tokens."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.authz.model import AppStatus
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import JSONType, SpaceList, UTCDateTime, str_enum

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("developer_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("client_id", sa.String(40), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("previous_secret_hash", sa.String(64)),
    sa.Column("previous_secret_expires_at", UTCDateTime()),
    sa.Column("secret_rotated_at", UTCDateTime()),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(2000), nullable=False),
    sa.Column("logo_url", sa.String(2048)),
    sa.Column("homepage_url", sa.String(2048)),
    sa.Column("install_url", sa.String(2048)),
    sa.Column("support_email", sa.String(254)),
    sa.Column("service_types", SpaceList(), nullable=False),
    sa.Column("redirect_uris", JSONType, nullable=False),
    sa.Column("scopes", SpaceList(), nullable=False),
    sa.Column("status", str_enum(AppStatus, 16), nullable=False),
    sa.Column("rate_limit_burst", sa.Integer),
    sa.Column("rate_limit_per_second", sa.Float),
    sa.Column("published_at", UTCDateTime()),
    sa.Column("suspended_at", UTCDateTime()),
    sa.Column("suspension_reason", sa.String(500)),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "developer_id", "id"),
    sa.Index(None, "status", "id"),
)


grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scopes", SpaceList(), nullable=False),
    sa.Column("granted_by", ID, sa.ForeignKey("accounts.id"), nullable=False),
    *timestamps(),
    sa.Column("last_used_at", UTCDateTime()),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("revoked_by", ID),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "shop_id", "id"),
    # One grant in force per (app, shop); revoked ones stay as history.
    sa.Index(
        "uq_grants_active_app_shop",
        "app_id",
        "shop_id",
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
        sqlite_where=sa.text("revoked_at IS NULL"),
    ),
)


oauth_codes = sa.Table(
    "oauth_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("grant_id", ID, sa.ForeignKey("grants.id"), nullable=False),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("family_id", ID, nullable=False),
    sa.Column("redirect_uri", sa.String(2048), nullable=False),
    sa.Column("scopes", SpaceList(), nullable=False),
    sa.Column("code_challenge", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime()),
    sa.Index(None, "expires_at"),
)


token_families = sa.Table(
    "token_families",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("grant_id", ID, sa.ForeignKey("grants.id"), nullable=False),
    sa.Column("scopes", SpaceList(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("revoked_reason", sa.String(200)),
    sa.Index(None, "grant_id"),
)


refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "family_id", ID, sa.ForeignKey("token_families.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("rotated_at", UTCDateTime()),
    sa.Index(None, "family_id"),
)
