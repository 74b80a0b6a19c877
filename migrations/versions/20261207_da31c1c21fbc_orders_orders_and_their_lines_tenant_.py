"""orders: orders and their lines (tenant tables keyed (shop_id, id)), shops' flat freight

Revision ID: da31c1c21fbc
Revises: 7e3c1a9d4b52
Create Date: 2026-12-07 02:34:50.428253
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.infra.db.types
from sqlalchemy.dialects import postgresql

revision: str = 'da31c1c21fbc'
down_revision: str | Sequence[str] | None = '7e3c1a9d4b52'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('freight_fee', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('free_shipping_from', sa.BigInteger(), nullable=True))

    op.create_table('orders',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('shop_id', sa.String(length=40), nullable=False),
    sa.Column('buyer_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('product_total', sa.BigInteger(), nullable=False),
    sa.Column('freight', sa.BigInteger(), nullable=False),
    sa.Column('discount_total', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('address', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('buyer_note', sa.String(length=200), nullable=True),
    sa.Column('merchant_note', sa.String(length=500), nullable=True),
    sa.Column('cancel_reason', sa.Enum('buyer', 'timeout', 'merchant', 'provider', name='cancelreason', native_enum=False, length=16), nullable=True),
    sa.Column('received_by', sa.Enum('buyer', 'auto', name='receivedby', native_enum=False, length=16), nullable=True),
    sa.Column('paid_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('discount_total >= 0 AND discount_total <= product_total', name=op.f('ck_orders_discount')),
    sa.CheckConstraint('freight >= 0', name=op.f('ck_orders_freight_not_negative')),
    sa.CheckConstraint('total = product_total - discount_total + freight', name=op.f('ck_orders_total_adds_up')),
    sa.ForeignKeyConstraint(['buyer_id'], ['accounts.id'], name=op.f('fk_orders_buyer_id_accounts')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_orders_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_shop_id_buyer_id_created_at_id'), ['shop_id', 'buyer_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_shop_id_created_at_id'), ['shop_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_shop_id_status_created_at_id'), ['shop_id', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_shop_id_updated_at_id'), ['shop_id', 'updated_at', 'id'], unique=False)

    op.create_table('order_lines',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('shop_id', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('sku_id', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('snapshot', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('shipped_quantity', sa.Integer(), nullable=False),
    sa.Column('aftersale_quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_order_lines_quantity_positive')),
    sa.CheckConstraint('shipped_quantity >= 0 AND shipped_quantity <= quantity', name=op.f('ck_order_lines_shipped_within_quantity')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_order_lines_unit_price_not_negative')),
    sa.ForeignKeyConstraint(['shop_id', 'order_id'], ['orders.shop_id', 'orders.id'], name=op.f('fk_order_lines_shop_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_order_lines_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'id', name=op.f('pk_order_lines'))
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_shop_id_order_id_id'), ['shop_id', 'order_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_lines_shop_id_order_id_id'))

    op.drop_table('order_lines')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_shop_id_updated_at_id'))
        batch_op.drop_index(batch_op.f('ix_orders_shop_id_status_created_at_id'))
        batch_op.drop_index(batch_op.f('ix_orders_shop_id_created_at_id'))
        batch_op.drop_index(batch_op.f('ix_orders_shop_id_buyer_id_created_at_id'))

    op.drop_table('orders')
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('free_shipping_from')
        batch_op.drop_column('freight_fee')
