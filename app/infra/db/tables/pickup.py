"""Tables: a shop's pickup points and its counter of wrong pickup codes
(`app/domain/orders/pickup.py`)."""

from __future__ import annotations

import sqlalchemy as sa

from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import UTCDateTime

pickup_points = sa.Table(
    "pickup_points",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("region_code", sa.String(6), nullable=False),
    sa.Column("detail", sa.String(120), nullable=False),
    sa.Column("hours", sa.String(100), nullable=False),
    sa.Column("contact_name", sa.String(32), nullable=False),
    sa.Column("contact_phone", sa.String(11), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
)

#: One row per shop that ever verified a code: its wrong codes in the current fixed window.
#: Every verification locks it, so a shop's verifications take turns in every process.
pickup_code_throttles = sa.Table(
    "pickup_code_throttles",
    metadata,
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("window_started_at", UTCDateTime(), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id"),
)
