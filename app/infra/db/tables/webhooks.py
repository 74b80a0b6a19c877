"""Tables: Webhook endpoints (owned by apps), deliveries and attempts."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.webhooks.model import DeliveryStatus
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import SpaceList, UTCDateTime, str_enum

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    sa.Column("topics", SpaceList(), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("secret_enc", sa.String(500), nullable=False),
    sa.Column("previous_secret_enc", sa.String(500)),
    sa.Column("previous_secret_until", UTCDateTime()),
    sa.Column("disabled_reason", sa.String(200)),
    sa.Column("failing_since", UTCDateTime()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "app_id", "id"),
)


webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, nullable=False),
    sa.Column(
        "endpoint_id", ID, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("app_id", ID, nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("shop_id", ID),
    sa.Column("resource_id", ID),
    sa.Column("sequence", sa.BigInteger),
    sa.Column("status", str_enum(DeliveryStatus, 16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.String(500)),
    sa.Column("delivered_at", UTCDateTime()),
    *timestamps(),
    sa.UniqueConstraint("event_id", "endpoint_id"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "endpoint_id", "resource_id", "id"),
    sa.Index(None, "endpoint_id", "id"),
)


webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column(
        "delivery_id",
        ID,
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "endpoint_id", ID, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.String(500)),
    sa.Column("response_head", sa.String(1024)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index(None, "endpoint_id", "id"),
    sa.Index(None, "delivery_id", "id"),
)
