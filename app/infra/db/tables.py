"""Storage: SQLAlchemy Core tables. The domain classes are mapped onto them in `mapping.py`."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.audit.model import ActorType, Surface
from app.domain.authz.model import AppStatus
from app.domain.catalog.bulk_jobs import JobKind, JobStatus, RowOutcome
from app.domain.catalog.products import Condition, ProductStatus, RevisionStatus
from app.domain.catalog.qualifications import QualificationStatus
from app.domain.shops.model import ShopStatus, SubjectType
from app.domain.shops.permissions import Role
from app.domain.timers.model import TimerStatus
from app.domain.webhooks.model import DeliveryStatus
from app.infra.db.types import JSONType, SpaceList, UTCDateTime, str_enum

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(40)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("username", sa.String(32), nullable=False, unique=True),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_operator", sa.Boolean, nullable=False, server_default=sa.false()),
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("user_agent", sa.String(255)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Index(None, "account_id"),
)

shops = sa.Table(
    "shops",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("subject_type", str_enum(SubjectType, 16), nullable=False),
    sa.Column("status", str_enum(ShopStatus, 32), nullable=False),
    sa.Column("logo_url", sa.String(2048)),
    sa.Column("rejection_reason", sa.String(500)),
    sa.Column("suspended_at", UTCDateTime()),
    sa.Column("suspension_reason", sa.String(500)),
    sa.Column("submitted_at", UTCDateTime()),
    sa.Column("reviewed_at", UTCDateTime()),
    sa.Column("opened_at", UTCDateTime()),
    sa.Column("created_by", ID, sa.ForeignKey("accounts.id"), nullable=False),
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "status", "submitted_at", "id"),
)

shop_qualifications = sa.Table(
    "shop_qualifications",
    metadata,
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("licence_number", sa.String(18), nullable=False),
    sa.Column("registered_name", sa.String(128), nullable=False),
    sa.Column("licence_image_url", sa.String(2048), nullable=False),
    sa.Column("operator_name", sa.String(64), nullable=False),
    sa.Column("operator_id_number_encrypted", sa.Text, nullable=False),
    sa.Column("operator_id_number_last4", sa.String(4), nullable=False),
    sa.Column("bank_account_name", sa.String(128), nullable=False),
    sa.Column("bank_name", sa.String(128), nullable=False),
    sa.Column("bank_account_number_encrypted", sa.Text, nullable=False),
    sa.Column("bank_account_number_last4", sa.String(4), nullable=False),
    sa.Column("submitted_by", ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

shop_members = sa.Table(
    "shop_members",
    metadata,
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("role", str_enum(Role, 32), nullable=False),
    sa.Column("added_by", ID, sa.ForeignKey("accounts.id")),
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "account_id", "role"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE")),
    sa.Column("actor_type", str_enum(ActorType, 16), nullable=False),
    sa.Column("actor_id", ID, nullable=False),
    sa.Column("grant_id", ID),
    sa.Column("surface", str_enum(Surface, 16), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", ID, nullable=False),
    sa.Column("before", JSONType),
    sa.Column("after", JSONType),
    sa.Column("request_id", sa.String(64)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index(None, "shop_id", "id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope_key", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.String(512), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("response_status", sa.Integer),
    sa.Column("response_headers", JSONType),
    sa.Column("response_body", sa.LargeBinary),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("locked_until", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Index(None, "expires_at"),
)

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("developer_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("client_id", sa.String(40), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("previous_secret_hash", sa.String(64)),
    sa.Column("previous_secret_expires_at", UTCDateTime()),
    sa.Column("secret_rotated_at", UTCDateTime()),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(2000), nullable=False),
    sa.Column("logo_url", sa.String(2048)),
    sa.Column("homepage_url", sa.String(2048)),
    sa.Column("install_url", sa.String(2048)),
    sa.Column("support_email", sa.String(254)),
    sa.Column("service_types", SpaceList(), nullable=False),
    sa.Column("redirect_uris", JSONType, nullable=False),
    sa.Column("scopes", SpaceList(), nullable=False),
    sa.Column("status", str_enum(AppStatus, 16), nullable=False),
    sa.Column("rate_limit_burst", sa.Integer),
    sa.Column("rate_limit_per_second", sa.Float),
    sa.Column("published_at", UTCDateTime()),
    sa.Column("suspended_at", UTCDateTime()),
    sa.Column("suspension_reason", sa.String(500)),
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "developer_id", "id"),
    sa.Index(None, "status", "id"),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scopes", SpaceList(), nullable=False),
    sa.Column("granted_by", ID, sa.ForeignKey("accounts.id"), nullable=False),
    *_timestamps(),
    sa.Column("last_used_at", UTCDateTime()),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("revoked_by", ID),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "shop_id", "id"),
    # One grant in force per (app, shop); revoked ones stay as history.
    sa.Index(
        "uq_grants_active_app_shop",
        "app_id",
        "shop_id",
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
        sqlite_where=sa.text("revoked_at IS NULL"),
    ),
)

oauth_codes = sa.Table(
    "oauth_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("grant_id", ID, sa.ForeignKey("grants.id"), nullable=False),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("family_id", ID, nullable=False),
    sa.Column("redirect_uri", sa.String(2048), nullable=False),
    sa.Column("scopes", SpaceList(), nullable=False),
    sa.Column("code_challenge", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime()),
    sa.Index(None, "expires_at"),
)

token_families = sa.Table(
    "token_families",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("grant_id", ID, sa.ForeignKey("grants.id"), nullable=False),
    sa.Column("scopes", SpaceList(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("revoked_reason", sa.String(200)),
    sa.Index(None, "grant_id"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "family_id", ID, sa.ForeignKey("token_families.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("rotated_at", UTCDateTime()),
    sa.Index(None, "family_id"),
)

outbox_events = sa.Table(
    "outbox_events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("shop_id", ID),
    sa.Column("app_id", ID),
    sa.Column("resource_id", ID),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    #: Set once the webhook worker has turned the event into deliveries.
    sa.Column("dispatched_at", UTCDateTime()),
    #: 1, 2, 3… per resource for sequenced families (`order.*`), in commit order.
    sa.Column("sequence", sa.BigInteger),
    sa.Index(None, "shop_id", "id"),
    sa.Index(None, "dispatched_at", "id"),
    # A sequenced delivery waits while an earlier event of its resource is not fanned out.
    sa.Index(
        "ix_outbox_events_undispatched_sequence",
        "resource_id",
        "sequence",
        postgresql_where=sa.text("dispatched_at IS NULL AND sequence IS NOT NULL"),
        sqlite_where=sa.text("dispatched_at IS NULL AND sequence IS NOT NULL"),
    ),
)

#: The last `sequence` given to each sequenced resource's events. The row is locked by the
#: transaction that takes the next number until it commits, so numbers follow commit order
#: and a rolled-back transaction leaves no gap.
event_sequences = sa.Table(
    "event_sequences",
    metadata,
    sa.Column("resource_id", ID, primary_key=True),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    sa.Column("topics", SpaceList(), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("secret_enc", sa.String(500), nullable=False),
    sa.Column("previous_secret_enc", sa.String(500)),
    sa.Column("previous_secret_until", UTCDateTime()),
    sa.Column("disabled_reason", sa.String(200)),
    sa.Column("failing_since", UTCDateTime()),
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "app_id", "id"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("event_id", ID, nullable=False),
    sa.Column(
        "endpoint_id", ID, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("app_id", ID, nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("shop_id", ID),
    sa.Column("resource_id", ID),
    sa.Column("sequence", sa.BigInteger),
    sa.Column("status", str_enum(DeliveryStatus, 16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.String(500)),
    sa.Column("delivered_at", UTCDateTime()),
    *_timestamps(),
    sa.UniqueConstraint("event_id", "endpoint_id"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "endpoint_id", "resource_id", "id"),
    sa.Index(None, "endpoint_id", "id"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column(
        "delivery_id",
        ID,
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "endpoint_id", ID, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.String(500)),
    sa.Column("response_head", sa.String(1024)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index(None, "endpoint_id", "id"),
    sa.Index(None, "delivery_id", "id"),
)

industry_qualifications = sa.Table(
    "industry_qualifications",
    metadata,
    sa.Column("id", ID, primary_key=True),
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
    sa.Index(None, "shop_id", "id"),
    sa.Index(None, "status", "id"),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", ID, primary_key=True),
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
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    # NULLs never collide, so products without a provider id are not constrained.
    sa.UniqueConstraint("shop_id", "out_product_id"),
    sa.Index(None, "shop_id", "updated_at", "id"),
    sa.Index(None, "status", "submitted_at", "id"),
    sa.Index(None, "pending_status", "submitted_at", "id"),
)

skus = sa.Table(
    "skus",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("product_id", ID, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
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
    *_timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("shop_id", "out_sku_id"),
    sa.UniqueConstraint("product_id", "attrs_key"),
    sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
    sa.CheckConstraint("price >= 1", name="price_positive"),
    sa.CheckConstraint("low_stock_threshold >= 0", name="low_stock_threshold_not_negative"),
)

bulk_jobs = sa.Table(
    "bulk_jobs",
    metadata,
    sa.Column("id", ID, primary_key=True),
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
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index(None, "shop_id", "id"),
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
    sa.Column("job_id", ID, sa.ForeignKey("bulk_jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("purpose", sa.String(16), primary_key=True),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

#: A file's content in parts of at most `FILE_PART_BYTES`, so that an upload is written (and
#: read) a part at a time instead of as one value held whole in the API's memory.
bulk_job_file_parts = sa.Table(
    "bulk_job_file_parts",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("bulk_jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("purpose", sa.String(16), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

#: One row per line of an import: what it created or updated, or why it failed.
bulk_job_items = sa.Table(
    "bulk_job_items",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("bulk_jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("outcome", str_enum(RowOutcome, 16), nullable=False),
    sa.Column("out_product_id", sa.String(64)),
    sa.Column("out_sku_id", sa.String(64)),
    sa.Column("product_id", ID),
    sa.Column("sku_id", ID),
    sa.Column("errors", JSONType, nullable=False),
    sa.Index(None, "job_id", "outcome", "line"),
)

#: Durable timers (`app/domain/timers`): one row per `(kind, key)`, fired once by a worker.
timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", ID, primary_key=True),
    # Null for a platform timer that concerns no shop.
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE")),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("status", str_enum(TimerStatus, 16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # A worker's claim: its token, and when another worker may take the timer over.
    sa.Column("lease_token", sa.String(40)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("last_error", sa.String(500)),
    *_timestamps(),
    sa.Column("fired_at", UTCDateTime()),
    sa.UniqueConstraint("kind", "key"),
    # The workers' claim: pending timers by due time.
    sa.Index(None, "status", "due_at"),
    sa.Index(None, "shop_id", "id"),
)
