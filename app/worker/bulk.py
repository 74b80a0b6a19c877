"""The worker's side of bulk jobs: claim a job, run it chunk by chunk, one transaction each.

A chunk (about `chunk_rows` lines, whole products only) commits its catalogue writes, its
line outcomes and the job's progress and heartbeat together. A worker that stops (killed,
crashed, machine gone) leaves a `running` job whose heartbeat ages; after `stale_after`
another worker claims it and resumes at `next_chunk`, so no line is applied twice.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from asyncpg.exceptions import IntegrityConstraintViolationError
from sqlalchemy.exc import IntegrityError

from app.domain.catalog import bulk_files, bulk_import, bulk_jobs, product_rules
from app.domain.catalog import bulk_job_services as job_services
from app.domain.catalog.bulk_files import RawProduct
from app.domain.catalog.bulk_jobs import BulkJob, JobKind
from app.domain.catalog.errors import InvalidUpload
from app.domain.errors import DomainError
from app.domain.ids import new_id
from app.domain.logistics import label_batches
from app.infra.db.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from app.container import Container

log = logging.getLogger("minishop.worker.bulk")

EXPORT_PAGE = 500
#: A chunk that collides with a concurrent write (a unique out id) is re-read and retried.
CHUNK_RETRIES = 2


def plan_chunks(products: list[RawProduct], chunk_rows: int) -> list[list[RawProduct]]:
    """Whole products per chunk, about `chunk_rows` lines each; the same file always gives
    the same chunks, which is what lets a resumed job start at `next_chunk`."""
    chunks: list[list[RawProduct]] = []
    current: list[RawProduct] = []
    rows = 0
    for product in products:
        current.append(product)
        rows += max(product.lines, 1)
        if rows >= chunk_rows:
            chunks.append(current)
            current, rows = [], 0
    if current or not chunks:
        chunks.append(current)
    return chunks


class BulkWorker:
    def __init__(
        self,
        uow: Callable[[], SqlUnitOfWork],
        validator: bulk_import.RowValidator,
        *,
        chunk_rows: int = 1000,
        stale_after: timedelta = bulk_jobs.STALE_AFTER,
        worker_id: str | None = None,
        labels_ttl: timedelta = timedelta(hours=24),
        auto_confirm_after: timedelta = timedelta(days=10),
    ) -> None:
        self.uow = uow
        self.validator = validator
        self.labels_ttl = labels_ttl
        self.auto_confirm_after = auto_confirm_after
        self.chunk_rows = chunk_rows
        self.stale_after = stale_after
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id('w')}"

    async def run_all(self) -> int:
        """Run jobs until none is left to claim; how many ran."""
        ran = 0
        while await self.run_next() is not None:
            ran += 1
        return ran

    async def run_next(
        self, job_id: str | None = None, *, max_chunks: int | None = None
    ) -> str | None:
        """Claim one job (that one, with `job_id`) and run it. `max_chunks` stops after that
        many chunks, leaving the job running as a killed worker would (tests, benchmarks)."""
        async with self.uow() as uow:
            job = await job_services.claim(
                uow, self.worker_id, job_id=job_id, stale_after=self.stale_after
            )
            await uow.commit()
        if job is None:
            return None
        log.info("bulk job claimed", extra={"job_id": job.id, "attempt": job.attempts})
        try:
            if job.kind is JobKind.IMPORT:
                await self._import(job, max_chunks)
            elif job.kind is JobKind.LABELS:
                await self._labels(job, max_chunks)
            else:
                await self._export(job)
        except Exception:
            log.exception("bulk job failed", extra={"job_id": job.id})
            try:
                await self._finish(job.id, error="An internal error stopped the job.")
            except Exception:
                # The database itself is failing: the job's heartbeat will go stale and
                # another attempt will take it over.
                log.exception("could not record the failure", extra={"job_id": job.id})
        return job.id

    async def _finish(self, job_id: str, *, error: str | None = None) -> None:
        async with self.uow() as uow:
            job = await job_services.owned(uow, job_id, self.worker_id)
            if job is not None:
                await job_services.finish(uow, job, error=error)
                await uow.commit()
                log.info("bulk job finished", extra={"job_id": job_id, **job.summary()})

    async def _import(self, job: BulkJob, max_chunks: int | None) -> None:
        async with self.uow() as uow:
            stored = await uow.bulk.get_file(job.shop_id, job.id, bulk_jobs.UPLOAD)
            shop = await uow.shops.get(job.shop_id)
            assert stored is not None and shop is not None
            try:
                shop.ensure_active()
            except DomainError as e:
                await self._finish(job.id, error=e.detail)
                return
            # Categories and qualifications once per job, not per row.
            sc = await product_rules.shop_catalog(uow, shop)
        try:
            parsed = bulk_files.parse(
                job.format,
                stored.content,
                category_id=job.options.get("category_id"),
                type_categories=job.options.get("type_categories"),
            )
        except InvalidUpload as e:
            await self._finish(job.id, error=e.detail)
            return
        chunks = plan_chunks(parsed.products, self.chunk_rows)
        todo = range(job.next_chunk, len(chunks))
        if max_chunks is not None and len(todo) > max_chunks:
            todo = todo[:max_chunks]
            last = False
        else:
            last = True
        for index in todo:
            orphans = parsed.orphans if index == 0 else []
            if not await self._chunk(job.id, index, sc, chunks[index], orphans):
                log.warning("bulk job taken over", extra={"job_id": job.id, "chunk": index})
                return
        if last:
            await self._finish(job.id)

    async def _chunk(
        self,
        job_id: str,
        index: int,
        sc: product_rules.ShopCatalog,
        chunk: list[RawProduct],
        orphans: list[bulk_files.SkuLine],
    ) -> bool:
        for attempt in range(CHUNK_RETRIES + 1):
            try:
                async with self.uow() as uow:
                    job = await job_services.owned(uow, job_id, self.worker_id)
                    if job is None or job.next_chunk != index:
                        return False
                    await bulk_import.import_chunk(uow, job, sc, self.validator, chunk, orphans)
                    await uow.commit()
                    return True
            except (IntegrityError, IntegrityConstraintViolationError, DomainError):
                # Another request stored the same out id meanwhile (COPY raises the driver's
                # own error): read again, then the line reports the clash instead.
                if attempt == CHUNK_RETRIES:
                    raise
        return False

    async def _labels(self, job: BulkJob, max_chunks: int | None) -> None:
        """A label batch: its chunks of orders get their waybills, then one PDF of their
        labels is printed and stored (see `app/domain/logistics/label_batches.py`)."""
        planned = label_batches.chunks(job)
        todo = range(job.next_chunk, len(planned))
        if max_chunks is not None and len(todo) > max_chunks:
            todo, last = todo[:max_chunks], False
        else:
            last = True
        for index in todo:
            async with self.uow() as uow:
                current = await job_services.owned(uow, job.id, self.worker_id)
                if current is None or current.next_chunk != index:
                    log.warning("bulk job taken over", extra={"job_id": job.id, "chunk": index})
                    return
                await label_batches.issue_chunk(
                    uow,
                    uow.cipher,
                    current,
                    planned[index],
                    auto_confirm_after=self.auto_confirm_after,
                )
                await uow.commit()
        if not last:
            return
        async with self.uow() as uow:
            current = await job_services.owned(uow, job.id, self.worker_id)
            if current is None:
                return
            printed = await label_batches.printed(uow, current)
            if printed:
                # The PDF library is loaded by the first batch, not by every worker start.
                from app.infra.logistics.labels import print_labels

                # CPU work of about 2 ms a label, in this process of its own.
                pdf = print_labels(printed)
                await label_batches.store_labels(
                    uow, current, pdf, bulk_jobs.in_parts(pdf), self.labels_ttl
                )
                del pdf
            await job_services.finish(uow, current)
            await uow.commit()

    async def _export(self, job: BulkJob) -> None:
        parts: list[str] = [bulk_files.csv_header()] if job.format == "csv" else []
        async with self.uow() as uow:
            current = await job_services.owned(uow, job.id, self.worker_id)
            if current is None:
                return
            current.total = await uow.bulk.count_skus(job.shop_id)
            current.processed = current.succeeded = 0
            await job_services.heartbeat(uow, current)
            await uow.commit()
        after: str | None = None
        while True:
            async with self.uow() as uow:
                current = await job_services.owned(uow, job.id, self.worker_id)
                if current is None:
                    return
                page = await uow.bulk.export_page(job.shop_id, after, EXPORT_PAGE)
                if not page:
                    break
                rows = [bulk_files.export_row(p, s) for p, skus in page for s in skus]
                parts.append(
                    bulk_files.csv_lines(rows)
                    if job.format == "csv"
                    else bulk_files.jsonl_lines(rows)
                )
                current.processed += len(rows)
                current.succeeded += len(rows)
                await job_services.heartbeat(uow, current)
                await uow.commit()
            after = page[-1][0]["id"]
        content = "".join(parts).encode()
        async with self.uow() as uow:
            current = await job_services.owned(uow, job.id, self.worker_id)
            if current is None:
                return
            await uow.bulk.put_file(
                job.shop_id,
                job.id,
                bulk_jobs.RESULT,
                bulk_jobs.CONTENT_TYPES[job.format],
                len(content),
                bulk_jobs.in_parts(content),
            )
            await job_services.finish(uow, current)
            await uow.commit()


def bulk_worker(
    container: Container,
    validator: bulk_import.RowValidator,
    *,
    worker_id: str | None = None,
    stale_after: timedelta | None = None,
    chunk_rows: int | None = None,
) -> BulkWorker:
    """The bulk job runner. `validator` checks each line as the API checks a body (the
    process's entry point passes the public schemas' one: the worker does not import the API).
    """
    settings = container.settings
    return BulkWorker(
        container.uow,
        validator,
        chunk_rows=chunk_rows or settings.bulk_chunk_rows,
        stale_after=stale_after or timedelta(seconds=settings.bulk_stale_seconds),
        worker_id=worker_id,
        labels_ttl=timedelta(hours=settings.label_batch_ttl_hours),
        auto_confirm_after=timedelta(days=settings.order_auto_confirm_days),
    )
