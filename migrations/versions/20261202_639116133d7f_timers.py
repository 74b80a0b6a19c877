"""timers: durable timers, one per (kind, key), claimed by workers with a lease

Revision ID: 639116133d7f
Revises: c6f3c52fbad4
Create Date: 2026-12-02 18:50:47.911349
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.infra.db.types
from sqlalchemy.dialects import postgresql

revision: str = '639116133d7f'
down_revision: str | Sequence[str] | None = 'c6f3c52fbad4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('timers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('shop_id', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('due_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('pending', 'done', 'failed', name='timerstatus', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_token', sa.String(length=40), nullable=True),
    sa.Column('lease_until', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_timers_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers')),
    sa.UniqueConstraint('kind', 'key', name=op.f('uq_timers_kind_key'))
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timers_shop_id_id'), ['shop_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_status_due_at'), ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timers_status_due_at'))
        batch_op.drop_index(batch_op.f('ix_timers_shop_id_id'))

    op.drop_table('timers')
