"""cart_lines: a buyer's cart in a shop

Revision ID: 3d59461ecb80
Revises: 5a1f0e7c3b2d
Create Date: 2026-12-07 03:38:27.296170
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.infra.db.types

revision: str = '3d59461ecb80'
down_revision: str | Sequence[str] | None = '5a1f0e7c3b2d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cart_lines',
    sa.Column('shop_id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('sku_id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('created_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_cart_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_cart_lines_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_cart_lines_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'account_id', 'sku_id', name=op.f('pk_cart_lines'))
    )


def downgrade() -> None:
    op.drop_table('cart_lines')
