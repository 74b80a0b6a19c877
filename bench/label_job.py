"""The batch printing benchmark: a label batch of 500 paid orders run end to end by the bulk
worker, in a process of its own, on PostgreSQL: time and the worker's peak memory.

    make bench                          # runs it after the others
    .venv/bin/python -m bench.label_job # alone: merges its row into latest.json

A fresh database gets a shop with a bound sandbox carrier account and a sender address, and
500 paid orders of 2 lines (COPY). A batch of all 500 (`POST /v1/waybill-batches`' use case)
is queued, then `minishop bulk-worker --once` runs it: each order's waybill issued by the
sandbox carrier (in chunks of 50, a savepoint per order), the 500 labels printed into one
PDF, stored with the job. Timed: the job from the worker's claim to its finish (its own
`started_at` → `finished_at`), and the process as a whole (start-up and imports too); the
peak RSS is the worker process's own (`ru_maxrss` of the waited child).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from app.container import build_container
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.catalog.bulk_jobs import BulkLimits
from app.domain.logistics import account_services, label_batches, sender_services
from app.infra.db.migrate import upgrade
from app.settings import Settings
from bench.orders import (
    LINE_COPY_COLUMNS,
    ORDER_COPY_COLUMNS,
    _order_rows,
    _selling_shop_and_buyer,
    merge,
)
from bench.run import DEFAULT_ADMIN_URL, _admin, _dsn, _sqlalchemy_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
ORDERS = 500
TARGET_SECONDS = 5.0
TARGET_RSS_MB = 200.0


async def _paid_orders(dsn: str, shop_id: str, buyer_id: str, n: int) -> list[str]:
    """`n` orders of 2 lines, all paid and awaiting shipment (20)."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    orders, lines = _order_rows(shop_id, buyer_id, n, 0, n, base)
    paid = []
    for o in orders:
        row = list(o)
        at = row[13]
        row[3], row[11], row[12], row[14], row[15] = 20, at + timedelta(minutes=5), None, at, 2
        paid.append(tuple(row))
    unshipped = [(*line[:8], 0, 0) for line in lines]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table("orders", records=paid, columns=ORDER_COPY_COLUMNS)
        await conn.copy_records_to_table(
            "order_lines", records=unshipped, columns=LINE_COPY_COLUMNS
        )
    finally:
        await conn.close()
    return [o[0] for o in paid]


async def _queue(settings: Settings, shop_id: str, order_ids: list[str]) -> str:
    c = build_container(settings)
    actor = Actor(type=ActorType.SYSTEM, id="system:bench", surface=Surface.SYSTEM)
    try:
        async with c.uow() as uow:
            account = await account_services.bind_account(
                uow,
                c.cipher,
                actor,
                shop_id,
                carrier_code="SF",
                customer_code="7551234567",
                key="SFPARTNER01",
                secret="sk_sandbox_5f3c9a1d7e",
            )
            await sender_services.create_sender(
                uow,
                actor,
                shop_id,
                name="杭州小铺旗舰店",
                phone="13800138000",
                region_code="330106",
                detail="文三路 478 号华星时代广场 A 座 1203 室",
            )
            job = await label_batches.start(
                uow,
                actor,
                shop_id,
                label_batches.BatchRequest(account.id, None, order_ids, False, 800),
                BulkLimits(10, 1 << 30),
            )
            await uow.commit()
            return job.id
    finally:
        await c.close()


async def _job(dsn: str, job_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT status, processed, succeeded, failed, started_at, finished_at FROM bulk_jobs "
            "WHERE id = $1",
            job_id,
        )
        size = await conn.fetchval(
            "SELECT size FROM bulk_job_files WHERE job_id = $1 AND purpose = 'result'", job_id
        )
        waybills = await conn.fetchval("SELECT count(*) FROM waybills")
    finally:
        await conn.close()
    assert row is not None
    return {**dict(row), "file_bytes": size, "waybills": waybills}


def measure(admin_url: str, n: int) -> dict[str, Any]:
    db = f"minishop_bench_labels_{uuid.uuid4().hex[:8]}"
    dsn = _dsn(admin_url, db)
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{db}"'))
    tmp = Path(tempfile.mkdtemp(prefix="minishop-bench-label-job-"))
    try:
        url = _sqlalchemy_url(dsn)
        upgrade(url)
        settings = Settings(env="development", var_dir=tmp / "var", database_url=url)
        shop_id, buyer_id = asyncio.run(_selling_shop_and_buyer(settings))
        order_ids = asyncio.run(_paid_orders(dsn, shop_id, buyer_id, n))
        job_id = asyncio.run(_queue(settings, shop_id, order_ids))
        asyncio.run(_admin(dsn, "ANALYZE"))
        env = {
            **os.environ,
            "MINISHOP_ENV": "development",
            "MINISHOP_VAR_DIR": str(tmp / "var"),
            "MINISHOP_DATABASE_URL": url,
            "MINISHOP_LOG_LEVEL": "WARNING",
        }
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "minishop"), "bulk-worker", "--once"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        process_s = time.perf_counter() - started
        rss_mb = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        job = asyncio.run(_job(dsn, job_id))
        return {
            "orders": n,
            "status": job["status"],
            "succeeded": job["succeeded"],
            "failed": job["failed"],
            "waybills": job["waybills"],
            "job_seconds": round((job["finished_at"] - job["started_at"]).total_seconds(), 3),
            "process_seconds": round(process_s, 3),
            "rss_mb": rss_mb,
            "file_mb": round((job["file_bytes"] or 0) / 2**20, 2),
        }
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--no-results", action="store_true", help="do not touch latest.json")
    args = parser.parse_args()
    load_before = round(os.getloadavg()[0], 2)
    r = measure(args.admin_url, args.orders)
    ok = (
        r["status"] == "succeeded"
        and r["succeeded"] == args.orders
        and r["job_seconds"] <= TARGET_SECONDS
        and r["rss_mb"] <= TARGET_RSS_MB
    )
    row = {
        "name": f"waybill-batch-{args.orders}",
        "rps": round(args.orders / r["job_seconds"], 1),
        "p50_ms": None,
        "p99_ms": None,
        "rss_mb": r["rss_mb"],
        "ratio_to_floor": None,
        "target": f"a batch of {ORDERS} orders (waybills issued, labels printed into one PDF) in "
        f"<= {TARGET_SECONDS:g} s, the worker's peak RSS <= {TARGET_RSS_MB:g} MiB",
        "ok": ok,
        **{k: v for k, v in r.items() if k != "rss_mb"},
        "loadavg_1m_before": load_before,
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
        "note": "rps = orders per second of the job (claim to finish); process_seconds adds "
        "the worker process's start-up; rss_mb = the bulk worker process's peak RSS",
    }
    print(json.dumps(row, indent=2))
    if not args.no_results and args.orders == ORDERS:
        merge(RESULTS, [row])
        print(f"merged into {RESULTS.relative_to(ROOT)}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
