"""Helpers for the bulk job tests: files in our formats, uploads, and running the worker."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import httpx

from app.api.schemas.bulk import SchemaRowValidator
from app.container import Container
from app.domain.catalog.bulk_files import COLUMNS
from app.worker import bulk_worker
from tests.product_support import LEAF, Provider

CSV = "text/csv"
NDJSON = "application/x-ndjson"


def line(out_product_id: str, **values: Any) -> dict[str, Any]:
    """One SKU line; product fields only matter on a product's first line."""
    return {"out_product_id": out_product_id, **values}


def product_lines(
    out_id: str, sizes: tuple[str, ...] = ("S", "M", "L"), **product: Any
) -> list[dict[str, Any]]:
    first = {
        "title": f"Dress {out_id}",
        "category_id": LEAF,
        "images": ["https://cdn.example.com/p.jpg"],
        "brand_id": "brand_none",
        "regions": ["11", "31"],
        "description": [{"type": "text", "text": "Pure linen."}],
        **product,
    }
    rows = []
    for i, size in enumerate(sizes):
        rows.append(
            line(
                out_id,
                **(first if i == 0 else {}),
                out_sku_id=f"{out_id}-{size}",
                sale_attrs={"size": size},
                price=19900 + i * 100,
                market_price=25900,
                stock=10 + i,
                barcode=f"690123456{i:04d}",
                weight_g=350,
            )
        )
    return rows


def to_jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            if v is None:
                cells.append("")
            elif c in ("images", "regions"):
                cells.append(" ".join(v))
            elif isinstance(v, dict | list):
                cells.append(json.dumps(v, ensure_ascii=False))
            else:
                cells.append(str(v))
        writer.writerow(cells)
    return out.getvalue().encode()


async def upload(p: Provider, content: bytes, content_type: str, **params: Any) -> httpx.Response:
    return await p.client.post(
        "/v1/products/bulk-imports",
        content=content,
        params=params,
        headers={**p.h, "Content-Type": content_type},
    )


async def run_job(container: Container, job_id: str, **kw: Any) -> None:
    """The worker's job processing, in this process."""
    worker = bulk_worker(
        container, SchemaRowValidator(), stale_after=kw.pop("stale_after", timedelta(seconds=60))
    )
    assert await worker.run_next(job_id, **kw) == job_id


async def imported(
    p: Provider, container: Container, content: bytes, content_type: str, **params: Any
) -> dict[str, Any]:
    """Upload, run the job to the end, and return the finished job."""
    r = await upload(p, content, content_type, **params)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/bulk-jobs/{job['id']}"
    assert job["status"] == "queued"
    await run_job(container, job["id"])
    r = await p.get(f"/v1/bulk-jobs/{job['id']}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def download(p: Provider, path: str, fmt: str = "jsonl") -> list[dict[str, Any]]:
    r = await p.get(path, format=fmt)
    assert r.status_code == 200, r.text
    if fmt == "csv":
        assert r.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(r.text)))
    assert r.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(x) for x in r.text.splitlines() if x]


async def all_products(p: Provider) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        r = await p.get("/v1/products", **params)
        assert r.status_code == 200, r.text
        out += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out
