"""Tables: Industry qualifications, products, SKUs and bulk jobs."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.audit.model import ActorType
from app.domain.catalog.bulk_jobs import JobKind, JobStatus, RowOutcome
from app.domain.catalog.products import Condition, ProductStatus, RevisionStatus
from app.domain.catalog.qualifications import QualificationStatus
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import JSONType, UTCDateTime, str_enum

industry_qualifications = sa.Table(
    "industry_qualifications",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("category_id", sa.String(40)),
    sa.Column("brand_id", sa.String(40)),
    sa.Column("documents", JSONType, nullable=False),
    sa.Column("note", sa.String(500)),
    sa.Column("status", str_enum(QualificationStatus, 16), nullable=False),
    sa.Column("rejection_reason", sa.String(500)),
    sa.Column("submitted_by", ID, nullable=False),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.Column("reviewed_by", sa.String(64)),
    sa.Column("reviewed_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    # The operator's review finds a qualification by id alone.
    sa.Index(None, "id"),
    sa.Index(None, "status", "id"),
)


products = sa.Table(
    "products",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.String(60), nullable=False),
    sa.Column("subtitle", sa.String(120), nullable=False),
    sa.Column("description", JSONType, nullable=False),
    sa.Column("images", JSONType, nullable=False),
    sa.Column("category_id", sa.String(40), nullable=False),
    sa.Column("brand_id", sa.String(40), nullable=False, server_default="brand_none"),
    sa.Column("brand", sa.String(60)),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("condition", str_enum(Condition, 16), nullable=False),
    sa.Column("regions", JSONType, nullable=False),
    # The freight template its orders pay (`freight_templates`; none: the shop's default).
    sa.Column("freight_template_id", ID),
    sa.Column("out_product_id", sa.String(64)),
    sa.Column("status", str_enum(ProductStatus, 16), nullable=False),
    sa.Column("rejection_reason", sa.String(500)),
    sa.Column("ban_reason", sa.String(500)),
    sa.Column("submitted_at", UTCDateTime()),
    sa.Column("reviewed_at", UTCDateTime()),
    sa.Column("listed_at", UTCDateTime()),
    sa.Column("ever_listed", sa.Boolean, nullable=False, server_default=sa.false()),
    # A live product's edit of reviewed fields, waiting for (or rejected by) review.
    sa.Column("pending_changes", JSONType),
    sa.Column("pending_status", str_enum(RevisionStatus, 16)),
    sa.Column("pending_rejection_reason", sa.String(500)),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    # NULLs never collide, so products without a provider id are not constrained.
    sa.PrimaryKeyConstraint("shop_id", "id"),
    # The operator's review finds a product by id alone.
    sa.Index(None, "id"),
    sa.UniqueConstraint("shop_id", "out_product_id"),
    sa.Index(None, "shop_id", "updated_at", "id"),
    # The storefront's page: a shop's listed products, the latest listed first.
    sa.Index(None, "shop_id", "status", "listed_at", "id"),
    sa.Index(None, "status", "submitted_at", "id"),
    sa.Index(None, "pending_status", "submitted_at", "id"),
    # Deleting a template asks whether a product still names it.
    sa.Index(None, "shop_id", "freight_template_id"),
)


skus = sa.Table(
    "skus",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("product_id", ID, nullable=False),
    sa.Column("sale_attrs", JSONType, nullable=False),
    sa.Column("attrs_key", sa.String(1000), nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("market_price", sa.BigInteger),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("out_sku_id", sa.String(64)),
    sa.Column("barcode", sa.String(64)),
    sa.Column("weight_g", sa.Integer),
    # NULL: no low-stock alert for this SKU.
    sa.Column("low_stock_threshold", sa.Integer),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.ForeignKeyConstraint(
        ["shop_id", "product_id"], ["products.shop_id", "products.id"], ondelete="CASCADE"
    ),
    sa.UniqueConstraint("shop_id", "out_sku_id"),
    sa.UniqueConstraint("shop_id", "product_id", "attrs_key"),
    sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
    sa.CheckConstraint("price >= 1", name="price_positive"),
    sa.CheckConstraint("low_stock_threshold >= 0", name="low_stock_threshold_not_negative"),
)


bulk_jobs = sa.Table(
    "bulk_jobs",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", str_enum(JobKind, 16), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("actor_type", str_enum(ActorType, 16), nullable=False),
    sa.Column("actor_id", ID, nullable=False),
    sa.Column("grant_id", ID),
    sa.Column("request_id", sa.String(64)),
    sa.Column("options", JSONType, nullable=False),
    sa.Column("status", str_enum(JobStatus, 16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("processed", sa.Integer, nullable=False),
    sa.Column("succeeded", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("products_created", sa.Integer, nullable=False),
    sa.Column("products_updated", sa.Integer, nullable=False),
    sa.Column("skus_created", sa.Integer, nullable=False),
    sa.Column("skus_updated", sa.Integer, nullable=False),
    sa.Column("next_chunk", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("worker_id", sa.String(64)),
    sa.Column("heartbeat_at", UTCDateTime()),
    sa.Column("error", sa.String(500)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("expires_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    # The worker loads the job it claimed by id alone.
    sa.Index(None, "id"),
    # The workers' claim: queued jobs, and running ones whose heartbeat went stale; and the
    # shop whose last job started longest ago (round robin).
    sa.Index(None, "status", "created_at"),
    sa.Index(None, "shop_id", "started_at"),
)


#: The upload of an import and the file of an export, in the database so that API and
#: worker processes on different machines both reach them.
bulk_job_files = sa.Table(
    "bulk_job_files",
    metadata,
    sa.Column("job_id", ID, nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "job_id", "purpose"),
    sa.ForeignKeyConstraint(
        ["shop_id", "job_id"], ["bulk_jobs.shop_id", "bulk_jobs.id"], ondelete="CASCADE"
    ),
)


#: A file's content in parts of at most `FILE_PART_BYTES`, so that an upload is written (and
#: read) a part at a time instead of as one value held whole in the API's memory.
bulk_job_file_parts = sa.Table(
    "bulk_job_file_parts",
    metadata,
    sa.Column("job_id", ID, nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "job_id", "purpose", "seq"),
    sa.ForeignKeyConstraint(
        ["shop_id", "job_id"], ["bulk_jobs.shop_id", "bulk_jobs.id"], ondelete="CASCADE"
    ),
)


#: One row per line of an import: what it created or updated, or why it failed.
bulk_job_items = sa.Table(
    "bulk_job_items",
    metadata,
    sa.Column("job_id", ID, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("outcome", str_enum(RowOutcome, 16), nullable=False),
    sa.Column("out_product_id", sa.String(64)),
    sa.Column("out_sku_id", sa.String(64)),
    sa.Column("product_id", ID),
    sa.Column("sku_id", ID),
    sa.Column("errors", JSONType, nullable=False),
    # A label batch's line: the order, and the waybill it got.
    sa.Column("order_id", ID),
    sa.Column("waybill_id", ID),
    sa.PrimaryKeyConstraint("shop_id", "job_id", "line"),
    sa.ForeignKeyConstraint(
        ["shop_id", "job_id"], ["bulk_jobs.shop_id", "bulk_jobs.id"], ondelete="CASCADE"
    ),
    sa.Index(None, "job_id", "outcome", "line"),
)
