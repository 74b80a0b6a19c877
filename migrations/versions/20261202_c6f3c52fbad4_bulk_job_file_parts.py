"""bulk job file parts: a file's content in parts, written and read a part at a time; an
index for the round-robin claim

Revision ID: c6f3c52fbad4
Revises: dbcc81ca712d
Create Date: 2026-12-02 17:44:04.104932
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c6f3c52fbad4'
down_revision: str | Sequence[str] | None = 'dbcc81ca712d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bulk_job_file_parts',
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('shop_id', sa.String(length=40), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['bulk_jobs.id'], name=op.f('fk_bulk_job_file_parts_job_id_bulk_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_bulk_job_file_parts_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'purpose', 'seq', name=op.f('pk_bulk_job_file_parts'))
    )
    # Each stored file becomes its one part 0.
    op.execute(
        'INSERT INTO bulk_job_file_parts (job_id, purpose, seq, shop_id, content) '
        'SELECT job_id, purpose, 0, shop_id, content FROM bulk_job_files'
    )
    with op.batch_alter_table('bulk_job_files', schema=None) as batch_op:
        batch_op.drop_column('content')
    # The claim's round robin: when each shop's last job started.
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_jobs_shop_id_started_at'), ['shop_id', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_jobs_shop_id_started_at'))
    with op.batch_alter_table('bulk_job_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content', sa.LargeBinary(), nullable=True))
    # Back to one value per file. Only files of one part come back whole: a file written in
    # several parts is dropped with its job rather than truncated.
    split = 'SELECT job_id FROM bulk_job_file_parts WHERE seq > 0'
    for table in ('bulk_job_items', 'bulk_job_files'):
        op.execute(f'DELETE FROM {table} WHERE job_id IN ({split})')
    op.execute(f'DELETE FROM bulk_jobs WHERE id IN ({split})')
    op.execute(
        'UPDATE bulk_job_files SET content = (SELECT p.content FROM bulk_job_file_parts p '
        'WHERE p.job_id = bulk_job_files.job_id AND p.purpose = bulk_job_files.purpose '
        'AND p.seq = 0)'
    )
    op.execute('DELETE FROM bulk_job_files WHERE content IS NULL')
    with op.batch_alter_table('bulk_job_files', schema=None) as batch_op:
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table('bulk_job_file_parts')
