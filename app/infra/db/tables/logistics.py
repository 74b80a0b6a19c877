"""Tables: a shop's carrier accounts, sender address book and electronic waybills, and the
sandbox carrier's own waybills."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.logistics.carrier import TrackingStage
from app.domain.logistics.waybills import WaybillStatus
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import JSONType, UTCDateTime, str_enum

logistics_accounts = sa.Table(
    "logistics_accounts",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("carrier_code", sa.String(16), nullable=False),
    sa.Column("customer_code", sa.String(32), nullable=False),
    # Fernet tokens (the key ring's cipher); the tails show them masked.
    sa.Column("key_encrypted", sa.Text, nullable=False),
    sa.Column("key_tail", sa.String(4), nullable=False),
    sa.Column("secret_encrypted", sa.Text, nullable=False),
    sa.Column("secret_tail", sa.String(4), nullable=False),
    sa.Column("verified_at", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    # One binding of a carrier's account per shop.
    sa.UniqueConstraint("shop_id", "carrier_code", "customer_code"),
)

sender_addresses = sa.Table(
    "sender_addresses",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("company", sa.String(64)),
    sa.Column("phone", sa.String(11), nullable=False),
    sa.Column("region_code", sa.String(6), nullable=False),
    sa.Column("detail", sa.String(120), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    # At most one default sender per shop.
    sa.Index(
        "uq_sender_addresses_default",
        "shop_id",
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    ),
)

sandbox_waybills = sa.Table(
    "sandbox_waybills",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("carrier_code", sa.String(16), nullable=False),
    sa.Column("customer_code", sa.String(32), nullable=False),
    # The caller's key of the creation: asked again, the same waybill.
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("number", sa.String(32), nullable=False),
    sa.Column("sender_region", sa.String(6), nullable=False),
    sa.Column("receiver_region", sa.String(6), nullable=False),
    sa.Column("weight_grams", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("cancelled_at", UTCDateTime()),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.UniqueConstraint("shop_id", "carrier_code", "request_id"),
    sa.UniqueConstraint("shop_id", "carrier_code", "number"),
)

# The electronic waybills the platform had a carrier issue for a shop's orders. Sender and
# receiver are snapshots at issue (what the label prints); which shipment travels under a
# waybill is read from the order's shipments (carrier and number), never kept here twice.
waybills = sa.Table(
    "waybills",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("order_id", ID, nullable=False),
    # Not a foreign key: a waybill outlives the account it was issued with (unbinding keeps
    # the shop's waybills and their labels).
    sa.Column("logistics_account_id", ID, nullable=False),
    sa.Column("carrier_code", sa.String(16), nullable=False),
    sa.Column("number", sa.String(32), nullable=False),
    sa.Column("sender", JSONType, nullable=False),
    sa.Column("receiver", JSONType, nullable=False),
    # [{"line_id", "quantity", "title"}]
    sa.Column("lines", JSONType, nullable=False),
    sa.Column("weight_grams", sa.Integer, nullable=False),
    sa.Column("status", str_enum(WaybillStatus, 16), nullable=False),
    sa.Column("cancelled_at", UTCDateTime()),
    sa.Column("tracking_stage", str_enum(TrackingStage, 24)),
    sa.Column("tracked_at", UTCDateTime()),
    sa.Column("delivered_at", UTCDateTime()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.ForeignKeyConstraint(
        ["shop_id", "order_id"], ["orders.shop_id", "orders.id"], ondelete="CASCADE"
    ),
    sa.Index(None, "shop_id", "order_id", "id"),
    sa.Index(None, "shop_id", "carrier_code", "number"),
)

# What the carrier reported of a waybill's parcel, oldest first: `seq` 1, 2, 3... in the
# carrier's order. The primary key is what keeps a poll that runs twice from storing twice.
waybill_tracking_events = sa.Table(
    "waybill_tracking_events",
    metadata,
    sa.Column("shop_id", ID, nullable=False),
    sa.Column("waybill_id", ID, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("stage", str_enum(TrackingStage, 24), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("location", sa.String(200), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "waybill_id", "seq"),
    sa.ForeignKeyConstraint(
        ["shop_id", "waybill_id"], ["waybills.shop_id", "waybills.id"], ondelete="CASCADE"
    ),
)
