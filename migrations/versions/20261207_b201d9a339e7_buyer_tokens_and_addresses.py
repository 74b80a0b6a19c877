"""buyers: storefront token families and refresh tokens, and buyers' addresses (account-level)

Revision ID: b201d9a339e7
Revises: 20b12b166927
Create Date: 2026-12-07 02:37:36.057946
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.infra.db.types

revision: str = 'b201d9a339e7'
down_revision: str | Sequence[str] | None = '20b12b166927'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('buyer_addresses',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=32), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('detail', sa.String(length=120), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_buyer_addresses_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buyer_addresses'))
    )
    with op.batch_alter_table('buyer_addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_buyer_addresses_account_id_id'), ['account_id', 'id'], unique=False)
        batch_op.create_index('uq_buyer_addresses_default', ['account_id'], unique=True, postgresql_where=sa.text('is_default'), sqlite_where=sa.text('is_default'))

    op.create_table('buyer_token_families',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.Column('created_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_buyer_token_families_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buyer_token_families'))
    )
    with op.batch_alter_table('buyer_token_families', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_buyer_token_families_account_id'), ['account_id'], unique=False)

    op.create_table('buyer_refresh_tokens',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', app.infra.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['family_id'], ['buyer_token_families.id'], name=op.f('fk_buyer_refresh_tokens_family_id_buyer_token_families'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buyer_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_buyer_refresh_tokens_token_hash'))
    )
    with op.batch_alter_table('buyer_refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_buyer_refresh_tokens_family_id'), ['family_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('buyer_refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_buyer_refresh_tokens_family_id'))

    op.drop_table('buyer_refresh_tokens')
    with op.batch_alter_table('buyer_token_families', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_buyer_token_families_account_id'))

    op.drop_table('buyer_token_families')
    with op.batch_alter_table('buyer_addresses', schema=None) as batch_op:
        batch_op.drop_index('uq_buyer_addresses_default', postgresql_where=sa.text('is_default'), sqlite_where=sa.text('is_default'))
        batch_op.drop_index(batch_op.f('ix_buyer_addresses_account_id_id'))

    op.drop_table('buyer_addresses')
