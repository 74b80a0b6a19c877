"""Tables: Durable timers."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.timers.model import TimerStatus
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import JSONType, UTCDateTime, str_enum

#: Durable timers (`app/domain/timers`): one row per `(kind, key)`, fired once by a worker.
timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", ID, primary_key=True),
    # Null for a platform timer that concerns no shop.
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE")),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("status", str_enum(TimerStatus, 16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # A worker's claim: its token, and when another worker may take the timer over.
    sa.Column("lease_token", sa.String(40)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("last_error", sa.String(500)),
    *timestamps(),
    sa.Column("fired_at", UTCDateTime()),
    sa.UniqueConstraint("kind", "key"),
    # The workers' claim: pending timers by due time.
    sa.Index(None, "status", "due_at"),
    sa.Index(None, "shop_id", "id"),
)
