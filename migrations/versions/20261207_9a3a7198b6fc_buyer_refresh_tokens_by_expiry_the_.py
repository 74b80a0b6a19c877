"""buyer refresh tokens by expiry: the worker's housekeeping prunes them every minute

Revision ID: 9a3a7198b6fc
Revises: 1497220ed52a
Create Date: 2026-12-07 05:17:45.057200
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9a3a7198b6fc"
down_revision: str | Sequence[str] | None = "1497220ed52a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_buyer_refresh_tokens_expires_at", "buyer_refresh_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_buyer_refresh_tokens_expires_at", table_name="buyer_refresh_tokens")
