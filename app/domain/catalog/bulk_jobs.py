"""Bulk jobs: an upload of products and SKUs imported by the worker, or the shop's whole
catalogue exported to a file, tracked as a job the provider polls.

The API stores the upload with a queued job (one transaction) and answers 202; a worker
claims the job, reads the file and imports it in chunks. Each chunk's rows, its per-line
outcomes and the job's progress commit together, so a worker that dies loses at most the
chunk it was on: the job's heartbeat goes stale, another worker claims it and resumes at
`next_chunk`. Because products and SKUs are matched by the provider's out ids, re-running a
chunk would update instead of duplicating anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.clock import utcnow
from app.domain.ids import new_id

#: A job whose worker has not reported for this long is taken over by another worker.
STALE_AFTER = timedelta(seconds=60)
#: A job that crashed its workers this many times is failed instead of retried again.
MAX_ATTEMPTS = 3
#: Files are stored and read in parts of at most this many bytes: an upload never has to be
#: held whole in memory to be stored.
FILE_PART_BYTES = 1 << 20
#: The `Retry-After` of a full queue: jobs take seconds to minutes, so soon but not at once.
QUEUE_RETRY_AFTER_SECONDS = 30


class JobKind(StrEnum):
    """`import` reads an upload into the catalogue; `export` writes the catalogue to a file;
    `labels` issues e-waybills for up to 500 orders and prints their labels into one PDF
    (the logistics context's batch printing, on the same job machinery: claim, heartbeat,
    resume, file storage)."""

    IMPORT = "import"
    EXPORT = "export"
    LABELS = "labels"


#: The kinds `/v1/bulk-jobs` shows (the catalogue's); label batches are
#: `/v1/waybill-batches`, under the logistics scopes.
CATALOG_KINDS = frozenset({JobKind.IMPORT, JobKind.EXPORT})


class JobStatus(StrEnum):
    """`queued` → `running` → `succeeded` (see the counts for failed rows) or `failed`."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportFormat(StrEnum):
    """Our CSV, our JSON Lines, or Shopify's product CSV export."""

    CSV = "csv"
    JSONL = "jsonl"
    SHOPIFY_CSV = "shopify_csv"


class ExportFormat(StrEnum):
    """JSON Lines or CSV, one line per SKU, in the importer's columns."""

    CSV = "csv"
    JSONL = "jsonl"


class RowOutcome(StrEnum):
    """What a line of an upload did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


@dataclass(frozen=True)
class BulkLimits:
    """Per shop: jobs queued or running at once, and the bytes of the uploads they hold."""

    max_pending_jobs: int
    max_pending_bytes: int


def in_parts(content: bytes) -> Iterable[bytes]:
    return (content[i : i + FILE_PART_BYTES] for i in range(0, len(content), FILE_PART_BYTES))


@dataclass(frozen=True)
class Upload:
    """A received file, checked (`total` SKU lines) and ready to store part by part: `parts`
    is read once and yields at most `FILE_PART_BYTES` at a time."""

    content_type: str
    size: int
    total: int
    parts: Iterable[bytes]


@dataclass(eq=False)
class BulkJob:
    shop_id: str
    kind: JobKind
    format: str
    actor_type: ActorType
    actor_id: str
    grant_id: str | None = None
    request_id: str | None = None
    #: Import options: `category_id` and `type_categories` for Shopify files.
    options: dict[str, Any] = field(default_factory=dict)
    status: JobStatus = JobStatus.QUEUED
    total: int = 0
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    products_created: int = 0
    products_updated: int = 0
    skus_created: int = 0
    skus_updated: int = 0
    #: The first chunk not yet committed; a resumed job starts there.
    next_chunk: int = 0
    attempts: int = 0
    worker_id: str | None = None
    heartbeat_at: datetime | None = None
    error: str | None = None
    id: str = field(default_factory=lambda: new_id("job"))
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: When its result file is deleted (label batches): a download after that is gone.
    expires_at: datetime | None = None
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def actor(self) -> Actor:
        return Actor(
            type=self.actor_type,
            id=self.actor_id,
            surface=Surface.OPEN_API if self.actor_type is ActorType.APP else Surface.SYSTEM,
            grant_id=self.grant_id,
            request_id=self.request_id,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "format": self.format,
            "status": str(self.status),
            "total": self.total,
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "products_created": self.products_created,
            "products_updated": self.products_updated,
            "skus_created": self.skus_created,
            "skus_updated": self.skus_updated,
        }


@dataclass
class JobItem:
    """The outcome of one line of an import: the ids it made or matched, or its errors."""

    job_id: str
    shop_id: str
    line: int
    outcome: RowOutcome
    out_product_id: str | None = None
    out_sku_id: str | None = None
    product_id: str | None = None
    sku_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: A label batch's line: the order, and the waybill it got.
    order_id: str | None = None
    waybill_id: str | None = None


@dataclass(frozen=True)
class StoredFile:
    content_type: str
    content: bytes


UPLOAD = "upload"
RESULT = "result"
