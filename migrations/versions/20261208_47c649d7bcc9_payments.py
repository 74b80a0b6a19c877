"""payments: an order's payments, the gateway transactions settled, the sandbox ledger

Revision ID: 47c649d7bcc9
Revises: 3d59461ecb80
Create Date: 2026-12-07 03:15:07.466154
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.infra.db.types

revision: str = "47c649d7bcc9"
down_revision: str | Sequence[str] | None = "3d59461ecb80"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_charges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "paid",
                "refunded",
                "closed",
                name="chargestate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("paid_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refund_id", sa.String(length=64), nullable=True),
        sa.Column("refunded_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_sandbox_charges_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "id", name=op.f("pk_sandbox_charges")),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("buyer_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "succeeded",
                "refused",
                "refunded",
                name="paymentstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("gateway_reference", sa.String(length=64), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("reported_amount", sa.BigInteger(), nullable=True),
        sa.Column("refund_reference", sa.String(length=64), nullable=True),
        sa.Column(
            "refund_reason",
            sa.Enum(
                "order_cancelled",
                "order_already_paid",
                "total_changed",
                "cancelled_by_shop",
                name="refundreason",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("paid_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_payments_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["accounts.id"], name=op.f("fk_payments_buyer_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id", "order_id"],
            ["orders.shop_id", "orders.id"],
            name=op.f("fk_payments_shop_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_payments_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "id", name=op.f("pk_payments")),
        sa.UniqueConstraint(
            "shop_id",
            "gateway",
            "gateway_reference",
            name=op.f("uq_payments_shop_id_gateway_gateway_reference"),
        ),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payments_shop_id_order_id_id"),
            ["shop_id", "order_id", "id"],
            unique=False,
        )

    op.create_table(
        "payment_notifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "paid",
                "refunded",
                "refused",
                "already_settled",
                name="settleoutcome",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id", "payment_id"],
            ["payments.shop_id", "payments.id"],
            name=op.f("fk_payment_notifications_shop_id_payments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_payment_notifications_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "id", name=op.f("pk_payment_notifications")),
        sa.UniqueConstraint(
            "shop_id",
            "gateway",
            "transaction_id",
            name=op.f("uq_payment_notifications_shop_id_gateway_transaction_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("payment_notifications")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_shop_id_order_id_id"))

    op.drop_table("payments")
    op.drop_table("sandbox_charges")
