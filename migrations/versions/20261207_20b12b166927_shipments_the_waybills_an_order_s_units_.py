"""shipments: the waybills an order's units left under; a buyer's orders indexed across shops

Revision ID: 20b12b166927
Revises: da31c1c21fbc
Create Date: 2026-12-07 02:43:24.460392
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.infra.db.types
from sqlalchemy.dialects import postgresql
revision: str = '20b12b166927'
down_revision: str | Sequence[str] | None = 'da31c1c21fbc'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A buyer's orders span shops: by buyer, newest first, and one by id.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_shop_id_buyer_id_created_at_id'))
        batch_op.create_index(batch_op.f('ix_orders_buyer_id_created_at_id'), ['buyer_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_id'), ['id'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('shop_id', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('waybill_no', sa.String(length=32), nullable=False),
    sa.Column('lines', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id', 'order_id'], ['orders.shop_id', 'orders.id'], name=op.f('fk_shipments_shop_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shipments_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_shop_id_order_id_id'), ['shop_id', 'order_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_id'))
        batch_op.drop_index(batch_op.f('ix_orders_buyer_id_created_at_id'))
        batch_op.create_index(batch_op.f('ix_orders_shop_id_buyer_id_created_at_id'), ['shop_id', 'buyer_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_shop_id_order_id_id'))

    op.drop_table('shipments')
