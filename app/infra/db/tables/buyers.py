"""Tables: buyers' storefront token families and refresh tokens, and their addresses.

All three belong to an account, not to a shop (see docs/scaling.md)."""

from __future__ import annotations

import sqlalchemy as sa

from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import UTCDateTime

buyer_token_families = sa.Table(
    "buyer_token_families",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("user_agent", sa.String(255)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("revoked_reason", sa.String(200)),
    sa.Index(None, "account_id"),
)


buyer_refresh_tokens = sa.Table(
    "buyer_refresh_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "family_id",
        ID,
        sa.ForeignKey("buyer_token_families.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("rotated_at", UTCDateTime()),
    sa.Index(None, "family_id"),
    # The worker's housekeeping prunes them by expiry, every minute.
    sa.Index(None, "expires_at"),
)


buyer_addresses = sa.Table(
    "buyer_addresses",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("recipient", sa.String(32), nullable=False),
    sa.Column("phone", sa.String(11), nullable=False),
    sa.Column("region_code", sa.String(6), nullable=False),
    sa.Column("detail", sa.String(120), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    # A buyer's address book pages by (account_id, id).
    sa.Index(None, "account_id", "id"),
    # At most one default per buyer.
    sa.Index(
        "uq_buyer_addresses_default",
        "account_id",
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    ),
)
