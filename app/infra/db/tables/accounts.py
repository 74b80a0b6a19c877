"""Tables: Accounts and their login sessions."""

from __future__ import annotations

import sqlalchemy as sa

from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import UTCDateTime

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("username", sa.String(32), nullable=False, unique=True),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_operator", sa.Boolean, nullable=False, server_default=sa.false()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
)


sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("user_agent", sa.String(255)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Index(None, "account_id"),
)
