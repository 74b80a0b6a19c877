"""Batch printing (批量打单): e-waybills for up to 500 orders and their labels in one PDF,
as an asynchronous job the provider polls.

The batch is a job of the bulk job machinery (`JobKind.LABELS`): queued by the API, claimed
by the bulk worker, run in chunks that each commit their waybills, their per-order outcomes
and the job's progress together; a worker that dies mid-batch is taken over and resumes at
the next chunk. Each order's waybill is asked of the carrier with a request id made of the
batch and the order's position, so a chunk run again after a crash gets the waybills the
carrier already issued, never second ones. An order that cannot get a waybill (not paid,
not found, shipped already, the carrier failing three times) is a failed line with its
problem code; the others go on.

Once every chunk is done the worker prints the labels, in the batch's order, into one PDF
stored with the job (in parts), kept for `MINISHOP_LABEL_BATCH_TTL_HOURS`; housekeeping
deletes it then, and a download after that is a 410.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.domain.audit.model import Actor
from app.domain.catalog import bulk_job_services as jobs
from app.domain.catalog.bulk_jobs import (
    RESULT,
    BulkJob,
    BulkLimits,
    JobItem,
    JobKind,
    JobStatus,
    RowOutcome,
    StoredFile,
)
from app.domain.catalog.errors import BulkJobNotFound
from app.domain.clock import utcnow
from app.domain.errors import DomainError, ValidationFailed
from app.domain.logistics import account_services as accounts
from app.domain.logistics import waybill_services as waybills
from app.domain.logistics.errors import (
    CarrierFailure,
    LabelsExpired,
    LabelsNotReady,
    WaybillBatchNotFound,
)
from app.domain.logistics.ports import LogisticsUnitOfWork
from app.domain.logistics.waybills import EWaybill
from app.domain.orders.errors import OrderNotFound
from app.domain.ports import Cipher

#: Orders per batch, as the issue and the Mini Shop's batch printing allow.
MAX_BATCH_ORDERS = 500
#: Orders per chunk: one transaction each.
CHUNK_ORDERS = 50
#: A carrier failure for one order is retried this many more times before the line fails.
CARRIER_RETRIES = 2
PDF = "application/pdf"


@dataclass(frozen=True)
class BatchRequest:
    account_id: str
    sender_address_id: str | None
    order_ids: Sequence[str]
    ship: bool
    weight_grams: int | None


async def start(
    uow: LogisticsUnitOfWork, actor: Actor, shop_id: str, req: BatchRequest, limits: BulkLimits
) -> BulkJob:
    """Queue a batch, once its account (and sender) are known to be the shop's: a batch
    that could print nothing is refused now, not after the worker tried 500 orders."""
    await accounts.get_account(uow, shop_id, req.account_id)
    await waybills.sender_of(uow, shop_id, req.sender_address_id)
    if len(set(req.order_ids)) != len(req.order_ids):
        raise ValidationFailed.field("body.order_ids", "Name each order once.")
    return await jobs.start_job(
        uow,
        actor,
        shop_id,
        JobKind.LABELS,
        "pdf",
        limits,
        options={
            "logistics_account_id": req.account_id,
            "sender_address_id": req.sender_address_id,
            "order_ids": list(req.order_ids),
            "ship": req.ship,
            "weight_grams": req.weight_grams,
        },
        total=len(req.order_ids),
    )


async def get(uow: LogisticsUnitOfWork, shop_id: str, batch_id: str) -> BulkJob:
    try:
        return await jobs.get(uow, shop_id, batch_id, frozenset({JobKind.LABELS}))
    except BulkJobNotFound as e:
        raise WaybillBatchNotFound(f"No waybill batch {batch_id}.") from e


async def results(uow: LogisticsUnitOfWork, job: BulkJob) -> list[JobItem]:
    return await uow.bulk.items(job.shop_id, job.id, failed_only=False)


async def results_of(
    uow: LogisticsUnitOfWork, shop_id: str, batches: list[BulkJob]
) -> dict[str, list[JobItem]]:
    """A page of batches' per-order results, in one read."""
    return await uow.bulk.items_of(shop_id, [b.id for b in batches])


async def labels(uow: LogisticsUnitOfWork, shop_id: str, batch_id: str) -> StoredFile:
    job = await get(uow, shop_id, batch_id)
    if job.expires_at is not None and job.expires_at <= utcnow():
        raise LabelsExpired(
            f"The labels of batch {batch_id} expired at {job.expires_at.isoformat()}; its "
            "waybills remain: print them one by one (GET /v1/waybills/{waybill_id}/label.pdf).",
            extra={"expired_at": job.expires_at.isoformat()},
        )
    stored = await uow.bulk.get_file(shop_id, batch_id, RESULT)
    if stored is None:
        detail = (
            f"The batch is {job.status}; its labels are ready once it has succeeded."
            if job.status is not JobStatus.SUCCEEDED
            else "No order of the batch got a waybill: there is nothing to print."
        )
        raise LabelsNotReady(detail, extra={"current_status": str(job.status)})
    return stored


def chunks(job: BulkJob) -> list[list[tuple[int, str]]]:
    """The batch's (line, order id) pairs, `CHUNK_ORDERS` a chunk; lines count from 1. The
    same batch always gives the same chunks (a resumed job starts at `next_chunk`)."""
    lines = list(enumerate(job.options["order_ids"], start=1))
    return [lines[i : i + CHUNK_ORDERS] for i in range(0, len(lines), CHUNK_ORDERS)] or [[]]


async def issue_chunk(
    uow: LogisticsUnitOfWork,
    cipher: Cipher,
    job: BulkJob,
    chunk: list[tuple[int, str]],
    *,
    auto_confirm_after: timedelta,
) -> None:
    """Each order of the chunk gets its waybill (in a savepoint: one that fails undoes
    only itself), its line records how it went, and the job counts them."""
    o = job.options
    items: list[JobItem] = []
    by: waybills.Issuer | None = None
    gone: DomainError | None = None
    try:
        by = await waybills.issuer(
            uow, cipher, job.shop_id, o["logistics_account_id"], o["sender_address_id"]
        )
    except DomainError as unusable:  # unbound, or the sender deleted, since it was queued
        gone = unusable
    # The chunk's orders locked at once, in id order (two batches never wait on each other
    # in a cycle); an id of no order of the shop is that line's failure.
    found = await uow.orders.lock_many(job.shop_id, [order_id for _, order_id in chunk])
    for line, order_id in chunk:
        item = JobItem(job_id=job.id, shop_id=job.shop_id, line=line, outcome=RowOutcome.CREATED)
        item.order_id = order_id
        order = found.get(order_id)
        if by is None or order is None:
            why = gone or OrderNotFound(f"No order {order_id}.")
            item.outcome, item.errors = RowOutcome.FAILED, [_error(why)]
            items.append(item)
            continue
        for attempt in range(CARRIER_RETRIES + 1):
            try:
                async with uow.savepoint():
                    issued = await waybills.issue_for(
                        uow,
                        job.actor,
                        by,
                        order,
                        weight_grams=o["weight_grams"],
                        ship=o["ship"],
                        request_key=f"batch:{job.id}:{line}",
                        auto_confirm_after=auto_confirm_after,
                    )
                item.waybill_id = issued.waybill.id
                break
            except CarrierFailure as e:
                if attempt < CARRIER_RETRIES:
                    continue
                item.outcome, item.errors = RowOutcome.FAILED, [_error(e)]
            except DomainError as e:
                item.outcome, item.errors = RowOutcome.FAILED, [_error(e)]
                break
        items.append(item)
    await uow.bulk.add_items(items)
    job.processed += len(items)
    job.succeeded += sum(1 for i in items if i.outcome is RowOutcome.CREATED)
    job.failed += sum(1 for i in items if i.outcome is RowOutcome.FAILED)
    job.next_chunk += 1
    await jobs.heartbeat(uow, job)


def _error(e: DomainError) -> dict[str, Any]:
    return {"code": e.code, "message": e.detail, "field": None}


async def printed(uow: LogisticsUnitOfWork, job: BulkJob) -> list[EWaybill]:
    """The batch's waybills, in its order, to print."""
    items = await results(uow, job)
    ids = [i.waybill_id for i in items if i.waybill_id]
    found = {w.id: w for w in await uow.waybills.many(job.shop_id, ids)}
    return [found[i] for i in ids if i in found]


async def store_labels(
    uow: LogisticsUnitOfWork, job: BulkJob, pdf: bytes, parts: Iterable[bytes], ttl: timedelta
) -> None:
    await uow.bulk.put_file(job.shop_id, job.id, RESULT, PDF, len(pdf), parts)
    job.expires_at = utcnow() + ttl
