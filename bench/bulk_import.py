"""The bulk-import benchmark: 100 000 SKUs through the API and a worker process on PostgreSQL.

    .venv/bin/python -m bench.bulk_import                  # its own database, API and worker
    .venv/bin/python -m bench.bulk_import --update-results # also refresh its row in latest.json

`bench.run` (make bench) calls `measure` at the end of its run, against its project server.

What is timed: from sending `POST /v1/products/bulk-imports` (a 100 000-line CSV, 33 334
products of 3 SKUs, each line valid) until `GET /v1/bulk-jobs/{id}` reports `succeeded`,
polled every 0.2 s, with one `minishop worker` process running beside the API (the way
`serve --with-worker` runs them), one uvicorn worker for the API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.infra.db.migrate import upgrade
from bench.rss import workers_peak_rss_mb

SKUS = 100_000
SIZES = ("S", "M", "L")
TARGET_SECONDS = 60.0
LEAF = "cat_apparel_women_dresses"
COLUMNS = (
    "out_product_id",
    "title",
    "category_id",
    "brand_id",
    "regions",
    "images",
    "description",
    "out_sku_id",
    "sale_attrs",
    "price",
    "market_price",
    "stock",
    "barcode",
    "weight_g",
)


def import_file(skus: int = SKUS, prefix: str = "bulk") -> bytes:
    """A CSV in the importer's format: products of 3 SKUs, product fields on first lines."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for n in range(skus):
        i, k = divmod(n, len(SIZES))
        first = k == 0
        w.writerow(
            [
                f"{prefix}-{i}",
                f"Bulk linen dress no. {i}" if first else "",
                LEAF if first else "",
                "brand_none" if first else "",
                "11 31 44" if first else "",
                f"https://cdn.example.com/bulk/{i}.jpg" if first else "",
                "Pure linen, cut for summer." if first else "",
                f"{prefix}-{i}-{SIZES[k]}",
                json.dumps({"colour": "white", "size": SIZES[k]}),
                19900 + 100 * k,
                25900,
                50 + k,
                f"69{n:011d}",
                350,
            ]
        )
    return out.getvalue().encode()


@dataclass
class Result:
    ok: bool
    seconds: float
    upload_ms: float
    job: dict[str, Any]
    worker_rss_mb: float | None
    file_mb: float

    def row(self) -> dict[str, Any]:
        lines = self.job.get("processed") or 0
        return {
            "name": "bulk-import-100k-skus",
            "rps": round(lines / self.seconds, 1) if self.seconds else None,
            "p50_ms": round(self.upload_ms, 1),
            "p99_ms": None,
            "rss_mb": self.worker_rss_mb,
            "ratio_to_floor": None,
            "target": f"100 000 SKUs imported in <= {TARGET_SECONDS:.0f} s",
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "job_seconds": self.job.get("job_seconds"),
            "skus_created": self.job.get("skus_created"),
            "failed_lines": self.job.get("failed"),
            "file_mb": round(self.file_mb, 1),
            "note": "rps = SKU lines imported per second, upload to succeeded; p50_ms = the "
            "upload request (202); rss_mb = the peak RSS of the worker "
            "and its bulk process, summed",
        }


def measure(base_url: str, token: str, worker_pid: int | None, skus: int = SKUS) -> Result:
    content = import_file(skus)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, timeout=120) as client:
        started = time.perf_counter()
        r = client.post(
            "/v1/products/bulk-imports",
            content=content,
            headers={**headers, "Content-Type": "text/csv"},
        )
        upload_ms = (time.perf_counter() - started) * 1000
        if r.status_code != 202:
            raise RuntimeError(f"upload refused: {r.status_code} {r.text[:500]}")
        job_id = r.json()["id"]
        deadline = started + 10 * TARGET_SECONDS
        job: dict[str, Any] = r.json()
        while job["status"] in ("queued", "running") and time.perf_counter() < deadline:
            time.sleep(0.2)
            job = client.get(f"/v1/bulk-jobs/{job_id}", headers=headers).json()
        seconds = time.perf_counter() - started
    if job.get("started_at") and job.get("finished_at"):
        from datetime import datetime

        job["job_seconds"] = round(
            (
                datetime.fromisoformat(job["finished_at"])
                - datetime.fromisoformat(job["created_at"])
            ).total_seconds(),
            2,
        )
    ok = (
        job["status"] == "succeeded"
        and job["failed"] == 0
        and job["skus_created"] == skus
        and seconds <= TARGET_SECONDS
    )
    return Result(
        ok=ok,
        seconds=seconds,
        upload_ms=upload_ms,
        job=job,
        worker_rss_mb=workers_peak_rss_mb(worker_pid) if worker_pid else None,
        file_mb=len(content) / 1024 / 1024,
    )


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def main() -> None:
    from bench import run as bench

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_PG_URL", bench.DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--skus", type=int, default=SKUS)
    parser.add_argument("--update-results", action="store_true", help="refresh latest.json")
    args = parser.parse_args()

    db = f"minishop_bench_{uuid.uuid4().hex[:10]}"
    tmp = Path(tempfile.mkdtemp(prefix="minishop-bench-bulk-"))
    procs: list[subprocess.Popen[bytes]] = []
    server = None
    try:
        asyncio.run(bench._admin(args.admin_url, f'CREATE DATABASE "{db}"'))
        dsn = bench._dsn(args.admin_url, db)
        upgrade(bench._sqlalchemy_url(dsn))
        port = bench.free_port()
        env = {
            "MINISHOP_ENV": "development",
            "MINISHOP_DATABASE_URL": bench._sqlalchemy_url(dsn),
            "MINISHOP_VAR_DIR": str(tmp / "var"),
            "MINISHOP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "MINISHOP_LOG_LEVEL": "WARNING",
        }
        settings = bench.Settings(
            env="development",
            var_dir=tmp / "var",
            database_url=env["MINISHOP_DATABASE_URL"],
            public_base_url=env["MINISHOP_PUBLIC_BASE_URL"],
        )
        setup = asyncio.run(bench.create_actors(settings))
        server = bench.start_server(
            "project", ["app.main:app_factory", "--factory"], env, port, tmp, "/healthz"
        )
        worker = start_worker(env, tmp / "worker.log")
        procs.append(worker)
        print(f"bench: importing {args.skus} SKUs through the API and a worker ...", flush=True)
        result = measure(server.base, setup.token, worker.pid, args.skus)
        row = result.row()
        row["api_rss_mb"] = server.peak_rss_mb()
        print(json.dumps(row, indent=2))
        if args.update_results:
            rows = json.loads(bench.RESULTS.read_text()) if bench.RESULTS.exists() else []
            rows = [r for r in rows if r.get("name") != row["name"]]
            at = next(
                (i for i, r in enumerate(rows) if r.get("name") == "project-peak-rss"), len(rows)
            )
            rows.insert(at, row)
            bench.RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
            print(f"updated {bench.RESULTS}")
    finally:
        for p in procs:
            p.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)
        if server is not None:
            server.stop()
        with contextlib.suppress(Exception):
            asyncio.run(
                bench._admin(args.admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            )
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
