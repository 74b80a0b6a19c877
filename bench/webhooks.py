"""The webhook benchmark: commit-to-receipt latency and one worker's delivery rate.

    .venv/bin/python -m bench.webhooks          # part of `make bench`

One run on the local PostgreSQL, everything on loopback, stops by itself:

1. a fresh database (dropped at the end), migrated; through the domain services a merchant's
   shop that authorized a published app with every scope (as `bench.run` does), and one
   webhook endpoint of that app for `product.*` pointing at a receiver in this process;
2. one `minishop worker` process (the real one: fan-out, signing, pooled client, LISTEN);
3. **latency**: events committed one per transaction at 100 per second for 10 s, each
   stamped with its commit time; the receiver stamps its arrival; p50/p99 of the difference
   (targets: p50 <= 20 ms, p99 <= 100 ms);
4. **throughput**: 10 000 events committed at once; deliveries per second from the first to
   the last arrival (target: one worker >= 500/s);
5. **latency during a bulk import**: a 100 000-SKU CSV import (33 334 new products, the file
   of `bench.bulk_import`) queued for the same worker process, and while the job runs events
   committed one per transaction at 100 per second as in 3; p50/p99 of commit-to-receipt of
   the events committed while the job was `running` (target: p99 <= 100 ms). The import's
   new products emit no webhook event, so the receiver's deliveries are only the markers:
   what is measured is whether dispatch waits behind the import's parsing and writing;
6. rows `webhook-latency`, `webhook-throughput` and `webhook_latency_during_bulk_import`
   merged into `bench/results/latest.json`.

The receiver is a minimal asyncio HTTP/1.1 server (keep-alive) that answers 200 at once, so
the figures are the platform's, not the receiver's.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.container import build_container
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.catalog import bulk_files, bulk_job_services, bulk_jobs
from app.domain.events.catalog import ProductEventData
from app.domain.events.model import Event
from app.domain.shops import services as shop_services
from app.domain.webhooks import services as webhooks
from app.infra.db import outbox
from app.infra.db.migrate import upgrade
from app.settings import Settings
from bench import bulk_import
from bench.rss import workers_peak_rss_mb
from bench.run import (
    DEFAULT_ADMIN_URL,
    RESULTS,
    ROOT,
    _admin,
    _dsn,
    _sqlalchemy_url,
    create_actors,
)

LATENCY_RATE = 100
LATENCY_SECONDS = 10
THROUGHPUT_EVENTS = 10_000
#: The import the third measurement runs beside: as many SKUs as `bulk-import-100k-skus`.
DURING_IMPORT_SKUS = bulk_import.SKUS
DURING_IMPORT_P99_MS = 100.0


class Receiver:
    """Answers 200 to every POST; records arrival time per event marker."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                now = time.time()
                product_id = orjson.loads(body)["data"].get("product_id", "")
                if product_id.startswith(MARKER_PREFIX):
                    self.arrivals.setdefault(product_id.removeprefix(MARKER_PREFIX), now)
                self.count += 1
                self.first = self.first or now
                self.last = now
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


#: The bench's events name products that do not exist: the id carries the event's marker
#: (`l12`: the 12th latency event), which the receiver reads back.
MARKER_PREFIX = "prod_bench_"


def _events(shop_id: str, n: int, prefix: str, start: int = 0) -> list[Event]:
    """`product.updated` events as the catalogue types them, written by the one outbox
    writer (`app.infra.db.outbox`) like every event of the application."""
    return [
        Event(
            "product.updated",
            ProductEventData(
                shop_id=shop_id,
                product_id=f"{MARKER_PREFIX}{prefix}{i}",
                out_product_id=None,
                status="listed",
                changed=["title"],
            ),
            resource_id=f"{MARKER_PREFIX}{prefix}{i}",
        )
        for i in range(start, start + n)
    ]


def _percentiles(committed: dict[str, float], rx: Receiver) -> dict[str, Any]:
    lat = sorted((rx.arrivals[k] - t) * 1000 for k, t in committed.items() if k in rx.arrivals)
    return {
        "sent": len(committed),
        "received": len(lat),
        "p50_ms": round(statistics.median(lat), 2) if lat else None,
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 2) if lat else None,
    }


async def _arrived(committed: dict[str, float], rx: Receiver, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(k not in rx.arrivals for k in committed) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def _commit_steadily(
    engine: AsyncEngine, shop_id: str, prefix: str, go_on: Any
) -> dict[str, float]:
    """Events committed one per transaction at `LATENCY_RATE` per second while `go_on()`
    says so (a coroutine function taking the number sent); marker → commit time."""
    committed: dict[str, float] = {}
    start = time.perf_counter()
    i = 0
    while await go_on(i):
        (event,) = _events(shop_id, 1, prefix, start=i)
        async with engine.begin() as conn:  # one transaction each
            await outbox.write(conn, event)
        committed[f"{prefix}{i}"] = time.time()
        i += 1
        delay = start + i / LATENCY_RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    return committed


async def queue_import(settings: Settings, shop_id: str, app_id: str, skus: int) -> str:
    """Queue a CSV import of `skus` new SKUs the way the API does (checked, stored); its id."""
    content = bulk_import.import_file(skus, prefix="during")
    c = build_container(settings)
    try:
        async with c.uow() as uow:
            shop = await shop_services.shop_or_404(uow, shop_id)
            job = await bulk_job_services.start_import(
                uow,
                Actor(type=ActorType.APP, id=app_id, surface=Surface.OPEN_API),
                shop,
                bulk_jobs.ImportFormat.CSV,
                bulk_jobs.Upload(
                    "text/csv",
                    len(content),
                    bulk_files.inspect("csv", io.BytesIO(content)),
                    bulk_jobs.in_parts(content),
                ),
                bulk_jobs.BulkLimits(10, 1 << 30),
            )
            await uow.commit()
            return job.id
    finally:
        await c.close()


async def measure_during_import(
    dsn: str, settings: Settings, shop_id: str, app_id: str, rx: Receiver
) -> dict[str, Any]:
    """Commit-to-receipt of events committed while a bulk import runs in the worker."""
    job_id = await queue_import(settings, shop_id, app_id, DURING_IMPORT_SKUS)
    engine = create_async_engine(_sqlalchemy_url(dsn), pool_size=2)
    watch = await asyncpg.connect(dsn)
    running: set[int] = set()  # the markers committed while the job was running
    status = "queued"
    checked = 0.0
    started = time.monotonic()

    async def while_importing(i: int) -> bool:
        nonlocal status, checked
        if time.monotonic() - checked >= 0.1:
            status = await watch.fetchval("SELECT status FROM bulk_jobs WHERE id = $1", job_id)
            checked = time.monotonic()
        if status == "running":
            running.add(i)
        return status in ("queued", "running") and time.monotonic() - started < 300

    try:
        committed = await _commit_steadily(engine, shop_id, "b", while_importing)
        await _arrived(committed, rx, 30)
        job = await watch.fetchrow(
            "SELECT status, skus_created, failed, started_at, finished_at "
            "FROM bulk_jobs WHERE id = $1",
            job_id,
        )
    finally:
        await engine.dispose()
        await watch.close()
    during = {k: t for k, t in committed.items() if int(k[1:]) in running}
    result = _percentiles(during, rx)
    result["import_status"] = job["status"]
    result["import_skus_created"] = job["skus_created"]
    result["import_seconds"] = (
        round((job["finished_at"] - job["started_at"]).total_seconds(), 2)
        if job["started_at"] and job["finished_at"]
        else None
    )
    return result


async def measure(dsn: str, shop_id: str, rx: Receiver) -> dict[str, Any]:
    engine = create_async_engine(_sqlalchemy_url(dsn), pool_size=2)
    try:
        # Latency: one event per transaction at a steady rate.
        async def for_ten_seconds(i: int) -> bool:
            return i < LATENCY_RATE * LATENCY_SECONDS

        committed = await _commit_steadily(engine, shop_id, "l", for_ten_seconds)
        await _arrived(committed, rx, 30)

        # Throughput: a burst committed at once, then timed from first to last arrival.
        rx.first = rx.last = None
        before = rx.count
        burst = _events(shop_id, THROUGHPUT_EVENTS, "t")
        async with engine.begin() as conn:
            await outbox.write_many(conn, burst)  # one COPY
            await conn.exec_driver_sql("NOTIFY minishop_webhooks")  # COPY fires no row trigger
        deadline = time.monotonic() + 120
        while rx.count - before < THROUGHPUT_EVENTS and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        got = rx.count - before
        span = (rx.last or 0) - (rx.first or 0)
    finally:
        await engine.dispose()
    return {
        "latency": _percentiles(committed, rx),
        "throughput": {
            "sent": THROUGHPUT_EVENTS,
            "received": got,
            "seconds": round(span, 2),
            "per_second": round(got / span, 1) if span else None,
        },
    }


async def _main(admin_url: str, *, during_import: bool = True) -> dict[str, Any]:
    db = f"minishop_bench_wh_{uuid.uuid4().hex[:8]}"
    dsn = _dsn(admin_url, db)
    await _admin(admin_url, f'CREATE DATABASE "{db}"')
    tmp = Path(tempfile.mkdtemp(prefix="minishop-bench-wh-"))
    worker: subprocess.Popen[bytes] | None = None
    server = None
    try:
        await asyncio.to_thread(upgrade, _sqlalchemy_url(dsn))
        settings = Settings(
            env="development",
            var_dir=tmp / "var",
            database_url=_sqlalchemy_url(dsn),
            webhook_allow_private=True,
            webhook_allowed_ports="1024-65535",
        )
        setup = await create_actors(settings)
        rx = Receiver()
        server = await asyncio.start_server(rx.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        c = build_container(settings)
        try:
            async with c.uow() as uow:
                app = await uow.apps.get(setup.app_id)
                assert app is not None
                actor = Actor(
                    type=ActorType.ACCOUNT, id=app.developer_id, surface=Surface.DEVELOPER
                )
                await webhooks.create_endpoint(
                    uow,
                    c.cipher,
                    c.webhook_guard,
                    actor,
                    setup.app_id,
                    url=f"http://127.0.0.1:{port}/hooks",
                    topics=["product.*"],
                    description="bench",
                )
                await uow.commit()
        finally:
            await c.close()
        env = {
            **os.environ,
            "MINISHOP_ENV": "development",
            "MINISHOP_VAR_DIR": str(tmp / "var"),
            "MINISHOP_DATABASE_URL": _sqlalchemy_url(dsn),
            "MINISHOP_WEBHOOK_ALLOW_PRIVATE": "true",
            "MINISHOP_WEBHOOK_ALLOWED_PORTS": "1024-65535",
            "MINISHOP_LOG_LEVEL": "WARNING",
        }
        worker = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "minishop"), "worker"], cwd=ROOT, env=env
        )
        await asyncio.sleep(3)  # started and listening
        result = await measure(dsn, setup.shop_id, rx)
        result["worker_rss_mb"] = workers_peak_rss_mb(worker.pid)
        if not during_import:
            return result
        result["during_import"] = await measure_during_import(
            dsn, settings, setup.shop_id, setup.app_id, rx
        )
        result["during_import"]["worker_rss_mb"] = workers_peak_rss_mb(worker.pid)
        return result
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
        if server is not None:
            server.close()
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    lat, thr, dur = result["latency"], result["throughput"], result.get("during_import")
    out = [
        {
            "name": "webhook-latency",
            "rps": LATENCY_RATE,
            "p50_ms": lat["p50_ms"],
            "p99_ms": lat["p99_ms"],
            "rss_mb": result["worker_rss_mb"],
            "ratio_to_floor": None,
            "target": "commit-to-receipt p50 <= 20 ms and p99 <= 100 ms at 100 events/s",
            "ok": lat["p50_ms"] is not None
            and lat["p50_ms"] <= 20
            and lat["p99_ms"] is not None
            and lat["p99_ms"] <= 100
            and lat["received"] == lat["sent"],
            "received": f"{lat['received']}/{lat['sent']}",
        },
        {
            "name": "webhook-throughput",
            "rps": thr["per_second"],
            "p50_ms": None,
            "p99_ms": None,
            "rss_mb": result["worker_rss_mb"],
            "ratio_to_floor": None,
            "target": "one worker process >= 500 deliveries/s to a fast receiver",
            "ok": thr["per_second"] is not None
            and thr["per_second"] >= 500
            and thr["received"] == thr["sent"],
            "received": f"{thr['received']}/{thr['sent']} in {thr['seconds']} s",
        },
    ]
    if dur is None:
        return out
    return [
        *out,
        {
            "name": "webhook_latency_during_bulk_import",
            "rps": LATENCY_RATE,
            "p50_ms": dur["p50_ms"],
            "p99_ms": dur["p99_ms"],
            "rss_mb": dur["worker_rss_mb"],
            "ratio_to_floor": None,
            "target": f"commit-to-receipt p99 <= {DURING_IMPORT_P99_MS:.0f} ms at 100 events/s "
            f"while the same worker imports {DURING_IMPORT_SKUS} SKUs",
            "ok": dur["p99_ms"] is not None
            and dur["p99_ms"] <= DURING_IMPORT_P99_MS
            and dur["received"] == dur["sent"]
            and dur["import_status"] == "succeeded"
            and dur["import_skus_created"] == DURING_IMPORT_SKUS,
            "received": f"{dur['received']}/{dur['sent']}",
            "import": f"{dur['import_status']}, {dur['import_skus_created']} SKUs created in "
            f"{dur['import_seconds']} s",
        },
    ]


def merge(output: Path, new: list[dict[str, Any]]) -> None:
    """Replace this benchmark's rows in the results file, keep the others."""
    names = {r["name"] for r in new}
    current = json.loads(output.read_text()) if output.exists() else []
    kept = [r for r in current if r.get("name") not in names]
    output.write_text(json.dumps(kept + new, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--without-import",
        action="store_true",
        help="measure latency and throughput only (not the row during a bulk import)",
    )
    args = parser.parse_args()
    load = round(os.getloadavg()[0], 2)
    result = asyncio.run(_main(args.admin_url, during_import=not args.without_import))
    out = rows(result)
    for r in out:
        print(
            f"{r['name']:<20} rps={r['rps']} p50={r['p50_ms']} ms p99={r['p99_ms']} ms "
            f"worker peak RSS={r['rss_mb']} MiB  {r['received']}  "
            f"{'ok' if r['ok'] else 'MISSES'}: {r['target']}"
        )
    print(f"(load average before the run: {load} on {os.cpu_count()} CPUs)")
    merge(args.output, out)
    print(f"merged into {args.output}")


if __name__ == "__main__":
    main()
