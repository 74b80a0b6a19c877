"""The use cases of bulk jobs: queueing an import or export for a provider, and what the
worker does with a job (claim it, record its progress, finish it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.domain.audit.model import Actor, AuditEntry
from app.domain.catalog import product_rules
from app.domain.catalog.bulk_jobs import (
    CATALOG_KINDS,
    MAX_ATTEMPTS,
    QUEUE_RETRY_AFTER_SECONDS,
    RESULT,
    UPLOAD,
    BulkJob,
    BulkLimits,
    ExportFormat,
    ImportFormat,
    JobItem,
    JobKind,
    JobStatus,
    StoredFile,
    Upload,
)
from app.domain.catalog.errors import (
    BulkJobNotFound,
    BulkQueueFull,
    BulkStorageFull,
    FileNotReady,
    InvalidUpload,
)
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.catalog.products import Condition
from app.domain.clock import utcnow
from app.domain.errors import ValidationFailed
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Shop


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


async def check_room(uow: CatalogUnitOfWork, shop_id: str, limits: BulkLimits, size: int) -> None:
    """Whether the shop may queue a job with a file of `size` bytes now: asked before an
    upload is received, so a full queue is refused without taking the file first
    (`start_import` asks again when it stores the file)."""
    await _check_quota(uow, shop_id, limits, size)


async def _check_quota(uow: CatalogUnitOfWork, shop_id: str, limits: BulkLimits, size: int) -> None:
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
    uow: CatalogUnitOfWork,
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
        raise InvalidUpload("The file has a header but no product lines.")
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
    uow: CatalogUnitOfWork, shop: Shop, category_id: str | None, type_categories: dict[str, str]
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
    uow: CatalogUnitOfWork, actor: Actor, shop: Shop, fmt: ExportFormat, limits: BulkLimits
) -> BulkJob:
    return await start_job(uow, actor, shop.id, JobKind.EXPORT, str(fmt), limits)


async def start_job(
    uow: CatalogUnitOfWork,
    actor: Actor,
    shop_id: str,
    kind: JobKind,
    fmt: str,
    limits: BulkLimits,
    *,
    options: dict[str, Any] | None = None,
    total: int = 0,
) -> BulkJob:
    """A queued job with no upload (an export, a label batch), within the shop's quota."""
    await _check_quota(uow, shop_id, limits, 0)
    job = BulkJob(
        shop_id=shop_id,
        kind=kind,
        format=fmt,
        options=options or {},
        total=total,
        **_actor_fields(actor),
    )
    uow.bulk.add(job)
    await uow.flush()
    return job


async def get(
    uow: CatalogUnitOfWork,
    shop_id: str,
    job_id: str,
    kinds: frozenset[JobKind] = CATALOG_KINDS,
) -> BulkJob:
    """The shop's job of one of `kinds` (a label batch is not a catalogue job, nor the
    other way round)."""
    job = await uow.bulk.get(shop_id, job_id)
    if job is None or job.kind not in kinds:
        raise BulkJobNotFound(f"No bulk job {job_id} in this shop.")
    return job


async def list_for_shop(
    uow: CatalogUnitOfWork, shop_id: str, page: PageRequest, kind: JobKind | None
) -> Page[BulkJob]:
    return await uow.bulk.list_for_shop(shop_id, page, kind)


async def items(
    uow: CatalogUnitOfWork, shop_id: str, job_id: str, *, failed_only: bool
) -> list[JobItem]:
    await get(uow, shop_id, job_id)
    return await uow.bulk.items(shop_id, job_id, failed_only=failed_only)


async def result_file(uow: CatalogUnitOfWork, shop_id: str, job_id: str) -> StoredFile:
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
    uow: CatalogUnitOfWork, worker_id: str, *, job_id: str | None = None, stale_after: timedelta
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


async def owned(uow: CatalogUnitOfWork, job_id: str, worker_id: str) -> BulkJob | None:
    """The job, locked, while this worker still owns it; None once another took it over."""
    job = await uow.bulk.lock_for_worker(job_id, worker_id)
    if job is None or job.status is not JobStatus.RUNNING:
        return None
    return job


def _audit_finished(uow: CatalogUnitOfWork, job: BulkJob) -> None:
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


async def finish(uow: CatalogUnitOfWork, job: BulkJob, *, error: str | None = None) -> None:
    now = utcnow()
    job.status = JobStatus.FAILED if error else JobStatus.SUCCEEDED
    job.error = error
    job.total = max(job.total, job.processed)
    job.finished_at = job.updated_at = job.heartbeat_at = now
    await uow.bulk.save_progress(job)
    _audit_finished(uow, job)


async def heartbeat(uow: CatalogUnitOfWork, job: BulkJob) -> None:
    job.heartbeat_at = job.updated_at = utcnow()
    await uow.bulk.save_progress(job)
