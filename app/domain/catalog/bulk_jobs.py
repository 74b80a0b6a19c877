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

from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface
from app.domain.catalog import bulk_files, product_rules
from app.domain.catalog.products import Condition
from app.domain.clock import utcnow
from app.domain.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from app.domain.ids import new_id
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Shop
from app.domain.uow import UnitOfWork

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
    """`import` reads an upload into the catalogue; `export` writes the catalogue to a file."""

    IMPORT = "import"
    EXPORT = "export"


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


class BulkJobNotFound(NotFound):
    code = "bulk_job_not_found"
    title = "Bulk job not found"


class FileNotReady(Conflict):
    code = "file_not_ready"
    title = "The job has no file to download (yet)"


class BulkQueueFull(TooManyRequests):
    code = "bulk_queue_full"
    title = "The shop has too many bulk jobs waiting"


class BulkStorageFull(TooManyRequests):
    code = "bulk_storage_full"
    title = "The shop's waiting uploads take too much space"


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


@dataclass(frozen=True)
class StoredFile:
    content_type: str
    content: bytes


UPLOAD = "upload"
RESULT = "result"


# --- the provider's side --------------------------------------------------------------------


def _actor_fields(actor: Actor) -> dict[str, Any]:
    return {
        "actor_type": actor.type,
        "actor_id": actor.id,
        "grant_id": actor.grant_id,
        "request_id": actor.request_id,
    }


def check_import_options(
    fmt: ImportFormat, category_id: str | None, type_categories: dict[str, str]
) -> None:
    if fmt is not ImportFormat.SHOPIFY_CSV and (category_id is not None or type_categories):
        raise ValidationFailed.field(
            "query.category_id", "category_id and type_category are for shopify_csv imports."
        )


async def check_room(uow: UnitOfWork, shop_id: str, limits: BulkLimits, size: int) -> None:
    """Whether the shop may queue a job with a file of `size` bytes now: asked before an
    upload is received, so a full queue is refused without taking the file first
    (`start_import` asks again when it stores the file)."""
    await _check_quota(uow, shop_id, limits, size)


async def _check_quota(uow: UnitOfWork, shop_id: str, limits: BulkLimits, size: int) -> None:
    """Counted under the shop's lock, so concurrent uploads cannot all squeeze past."""
    jobs, stored = await uow.bulk.pending(shop_id)
    retry = {"Retry-After": str(QUEUE_RETRY_AFTER_SECONDS)}
    if jobs >= limits.max_pending_jobs:
        raise BulkQueueFull(
            f"The shop has {jobs} bulk jobs queued or running, the most it may have; send "
            "this one when one of them has finished.",
            extra={"limit": limits.max_pending_jobs, "pending_jobs": jobs},
            headers=retry,
        )
    if stored + size > limits.max_pending_bytes:
        raise BulkStorageFull(
            f"The shop's queued imports hold {stored} bytes; with this file's {size} that is "
            f"more than the {limits.max_pending_bytes} a shop may have waiting. Send it when "
            "a job has finished.",
            extra={"limit_bytes": limits.max_pending_bytes, "pending_bytes": stored},
            headers=retry,
        )


async def start_import(
    uow: UnitOfWork,
    actor: Actor,
    shop: Shop,
    fmt: ImportFormat,
    upload: Upload,
    limits: BulkLimits,
    *,
    category_id: str | None = None,
    type_categories: dict[str, str] | None = None,
) -> BulkJob:
    """Queue an upload whose shape was checked (`bulk_files.inspect`; its rows are the
    worker's job) and store it, within the shop's limits."""
    shop.ensure_active()
    type_categories = type_categories or {}
    check_import_options(fmt, category_id, type_categories)
    if fmt is ImportFormat.SHOPIFY_CSV:
        await _check_targets(uow, shop, category_id, type_categories)
    total = upload.total
    if total == 0:
        raise bulk_files.InvalidUpload("The file has a header but no product lines.")
    await _check_quota(uow, shop.id, limits, upload.size)
    options: dict[str, Any] = {}
    if category_id is not None:
        options["category_id"] = category_id
    if type_categories:
        options["type_categories"] = type_categories
    job = BulkJob(
        shop_id=shop.id,
        kind=JobKind.IMPORT,
        format=str(fmt),
        options=options,
        total=total,
        **_actor_fields(actor),
    )
    uow.bulk.add(job)
    await uow.flush()
    await uow.bulk.put_file(shop.id, job.id, UPLOAD, upload.content_type, upload.size, upload.parts)
    return job


async def _check_targets(
    uow: UnitOfWork, shop: Shop, category_id: str | None, type_categories: dict[str, str]
) -> None:
    """The categories a Shopify import puts products in must be leaves the shop can use."""
    if category_id is None and not type_categories:
        raise ValidationFailed.field(
            "query.category_id",
            "Shopify's product Type does not map to our categories: choose the category "
            "for the products (category_id), or one per Type (type_category=Type=category_id).",
            type_="missing",
        )
    sc = await product_rules.shop_catalog(uow, shop)
    errors = []
    if category_id is not None:
        errors += product_rules.category_errors(sc, category_id, Condition.NEW, "q")
    for type_, target in type_categories.items():
        for e in product_rules.category_errors(sc, target, Condition.NEW, "q"):
            if e["loc"][-1] == "category_id":
                errors.append({**e, "loc": ["query", "type_category", type_]})
    errors = [
        {**e, "loc": ["query", *e["loc"][1:]]} if e["loc"][0] == "q" else e
        for e in errors
        if e["type"] != "condition_not_allowed"
    ]
    product_rules.raise_errors(errors)


async def start_export(
    uow: UnitOfWork, actor: Actor, shop: Shop, fmt: ExportFormat, limits: BulkLimits
) -> BulkJob:
    await _check_quota(uow, shop.id, limits, 0)
    job = BulkJob(shop_id=shop.id, kind=JobKind.EXPORT, format=str(fmt), **_actor_fields(actor))
    uow.bulk.add(job)
    await uow.flush()
    return job


async def get(uow: UnitOfWork, shop_id: str, job_id: str) -> BulkJob:
    job = await uow.bulk.get(shop_id, job_id)
    if job is None:
        raise BulkJobNotFound(f"No bulk job {job_id} in this shop.")
    return job


async def list_for_shop(
    uow: UnitOfWork, shop_id: str, page: PageRequest, kind: JobKind | None
) -> Page[BulkJob]:
    return await uow.bulk.list_for_shop(shop_id, page, kind)


async def items(uow: UnitOfWork, shop_id: str, job_id: str, *, failed_only: bool) -> list[JobItem]:
    await get(uow, shop_id, job_id)
    return await uow.bulk.items(shop_id, job_id, failed_only=failed_only)


async def result_file(uow: UnitOfWork, shop_id: str, job_id: str) -> StoredFile:
    job = await get(uow, shop_id, job_id)
    if job.kind is not JobKind.EXPORT:
        raise FileNotReady(
            "Only export jobs have a file; an import's outcome is its report and errors.",
            extra={"kind": str(job.kind)},
        )
    stored = await uow.bulk.get_file(shop_id, job_id, RESULT)
    if stored is None:
        raise FileNotReady(
            f"The export is {job.status}; the file is ready once the job has succeeded.",
            extra={"current_status": str(job.status)},
        )
    return stored


# --- the worker's side ------------------------------------------------------------------------


async def claim(
    uow: UnitOfWork, worker_id: str, *, job_id: str | None = None, stale_after: timedelta
) -> BulkJob | None:
    """Take a queued job, or one whose worker went silent (never one that is fine).

    Fair across shops, round robin: the job comes from the shop whose last job started
    longest ago (a shop with none started first), and within the shop it is the oldest. A
    shop that queued many big jobs gets one turn per round, not the whole worker.

    Several workers may race: the claim is one conditional update, so exactly one wins.
    """
    now = utcnow()
    claimed = await uow.bulk.claim(worker_id, now, now - stale_after, job_id=job_id)
    if claimed is None:
        return None
    job = await uow.bulk.get(claimed.shop_id, claimed.id)
    assert job is not None
    if job.attempts > MAX_ATTEMPTS:
        job.status = JobStatus.FAILED
        job.error = f"Gave up after {MAX_ATTEMPTS} attempts: the job kept stopping its worker."
        job.finished_at = job.updated_at = now
        await uow.bulk.save_progress(job)
        _audit_finished(uow, job)
        return None
    return job


async def owned(uow: UnitOfWork, job_id: str, worker_id: str) -> BulkJob | None:
    """The job, locked, while this worker still owns it; None once another took it over."""
    job = await uow.bulk.lock_for_worker(job_id, worker_id)
    if job is None or job.status is not JobStatus.RUNNING:
        return None
    return job


def _audit_finished(uow: UnitOfWork, job: BulkJob) -> None:
    """One audit entry per job, with its counts: not one per row."""
    uow.audit.add(
        AuditEntry.record(
            job.actor,
            f"bulk_{job.kind}.{job.status}",
            target_type="bulk_job",
            target_id=job.id,
            shop_id=job.shop_id,
            after=job.summary() | ({"error": job.error} if job.error else {}),
        )
    )


async def finish(uow: UnitOfWork, job: BulkJob, *, error: str | None = None) -> None:
    now = utcnow()
    job.status = JobStatus.FAILED if error else JobStatus.SUCCEEDED
    job.error = error
    job.total = max(job.total, job.processed)
    job.finished_at = job.updated_at = job.heartbeat_at = now
    await uow.bulk.save_progress(job)
    _audit_finished(uow, job)


async def heartbeat(uow: UnitOfWork, job: BulkJob) -> None:
    job.heartbeat_at = job.updated_at = utcnow()
    await uow.bulk.save_progress(job)
