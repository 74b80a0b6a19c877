"""logistics: a shop's carrier accounts, its sender address book, the sandbox carrier's waybills

- `logistics_accounts`: a carrier account bound for a shop, one per (shop, carrier, customer
  code); key and secret as Fernet tokens of the key ring, with the last characters kept to
  show them masked.
- `sender_addresses`: the shop's sender/return addresses; a partial unique index keeps one
  default per shop.
- `sandbox_waybills`: the sandbox carrier's own record of the waybills it issued, unique per
  (shop, carrier, request id) so a repeated creation answers with the same waybill, and per
  (shop, carrier, number).

All three are tenant tables keyed (shop_id, id) and distributed by shop_id (docs/scaling.md).

Revision ID: 98b16947dd97
Revises: 46a319aced66
Create Date: 2026-12-07 11:50:14.403018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.infra.db.types

revision: str = "98b16947dd97"
down_revision: str | Sequence[str] | None = "46a319aced66"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "logistics_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("carrier_code", sa.String(length=16), nullable=False),
        sa.Column("customer_code", sa.String(length=32), nullable=False),
        sa.Column("key_encrypted", sa.Text(), nullable=False),
        sa.Column("key_tail", sa.String(length=4), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("secret_tail", sa.String(length=4), nullable=False),
        sa.Column("verified_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_logistics_accounts_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "id", name=op.f("pk_logistics_accounts")),
        sa.UniqueConstraint(
            "shop_id",
            "carrier_code",
            "customer_code",
            name=op.f("uq_logistics_accounts_shop_id_carrier_code_customer_code"),
        ),
    )
    op.create_table(
        "sandbox_waybills",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("carrier_code", sa.String(length=16), nullable=False),
        sa.Column("customer_code", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("sender_region", sa.String(length=6), nullable=False),
        sa.Column("receiver_region", sa.String(length=6), nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=False),
        sa.Column("created_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_sandbox_waybills_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "id", name=op.f("pk_sandbox_waybills")),
        sa.UniqueConstraint(
            "shop_id",
            "carrier_code",
            "number",
            name=op.f("uq_sandbox_waybills_shop_id_carrier_code_number"),
        ),
        sa.UniqueConstraint(
            "shop_id",
            "carrier_code",
            "request_id",
            name=op.f("uq_sandbox_waybills_shop_id_carrier_code_request_id"),
        ),
    )
    op.create_table(
        "sender_addresses",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("shop_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("company", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("detail", sa.String(length=120), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_sender_addresses_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "id", name=op.f("pk_sender_addresses")),
    )
    op.create_index(
        "uq_sender_addresses_default",
        "sender_addresses",
        ["shop_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_sender_addresses_default",
        table_name="sender_addresses",
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )
    op.drop_table("sender_addresses")
    op.drop_table("sandbox_waybills")
    op.drop_table("logistics_accounts")
