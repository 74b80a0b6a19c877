"""Tables: an order's payments, the gateway transactions settled, and the sandbox gateway's
own ledger."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.orders.payments import ChargeState, PaymentStatus, RefundReason, SettleOutcome
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import UTCDateTime, str_enum

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("order_id", ID, nullable=False),
    sa.Column("buyer_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
    # Integer fen: the order's total when the payment was made.
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("gateway", sa.String(16), nullable=False),
    sa.Column("status", str_enum(PaymentStatus, 16), nullable=False),
    sa.Column("gateway_reference", sa.String(64)),
    sa.Column("transaction_id", sa.String(64)),
    sa.Column("reported_amount", sa.BigInteger),
    sa.Column("refund_reference", sa.String(64)),
    sa.Column("refund_reason", str_enum(RefundReason, 32)),
    sa.Column("paid_at", UTCDateTime()),
    sa.Column("refunded_at", UTCDateTime()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.ForeignKeyConstraint(
        ["shop_id", "order_id"], ["orders.shop_id", "orders.id"], ondelete="CASCADE"
    ),
    sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    # A notification names the gateway's reference (and the shop it was made for).
    sa.UniqueConstraint("shop_id", "gateway", "gateway_reference"),
    sa.Index(None, "shop_id", "order_id", "id"),
)

payment_notifications = sa.Table(
    "payment_notifications",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("payment_id", ID, nullable=False),
    sa.Column("gateway", sa.String(16), nullable=False),
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("outcome", str_enum(SettleOutcome, 16), nullable=False),
    # `notification` or `query`.
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.ForeignKeyConstraint(
        ["shop_id", "payment_id"], ["payments.shop_id", "payments.id"], ondelete="CASCADE"
    ),
    # One settlement per gateway transaction: a repeated notification is answered from it.
    sa.UniqueConstraint("shop_id", "gateway", "transaction_id"),
)

sandbox_charges = sa.Table(
    "sandbox_charges",
    metadata,
    # The sandbox gateway's reference of the charge.
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    # The merchant's (platform's) id of the payment, as a real gateway keeps `out_trade_no`.
    sa.Column("payment_id", ID, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("state", str_enum(ChargeState, 16), nullable=False),
    sa.Column("transaction_id", sa.String(64)),
    sa.Column("paid_at", UTCDateTime()),
    sa.Column("refund_id", sa.String(64)),
    sa.Column("refunded_at", UTCDateTime()),
    *timestamps(),
    sa.PrimaryKeyConstraint("shop_id", "id"),
)


sandbox_refunds = sa.Table(
    "sandbox_refunds",
    metadata,
    # The sandbox gateway's reference of the refund.
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    # The platform's id of the refund (a real gateway's `out_refund_no`): one per id.
    sa.Column("refund_id", ID, nullable=False),
    sa.Column("charge_id", ID, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    # `succeeded`, or `failed` when it asked for more than the charge has left.
    sa.Column("state", sa.String(16), nullable=False),
    *timestamps(),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.UniqueConstraint("shop_id", "refund_id"),
    sa.Index(None, "shop_id", "charge_id"),
)

#: The sandbox gateway's payouts: the platform's money to a buyer (a shipping insurance
#: compensation), one per claim.
sandbox_payouts = sa.Table(
    "sandbox_payouts",
    metadata,
    # The sandbox gateway's reference of the payout.
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("claim_id", ID, nullable=False),
    sa.Column("buyer_id", ID, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.UniqueConstraint("shop_id", "claim_id"),
)
