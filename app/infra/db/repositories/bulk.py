"""Bulk jobs, their files and line outcomes, and the set-based catalogue writes of an import.

The catalogue writes are Core statements run with many parameter sets (SQLAlchemy batches
them into multi-row INSERTs, "insertmanyvalues"): a chunk of 1 000 lines is a handful of
statements, not an ORM round trip per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.catalog.bulk_jobs import (
    CATALOG_KINDS,
    BulkJob,
    JobItem,
    JobKind,
    JobStatus,
    RowOutcome,
    StoredFile,
)
from app.domain.catalog.products import Product
from app.domain.clock import utcnow
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.claim import claim_with_lease
from app.infra.db.locks import locked
from app.infra.db.paging import fetch_page
from app.infra.db.rows import insert_rows
from app.infra.db.tenancy import cross_shop, select, update

_j = tables.bulk_jobs
_f = tables.bulk_job_files
_fp = tables.bulk_job_file_parts
_i = tables.bulk_job_items
_p = tables.products
_s = tables.skus

#: Parameters per statement stay well under PostgreSQL's 32 767 bind parameters.
_BATCH = 1000


class SqlBulkRepository:
    """Every provider statement starts from `tenancy`'s builder, scoped by the shop; the
    worker's claim spans shops (it serves them all) and says so (`cross_shop`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    # --- jobs ---------------------------------------------------------------------------------

    def add(self, job: BulkJob) -> None:
        self.s.add(job)

    async def get(self, shop_id: str, job_id: str) -> BulkJob | None:
        res = await self.s.execute(select(_j, shop_id, BulkJob).where(_j.c.id == job_id))
        return res.scalar_one_or_none()

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, kind: JobKind | None
    ) -> Page[BulkJob]:
        stmt = select(_j, shop_id, BulkJob)
        if kind is not None:
            stmt = stmt.where(_j.c.kind == kind)
        else:
            stmt = stmt.where(_j.c.kind.in_(sorted(CATALOG_KINDS)))
        return await fetch_page(self.s, stmt, page, [_j.c.id])

    async def claim(
        self, worker_id: str, now: datetime, stale_before: datetime, *, job_id: str | None
    ) -> BulkJob | None:
        claimable = sa.or_(
            _j.c.status == JobStatus.QUEUED,
            sa.and_(_j.c.status == JobStatus.RUNNING, _j.c.heartbeat_at < stale_before),
        )
        # Round robin by shop: the shop whose last job started longest ago goes first.
        others = _j.alias("others")
        last_turn = (
            sa.select(sa.func.max(others.c.started_at))
            .where(others.c.shop_id == _j.c.shop_id)
            .scalar_subquery()
        )
        if job_id is not None:
            claimable = sa.and_(claimable, _j.c.id == job_id)
        claimed = await claim_with_lease(
            self.s,
            _j,
            claimable=claimable,
            # The lease is the heartbeat: the job is this worker's until it goes stale.
            lease={
                "status": JobStatus.RUNNING,
                "worker_id": worker_id,
                "heartbeat_at": now,
                "started_at": sa.func.coalesce(_j.c.started_at, now),
                "attempts": _j.c.attempts + 1,
                "updated_at": now,
            },
            order_by=[last_turn.asc().nulls_first(), _j.c.created_at, _j.c.id],
            cross_shop="worker_claim",
        )
        if not claimed:
            return None
        picked = claimed[0]
        return await self._load(picked)

    async def _load(self, job_id: str, *, lock: bool = False) -> BulkJob | None:
        stmt = cross_shop(
            sa.select(BulkJob).where(_j.c.id == job_id), "worker_claim"
        ).execution_options(populate_existing=True)
        if lock:
            stmt = locked(stmt)
        return (await self.s.execute(stmt)).scalar_one_or_none()

    async def lock_for_worker(self, job_id: str, worker_id: str) -> BulkJob | None:
        job = await self._load(job_id, lock=True)
        return job if job is not None and job.worker_id == worker_id else None

    async def save_progress(self, job: BulkJob) -> None:
        await self.s.flush()

    # --- files and line outcomes --------------------------------------------------------------

    async def pending(self, shop_id: str) -> tuple[int, int]:
        # The shop's row is the lock (PostgreSQL; SQLite has one writer at a time anyway). FOR
        # NO KEY UPDATE: the shop's other writes, whose foreign keys take FOR KEY SHARE, go on.
        await self.s.execute(
            sa.select(tables.shops.c.id)
            .where(tables.shops.c.id == shop_id)
            .with_for_update(key_share=True)
        )
        waiting = (
            select(_j, shop_id, _j.c.id)
            .where(_j.c.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
            .subquery()
        )
        jobs = (await self.s.execute(sa.select(sa.func.count()).select_from(waiting))).scalar_one()
        stored = (
            await self.s.execute(
                select(_f, shop_id, sa.func.coalesce(sa.func.sum(_f.c.size), 0)).where(
                    _f.c.job_id.in_(sa.select(waiting.c.id))
                )
            )
        ).scalar_one()
        return int(jobs), int(stored)

    async def put_file(
        self,
        shop_id: str,
        job_id: str,
        purpose: str,
        content_type: str,
        size: int,
        parts: Iterable[bytes],
    ) -> None:
        await self.s.execute(
            sa.insert(_f).values(
                job_id=job_id,
                purpose=purpose,
                shop_id=shop_id,
                content_type=content_type,
                size=size,
                created_at=utcnow(),
            )
        )
        # One statement per part: the driver holds one part at a time, never the file.
        insert = sa.insert(_fp)
        for seq, part in enumerate(parts):
            await self.s.execute(
                insert.values(
                    job_id=job_id, purpose=purpose, seq=seq, shop_id=shop_id, content=part
                )
            )

    async def get_file(self, shop_id: str, job_id: str, purpose: str) -> StoredFile | None:
        res = await self.s.execute(
            select(_f, shop_id, _f.c.content_type).where(
                _f.c.job_id == job_id, _f.c.purpose == purpose
            )
        )
        content_type = res.scalar_one_or_none()
        if content_type is None:
            return None
        parts = await self.s.execute(
            select(_fp, shop_id, _fp.c.content)
            .where(_fp.c.job_id == job_id, _fp.c.purpose == purpose)
            .order_by(_fp.c.seq)
        )
        return StoredFile(content_type, b"".join(bytes(p) for p in parts.scalars()))

    async def add_items(self, items: list[JobItem]) -> None:
        await self._insert_many(_i, [vars(item) for item in items])

    async def items_of(self, shop_id: str, job_ids: list[str]) -> dict[str, list[JobItem]]:
        out: dict[str, list[JobItem]] = {job_id: [] for job_id in job_ids}
        if not job_ids:
            return out
        stmt = select(_i, shop_id).where(_i.c.job_id.in_(job_ids)).order_by(_i.c.job_id, _i.c.line)
        for row in await self.s.execute(stmt):
            out[row.job_id].append(JobItem(**row._mapping))
        return out

    async def items(self, shop_id: str, job_id: str, *, failed_only: bool) -> list[JobItem]:
        stmt = select(_i, shop_id).where(_i.c.job_id == job_id)
        if failed_only:
            stmt = stmt.where(_i.c.outcome == RowOutcome.FAILED)
        res = await self.s.execute(stmt.order_by(_i.c.line))
        return [JobItem(**row._mapping) for row in res]

    # --- the catalogue, set-based -------------------------------------------------------------

    async def _custom_plans(self) -> None:
        """The chunk lookups (`IN` over up to 1 000 out ids) run as prepared statements; after
        five runs PostgreSQL may switch to a generic plan, and on a table that grew without
        fresh statistics (a first big import) that plan scans the table: every chunk got
        slower than the one before. Planning each run with its values keeps the index."""
        if self._postgres:
            await self.s.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))

    async def products_by_out_ids(self, shop_id: str, out_ids: list[str]) -> dict[str, Product]:
        await self._custom_plans()
        found: dict[str, Product] = {}
        for start in range(0, len(out_ids), _BATCH):
            batch = out_ids[start : start + _BATCH]
            res = await self.s.execute(
                select(_p, shop_id, Product).where(
                    sa.or_(_p.c.out_product_id.in_(batch), _p.c.id.in_(batch))
                )
            )
            wanted = set(batch)
            for product in res.scalars():
                if product.out_product_id in wanted:
                    found[product.out_product_id] = product
                if product.id in wanted:
                    found.setdefault(product.id, product)
        return found

    async def sku_owners(self, shop_id: str, out_sku_ids: list[str]) -> dict[str, str]:
        await self._custom_plans()
        owners: dict[str, str] = {}
        for start in range(0, len(out_sku_ids), _BATCH):
            res = await self.s.execute(
                select(_s, shop_id, _s.c.out_sku_id, _s.c.product_id).where(
                    _s.c.out_sku_id.in_(out_sku_ids[start : start + _BATCH])
                )
            )
            owners.update({r.out_sku_id: r.product_id for r in res})
        return owners

    @property
    def _postgres(self) -> bool:
        return self.s.get_bind().dialect.name == "postgresql"

    async def _insert_many(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        await insert_rows(await self.s.connection(), table, rows)

    async def insert_catalog(
        self, products: list[dict[str, Any]], skus: list[dict[str, Any]]
    ) -> None:
        await self._insert_many(_p, products)
        await self._insert_many(_s, skus)

    async def update_skus(self, shop_id: str, updates: list[dict[str, Any]], now: datetime) -> None:
        if not updates:
            return
        columns = [k for k in updates[0] if k not in ("id", "version_step")]
        if "stock" in columns:
            raise ValueError("stock changes go through the stock repository")
        step = sa.bindparam("b_version_step", type_=sa.Integer)
        stmt = (
            update(_s, shop_id)
            .where(_s.c.id == sa.bindparam("b_id"))
            .values(
                {c: sa.bindparam(f"b_{c}") for c in columns}
                | {"updated_at": now, "version": _s.c.version + step}
            )
            .execution_options(synchronize_session=False)
        )
        params = [{f"b_{k}": v for k, v in u.items()} for u in updates]
        # On the connection: a Core executemany, not the ORM's bulk-update-by-primary-key.
        conn = await self.s.connection()
        await conn.execute(stmt, params)

    async def touch_products(self, shop_id: str, product_ids: list[str], now: datetime) -> None:
        for start in range(0, len(product_ids), _BATCH):
            await self.s.execute(
                update(_p, shop_id)
                .where(_p.c.id.in_(product_ids[start : start + _BATCH]))
                .values(updated_at=now, version=_p.c.version + 1)
                .execution_options(synchronize_session=False)
            )

    async def export_page(
        self, shop_id: str, after_id: str | None, limit: int
    ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Products by id with their SKUs, as plain rows (no ORM objects for a whole shop)."""
        stmt = select(_p, shop_id).order_by(_p.c.id).limit(limit)
        if after_id is not None:
            stmt = stmt.where(_p.c.id > after_id)
        products = [dict(r._mapping) for r in await self.s.execute(stmt)]
        if not products:
            return []
        by_product: dict[str, list[dict[str, Any]]] = {p["id"]: [] for p in products}
        res = await self.s.execute(
            select(_s, shop_id)
            .where(_s.c.product_id.in_(list(by_product)))
            .order_by(_s.c.product_id, _s.c.id)
        )
        for r in res:
            by_product[r.product_id].append(dict(r._mapping))
        return [(p, by_product[p["id"]]) for p in products]

    async def count_skus(self, shop_id: str) -> int:
        res = await self.s.execute(select(_s, shop_id, sa.func.count()))
        return int(res.scalar_one())
