"""Tables: Orders and their lines."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.orders.model import CancelReason, DeliveryMethod, OrderStatus, ReceivedBy
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import IntEnumType, JSONType, UTCDateTime, str_enum

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("buyer_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("status", IntEnumType(OrderStatus), nullable=False),
    # Integer fen.
    sa.Column("product_total", sa.BigInteger, nullable=False),
    sa.Column("freight", sa.BigInteger, nullable=False),
    sa.Column("discount_total", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    # The address as it was when the order was placed (JSON null for a pickup order).
    sa.Column("address", JSONType, nullable=False),
    sa.Column("buyer_note", sa.String(200)),
    sa.Column("merchant_note", sa.String(500)),
    sa.Column("cancel_reason", str_enum(CancelReason, 16)),
    # The shop's words on why it cancelled (merchant or provider).
    sa.Column("cancel_note", sa.Text()),
    sa.Column("received_by", str_enum(ReceivedBy, 16)),
    sa.Column("paid_at", UTCDateTime()),
    sa.Column("shipped_at", UTCDateTime()),
    sa.Column("delivered_at", UTCDateTime()),
    sa.Column("received_at", UTCDateTime()),
    sa.Column("completed_at", UTCDateTime()),
    sa.Column("cancelled_at", UTCDateTime()),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("settled_at", UTCDateTime()),
    sa.Column(
        "delivery_method",
        str_enum(DeliveryMethod, 16),
        nullable=False,
        server_default=DeliveryMethod.EXPRESS.value,
    ),
    # A pickup order's point as it was when the order was placed.
    sa.Column("pickup_point", JSONType),
    # Given at payment; the buyer's alone to see.
    sa.Column("pickup_code", sa.String(12)),
    sa.Column("ready_for_pickup_at", UTCDateTime()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.CheckConstraint("total = product_total - discount_total + freight", name="total_adds_up"),
    sa.CheckConstraint("discount_total >= 0 AND discount_total <= product_total", name="discount"),
    sa.CheckConstraint("freight >= 0", name="freight_not_negative"),
    # The provider's lists: newest first, and by `updated_at` for sync.
    sa.Index(None, "shop_id", "created_at", "id"),
    sa.Index(None, "shop_id", "updated_at", "id"),
    sa.Index(None, "shop_id", "status", "created_at", "id"),
    # A buyer's own orders, from every shop, newest first; and one of them by id.
    sa.Index(None, "buyer_id", "created_at", "id"),
    sa.Index(None, "id"),
    # A pickup code names one open order of its shop (verification finds it by this index);
    # a completed, closed or cancelled order's code may be drawn again.
    sa.Index(
        "uq_orders_shop_id_pickup_code_open",
        "shop_id",
        "pickup_code",
        unique=True,
        postgresql_where=sa.text("pickup_code IS NOT NULL AND status < 100"),
        sqlite_where=sa.text("pickup_code IS NOT NULL AND status < 100"),
    ),
)


order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("order_id", ID, nullable=False),
    # The product and SKU as ordered: no foreign key, a line outlives their deletion.
    sa.Column("product_id", ID, nullable=False),
    sa.Column("sku_id", ID, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price", sa.BigInteger, nullable=False),
    # Title, SKU attributes, image and out ids as the buyer saw them.
    sa.Column("snapshot", JSONType, nullable=False),
    sa.Column("shipped_quantity", sa.Integer, nullable=False),
    sa.Column("aftersale_quantity", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.ForeignKeyConstraint(
        ["shop_id", "order_id"], ["orders.shop_id", "orders.id"], ondelete="CASCADE"
    ),
    sa.CheckConstraint("quantity >= 1", name="quantity_positive"),
    sa.CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    sa.CheckConstraint(
        "shipped_quantity >= 0 AND shipped_quantity <= quantity", name="shipped_within_quantity"
    ),
    sa.Index(None, "shop_id", "order_id", "id"),
)


shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("order_id", ID, nullable=False),
    sa.Column("carrier", sa.String(16), nullable=False),
    sa.Column("waybill_no", sa.String(32), nullable=False),
    # [{"line_id", "quantity"}]: which units of which lines left under this waybill.
    sa.Column("lines", JSONType, nullable=False),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.ForeignKeyConstraint(
        ["shop_id", "order_id"], ["orders.shop_id", "orders.id"], ondelete="CASCADE"
    ),
    sa.Index(None, "shop_id", "order_id", "id"),
)


cart_lines = sa.Table(
    "cart_lines",
    metadata,
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sku_id", ID, nullable=False),
    sa.Column("product_id", ID, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    *timestamps(),
    # A buyer's cart in a shop is its lines: one per SKU.
    sa.PrimaryKeyConstraint("shop_id", "account_id", "sku_id"),
    sa.CheckConstraint("quantity >= 1", name="quantity_positive"),
)
