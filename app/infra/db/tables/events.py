"""Tables: The event outbox and the per-resource sequence counters."""

from __future__ import annotations

import sqlalchemy as sa

from app.infra.db.tables.base import ID, metadata
from app.infra.db.types import JSONType, UTCDateTime

outbox_events = sa.Table(
    "outbox_events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("shop_id", ID),
    sa.Column("app_id", ID),
    sa.Column("resource_id", ID),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    #: Set once the webhook worker has turned the event into deliveries.
    sa.Column("dispatched_at", UTCDateTime()),
    #: 1, 2, 3… per resource for sequenced families (`order.*`), in commit order.
    sa.Column("sequence", sa.BigInteger),
    sa.Index(None, "shop_id", "id"),
    sa.Index(None, "dispatched_at", "id"),
    # A sequenced delivery waits while an earlier event of its resource is not fanned out.
    sa.Index(
        "ix_outbox_events_undispatched_sequence",
        "resource_id",
        "sequence",
        postgresql_where=sa.text("dispatched_at IS NULL AND sequence IS NOT NULL"),
        sqlite_where=sa.text("dispatched_at IS NULL AND sequence IS NOT NULL"),
    ),
)


#: The last `sequence` given to each sequenced resource's events. The row is locked by the
#: transaction that takes the next number until it commits, so numbers follow commit order
#: and a rolled-back transaction leaves no gap.
event_sequences = sa.Table(
    "event_sequences",
    metadata,
    sa.Column("resource_id", ID, primary_key=True),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)
