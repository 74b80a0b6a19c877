"""Tables: shipping insurance — the insured orders and the compensations claimed."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.orders.insurance import ClaimStatus
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import UTCDateTime, str_enum

insurance_policies = sa.Table(
    "insurance_policies",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("order_id", ID, nullable=False),
    # Fen, paid by the shop when the goods first left.
    sa.Column("premium", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    # One policy per order.
    sa.UniqueConstraint("shop_id", "order_id"),
)

insurance_claims = sa.Table(
    "insurance_claims",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("order_id", ID, nullable=False),
    sa.Column("policy_id", ID, nullable=False),
    sa.Column("aftersale_id", ID, nullable=False),
    sa.Column("buyer_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
    # Fen, paid to the buyer by the platform.
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", str_enum(ClaimStatus, 16), nullable=False),
    sa.Column("gateway_reference", sa.String(64)),
    sa.Column("paid_at", UTCDateTime()),
    *timestamps(),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    # One claim per completed return.
    sa.UniqueConstraint("shop_id", "aftersale_id"),
    sa.Index(None, "shop_id", "order_id"),
)
