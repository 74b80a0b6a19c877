"""tenant keys include shop_id: (shop_id, id) primary keys, and foreign keys between tenant
tables on (shop_id, ...), as a table distributed by shop_id needs (docs/scaling.md)

Revision ID: 7e3c1a9d4b52
Revises: 639116133d7f
Create Date: 2026-12-06 23:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7e3c1a9d4b52"
down_revision: str | Sequence[str] | None = "639116133d7f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Children of a parent tenant table: (table, old primary key, new primary key).
_JOB_CHILDREN = (
    ("bulk_job_files", ["job_id", "purpose"], ["shop_id", "job_id", "purpose"]),
    ("bulk_job_file_parts", ["job_id", "purpose", "seq"], ["shop_id", "job_id", "purpose", "seq"]),
    ("bulk_job_items", ["job_id", "line"], ["shop_id", "job_id", "line"]),
)


def _drop_child_fks() -> None:
    with op.batch_alter_table("skus") as b:
        b.drop_constraint("fk_skus_product_id_products", type_="foreignkey")
    for table, _, _ in _JOB_CHILDREN:
        with op.batch_alter_table(table) as b:
            b.drop_constraint(f"fk_{table}_job_id_bulk_jobs", type_="foreignkey")


def upgrade() -> None:
    # Foreign keys first: a parent's primary key cannot be replaced while one refers to it.
    _drop_child_fks()
    for table in ("industry_qualifications", "products", "bulk_jobs"):
        with op.batch_alter_table(table) as b:
            b.drop_constraint(f"pk_{table}", type_="primary")
            b.create_primary_key(f"pk_{table}", ["shop_id", "id"])
            # Operator and worker lookups by id alone.
            b.create_index(f"ix_{table}_id", ["id"])
    for table in ("industry_qualifications", "bulk_jobs"):
        op.drop_index(f"ix_{table}_shop_id_id", table_name=table)  # the primary key now
    with op.batch_alter_table("skus") as b:
        b.drop_constraint("pk_skus", type_="primary")
        b.create_primary_key("pk_skus", ["shop_id", "id"])
        b.drop_constraint("uq_skus_product_id_attrs_key", type_="unique")
        b.create_unique_constraint(
            "uq_skus_shop_id_product_id_attrs_key", ["shop_id", "product_id", "attrs_key"]
        )
        b.create_foreign_key(
            "fk_skus_shop_id_products",
            "products",
            ["shop_id", "product_id"],
            ["shop_id", "id"],
            ondelete="CASCADE",
        )
    for table, old, new in _JOB_CHILDREN:
        with op.batch_alter_table(table) as b:
            b.drop_constraint(f"pk_{table}", type_="primary")
            b.create_primary_key(f"pk_{table}", new)
            b.create_foreign_key(
                f"fk_{table}_shop_id_bulk_jobs",
                "bulk_jobs",
                ["shop_id", "job_id"],
                ["shop_id", "id"],
                ondelete="CASCADE",
            )


def downgrade() -> None:
    for table, old, new in _JOB_CHILDREN:
        with op.batch_alter_table(table) as b:
            b.drop_constraint(f"fk_{table}_shop_id_bulk_jobs", type_="foreignkey")
            b.drop_constraint(f"pk_{table}", type_="primary")
            b.create_primary_key(f"pk_{table}", old)
    with op.batch_alter_table("skus") as b:
        b.drop_constraint("fk_skus_shop_id_products", type_="foreignkey")
        b.drop_constraint("uq_skus_shop_id_product_id_attrs_key", type_="unique")
        b.create_unique_constraint("uq_skus_product_id_attrs_key", ["product_id", "attrs_key"])
        b.drop_constraint("pk_skus", type_="primary")
        b.create_primary_key("pk_skus", ["id"])
    for table in ("industry_qualifications", "bulk_jobs"):
        op.create_index(f"ix_{table}_shop_id_id", table, ["shop_id", "id"])
    for table in ("industry_qualifications", "products", "bulk_jobs"):
        with op.batch_alter_table(table) as b:
            b.drop_index(f"ix_{table}_id")
            b.drop_constraint(f"pk_{table}", type_="primary")
            b.create_primary_key(f"pk_{table}", ["id"])
    with op.batch_alter_table("skus") as b:
        b.create_foreign_key(
            "fk_skus_product_id_products", "products", ["product_id"], ["id"], ondelete="CASCADE"
        )
    for table, _, _ in _JOB_CHILDREN:
        with op.batch_alter_table(table) as b:
            b.create_foreign_key(
                f"fk_{table}_job_id_bulk_jobs", "bulk_jobs", ["job_id"], ["id"], ondelete="CASCADE"
            )
