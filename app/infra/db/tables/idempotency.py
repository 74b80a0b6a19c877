"""Tables: Stored Idempotency-Key claims and responses."""

from __future__ import annotations

import sqlalchemy as sa

from app.infra.db.tables.base import metadata
from app.infra.db.types import JSONType, UTCDateTime

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope_key", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.String(512), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("response_status", sa.Integer),
    sa.Column("response_headers", JSONType),
    sa.Column("response_body", sa.LargeBinary),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("locked_until", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Index(None, "expires_at"),
)
