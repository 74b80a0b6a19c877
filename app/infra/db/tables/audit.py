"""Tables: The audit log."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.audit.model import ActorType, Surface
from app.infra.db.tables.base import ID, metadata
from app.infra.db.types import JSONType, UTCDateTime, str_enum

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE")),
    sa.Column("actor_type", str_enum(ActorType, 16), nullable=False),
    sa.Column("actor_id", ID, nullable=False),
    sa.Column("grant_id", ID),
    sa.Column("surface", str_enum(Surface, 16), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", ID, nullable=False),
    sa.Column("before", JSONType),
    sa.Column("after", JSONType),
    sa.Column("request_id", sa.String(64)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index(None, "shop_id", "id"),
)
