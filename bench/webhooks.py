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
5. rows `webhook-latency` and `webhook-throughput` merged into `bench/results/latest.json`.

The receiver is a minimal asyncio HTTP/1.1 server (keep-alive) that answers 200 at once, so
the figures are the platform's, not the receiver's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from app.container import build_container
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.ids import new_id
from app.domain.webhooks import services as webhooks
from app.infra.db.migrate import upgrade
from app.settings import Settings
from bench.run import DEFAULT_ADMIN_URL, RESULTS, ROOT, _admin, _dsn, _sqlalchemy_url, create_actors

LATENCY_RATE = 100
LATENCY_SECONDS = 10
THROUGHPUT_EVENTS = 10_000


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
                marker = orjson.loads(body)["data"]["marker"]
                self.arrivals.setdefault(marker, now)
                self.count += 1
                self.first = self.first or now
                self.last = now
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _event_rows(shop_id: str, n: int, prefix: str) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    return [
        (
            new_id("evt"),
            "product.updated",
            shop_id,
            None,
            f"prod_bench{prefix}{i:06d}",
            json.dumps({"product_id": f"prod_bench{prefix}{i:06d}", "marker": f"{prefix}{i}"}),
            now,
        )
        for i in range(n)
    ]


INSERT = (
    "INSERT INTO outbox_events (id, type, shop_id, app_id, resource_id, data, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)"
)


async def measure(dsn: str, shop_id: str, rx: Receiver) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        # Latency: one event per transaction at a steady rate.
        committed: dict[str, float] = {}
        rows = _event_rows(shop_id, LATENCY_RATE * LATENCY_SECONDS, "l")
        start = time.perf_counter()
        for i, row in enumerate(rows):
            await conn.execute(INSERT, *row)  # autocommit: one transaction each
            committed[f"l{i}"] = time.time()
            delay = start + (i + 1) / LATENCY_RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        deadline = time.monotonic() + 30
        while len([k for k in committed if k in rx.arrivals]) < len(committed):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        lat = sorted((rx.arrivals[k] - t) * 1000 for k, t in committed.items() if k in rx.arrivals)

        # Throughput: a burst committed at once, then timed from first to last arrival.
        rx.first = rx.last = None
        before = rx.count
        burst = _event_rows(shop_id, THROUGHPUT_EVENTS, "t")
        await conn.copy_records_to_table(
            "outbox_events",
            records=burst,
            columns=["id", "type", "shop_id", "app_id", "resource_id", "data", "created_at"],
        )
        await conn.execute("NOTIFY minishop_webhooks")  # COPY fires no row trigger
        deadline = time.monotonic() + 120
        while rx.count - before < THROUGHPUT_EVENTS and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        got = rx.count - before
        span = (rx.last or 0) - (rx.first or 0)
    finally:
        await conn.close()
    return {
        "latency": {
            "sent": len(committed),
            "received": len(lat),
            "p50_ms": round(statistics.median(lat), 2) if lat else None,
            "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 2) if lat else None,
        },
        "throughput": {
            "sent": THROUGHPUT_EVENTS,
            "received": got,
            "seconds": round(span, 2),
            "per_second": round(got / span, 1) if span else None,
        },
    }


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


async def _main(admin_url: str) -> dict[str, Any]:
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
        result["worker_rss_mb"] = _peak_rss_mb(worker.pid)
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
    lat, thr = result["latency"], result["throughput"]
    return [
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
    args = parser.parse_args()
    load = round(os.getloadavg()[0], 2)
    result = asyncio.run(_main(args.admin_url))
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
