"""Tables: after-sales (refunds and returns) of orders."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.aftersales.model import AfterSaleReason, AfterSaleStatus, AfterSaleType
from app.domain.aftersales.refunds import RefundStatus
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import JSONType, UTCDateTime, str_enum

aftersales = sa.Table(
    "aftersales",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("order_id", ID, nullable=False),
    sa.Column("buyer_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("type", str_enum(AfterSaleType, 16), nullable=False),
    sa.Column("status", str_enum(AfterSaleStatus, 24), nullable=False),
    sa.Column("reason", str_enum(AfterSaleReason, 24), nullable=False),
    # [{"line_id", "sku_id", "quantity", "amount"}]: the units of the order's lines it
    # covers and the fen it refunds for each.
    sa.Column("lines", JSONType, nullable=False),
    # Integer fen: the lines' amounts plus `freight_amount`.
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("freight_amount", sa.BigInteger, nullable=False),
    sa.Column("description", sa.String(500)),
    sa.Column("images", JSONType, nullable=False),
    sa.Column("return_address", JSONType),
    sa.Column("return_carrier", sa.String(16)),
    sa.Column("return_waybill_no", sa.String(32)),
    sa.Column("reject_reason", sa.String(500)),
    sa.Column("accepted_at", UTCDateTime()),
    sa.Column("returned_at", UTCDateTime()),
    sa.Column("received_at", UTCDateTime()),
    sa.Column("refunded_at", UTCDateTime()),
    sa.Column("closed_at", UTCDateTime()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.ForeignKeyConstraint(
        ["shop_id", "order_id"], ["orders.shop_id", "orders.id"], ondelete="CASCADE"
    ),
    sa.CheckConstraint("amount >= 0 AND freight_amount >= 0", name="amounts_not_negative"),
    sa.CheckConstraint("freight_amount <= amount", name="freight_within_amount"),
    # The shop's list, newest first (or by last change, for sync), and an order's own.
    sa.Index(None, "shop_id", "created_at", "id"),
    sa.Index(None, "shop_id", "updated_at", "id"),
    sa.Index(None, "shop_id", "order_id", "id"),
    # The buyer's list across shops.
    sa.Index(None, "buyer_id", "created_at", "id"),
)


refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("order_id", ID, nullable=False),
    sa.Column("aftersale_id", ID, nullable=False),
    sa.Column("payment_id", ID, nullable=False),
    # Integer fen.
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("gateway", sa.String(16), nullable=False),
    sa.Column("status", str_enum(RefundStatus, 16), nullable=False),
    sa.Column("gateway_reference", sa.String(64)),
    # Times the gateway was asked (a failed attempt is retried up to `MAX_ATTEMPTS`).
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("succeeded_at", UTCDateTime()),
    sa.Column("failed_at", UTCDateTime()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.ForeignKeyConstraint(
        ["shop_id", "order_id"], ["orders.shop_id", "orders.id"], ondelete="CASCADE"
    ),
    sa.ForeignKeyConstraint(
        ["shop_id", "aftersale_id"], ["aftersales.shop_id", "aftersales.id"], ondelete="CASCADE"
    ),
    sa.ForeignKeyConstraint(
        ["shop_id", "payment_id"], ["payments.shop_id", "payments.id"], ondelete="CASCADE"
    ),
    sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    # One refund per after-sale: asking twice is the same refund.
    sa.UniqueConstraint("shop_id", "aftersale_id"),
    sa.Index(None, "shop_id", "order_id", "id"),
)


aftersale_settings = sa.Table(
    "aftersale_settings",
    metadata,
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    # Where returns go back to by default; null until the shop sets one.
    sa.Column("return_address", JSONType),
    sa.Column("restock_returns", sa.Boolean, nullable=False),
    # The shop insures its orders' return shipping (premium per order, when goods leave).
    sa.Column("shipping_insurance", sa.Boolean, nullable=False, server_default=sa.false()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id"),
)
