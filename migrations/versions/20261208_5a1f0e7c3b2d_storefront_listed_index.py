"""storefront listed index: a shop's listed products, the latest listed first, paged by
(listed_at, id) without sorting the shop's whole catalogue

Revision ID: 5a1f0e7c3b2d
Revises: b201d9a339e7
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5a1f0e7c3b2d"
down_revision: str | Sequence[str] | None = "b201d9a339e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_products_shop_id_status_listed_at_id",
        "products",
        ["shop_id", "status", "listed_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_products_shop_id_status_listed_at_id", table_name="products")
