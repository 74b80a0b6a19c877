"""Bulk export (and its round trip into another shop), the Shopify product CSV importer, and
jobs that survive an interrupted worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from app.api.schemas.bulk import SchemaRowValidator
from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.worker import bulk_worker
from tests.bulk_support import (
    CSV,
    NDJSON,
    all_products,
    download,
    imported,
    product_lines,
    run_job,
    to_csv,
    to_jsonl,
    upload,
)
from tests.own_database import own_database
from tests.product_support import LEAF, provider

NewClient = Callable[..., httpx.AsyncClient]
FIXTURE = Path(__file__).parent / "fixtures" / "shopify_products.csv"

#: A database of this module's own (tests/own_database.py): its worker processes take up
#: only this module's jobs, none queued and left by the tests before on this xdist worker.
database_url, is_postgres, settings, container, app = own_database()
ROOT = Path(__file__).resolve().parents[1]


def _comparable(products: list[dict[str, Any]]) -> dict[str, Any]:
    """What an export carries, by out id: the ids and the shop differ between shops."""
    keep = ("title", "subtitle", "category_id", "brand_id", "condition", "regions", "images")
    out = {}
    for p in products:
        skus = {
            s["out_sku_id"]: {
                k: s[k]
                for k in ("sale_attrs", "price", "market_price", "stock", "barcode", "weight_g")
            }
            for s in p["skus"]
        }
        out[p["out_product_id"]] = {
            **{k: p[k] for k in keep},
            "description": p["description"],
            "attributes": p["attributes"],
            "skus": skus,
        }
    return out


async def test_export_then_import_into_another_shop_round_trips(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    a = await provider(client)
    rows = [
        *product_lines("erp-1", attributes=[{"name": "Material", "value": "Linen"}]),
        *product_lines("erp-2", sizes=("M",), subtitle='Light, "airy", and cool'),
    ]
    await imported(a, container, to_jsonl(rows), NDJSON)
    # A product made through the API, without out ids: the export gives it its own ids.
    r = await a.post(
        "/v1/products",
        {
            "title": "No out id",
            "images": ["https://cdn.example.com/x.jpg"],
            "category_id": LEAF,
            "description": [{"type": "image", "url": "https://cdn.example.com/d.jpg"}],
            "skus": [{"sale_attrs": {}, "price": 500, "stock": 1}],
        },
    )
    assert r.status_code == 201, r.text
    plain = r.json()
    b = await provider(new_client())
    for fmt in ("csv", "jsonl"):
        r = await a.post("/v1/products/bulk-exports", {"format": fmt})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["kind"] == "export" and job["links"]["file"] == f"/v1/bulk-jobs/{job['id']}/file"
        await run_job(container, job["id"])
        done = (await a.get(f"/v1/bulk-jobs/{job['id']}")).json()
        assert done["status"] == "succeeded"
        assert (done["total"], done["processed"]) == (5, 5)
        r = await a.get(f"/v1/bulk-jobs/{job['id']}/file")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(CSV if fmt == "csv" else NDJSON)
        assert "attachment" in r.headers["content-disposition"]
        assert "RateLimit-Remaining" in r.headers
        # Shop B imports A's file: the same catalogue, under B's own ids.
        imported_job = await imported(b, container, r.content, CSV if fmt == "csv" else NDJSON)
        assert imported_job["failed"] == 0, await download(
            b, f"/v1/bulk-jobs/{imported_job['id']}/errors"
        )
        if fmt == "csv":
            assert (imported_job["products_created"], imported_job["skus_created"]) == (3, 5)
        else:  # the second import finds every out id: nothing to change
            assert imported_job["products_created"] == 0
            assert imported_job["products_updated"] == 0
            report = await download(b, f"/v1/bulk-jobs/{imported_job['id']}/report")
            assert {r["outcome"] for r in report} == {"unchanged"}
    a_products = await all_products(a)
    b_products = await all_products(b)
    assert {p["shop_id"] for p in b_products} == {b.shop_id}
    by_id = {p["id"]: p for p in a_products}
    by_id[plain["id"]]["out_product_id"] = plain["id"]
    by_id[plain["id"]]["skus"][0]["out_sku_id"] = plain["skus"][0]["id"]
    assert _comparable(b_products) == _comparable(list(by_id.values()))


async def test_shopify_csv_import(client: httpx.AsyncClient, container: Container) -> None:
    p = await provider(client)
    content = FIXTURE.read_bytes()
    # Shopify's Type does not map to our categories: the job needs a target.
    r = await upload(p, content, CSV, format="shopify_csv")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "category_id"]
    r = await upload(p, content, CSV, format="shopify_csv", category_id="cat_apparel")
    assert r.status_code == 422 and r.json()["errors"][0]["type"] == "not_a_leaf"

    job = await imported(
        p,
        container,
        content,
        CSV,
        format="shopify_csv",
        category_id=LEAF,
        type_category="Scarves=cat_apparel_accessories_scarves",
    )
    assert job["format"] == "shopify_csv"
    assert (job["total"], job["succeeded"], job["failed"]) == (5, 4, 1)
    assert (job["products_created"], job["skus_created"]) == (2, 4)
    products = {x["out_product_id"]: x for x in await all_products(p)}
    assert set(products) == {"linen-wrap-dress", "silk-scarf"}
    dress = products["linen-wrap-dress"]
    assert dress["title"] == "Linen Wrap Dress" and dress["brand_id"] == "brand_none"
    assert dress["category_id"] == LEAF and dress["status"] == "draft"
    assert dress["images"] == [
        "https://cdn.shopify.com/s/files/1/dress-front.jpg",
        "https://cdn.shopify.com/s/files/1/dress-back.jpg",
        "https://cdn.shopify.com/s/files/1/dress-side.jpg",  # from the image-only row
    ]
    assert dress["description"] == [
        {"type": "text", "text": "A breezy wrap dress in washed linen."},
        {"type": "text", "text": "100% linen"},
        {"type": "text", "text": "Machine wash cold"},
        {"type": "image", "url": "https://cdn.shopify.com/s/files/1/dress-detail.jpg"},
    ]
    skus = {s["out_sku_id"]: s for s in dress["skus"]}
    assert set(skus) == {"LWD-SAND-S", "LWD-SAND-M", "LWD-OLIVE-S"}
    sand_m = skus["LWD-SAND-M"]
    assert sand_m["sale_attrs"] == {"Colour": "Sand", "Size": "M"}
    assert (sand_m["price"], sand_m["market_price"]) == (8900, 12000)
    assert (sand_m["stock"], sand_m["weight_g"], sand_m["barcode"]) == (8, 360, "6901234567002")
    olive = skus["LWD-OLIVE-S"]
    assert (olive["price"], olive["market_price"], olive["stock"]) == (9250, None, 0)
    scarf = products["silk-scarf"]
    assert scarf["category_id"] == "cat_apparel_accessories_scarves"
    [only] = scarf["skus"]
    assert only["sale_attrs"] == {}  # Shopify's "Title: Default Title"
    assert (only["price"], only["market_price"]) == (4500, None)  # compare-at below price
    [error] = await download(p, f"/v1/bulk-jobs/{job['id']}/errors")
    assert error["out_product_id"] == "bad-price-tee" and error["field"] == "price"
    assert "12.999" in str(error["message"])
    # Importing the same file again updates by Handle and Variant SKU: no duplicates.
    again = await imported(
        p,
        container,
        content,
        CSV,
        format="shopify_csv",
        category_id=LEAF,
        type_category="Scarves=cat_apparel_accessories_scarves",
    )
    assert (again["products_created"], again["skus_created"], again["skus_updated"]) == (0, 0, 0)
    assert len(await all_products(p)) == 2


async def _count_skus(container: Container, shop_id: str) -> int:
    async with container.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(tables.skus)
                    .where(tables.skus.c.shop_id == shop_id)
                )
            ).scalar_one()
        )


async def test_a_job_interrupted_mid_way_is_resumed_without_duplicates(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    rows = [r for i in range(30) for r in product_lines(f"erp-{i:02d}", sizes=("S", "M"))]
    r = await upload(p, to_csv(rows), CSV)
    job_id = r.json()["id"]
    # A worker processes two chunks of 20 lines, then stops as if killed: the job stays
    # running, its heartbeat ages.
    first = bulk_worker(container, SchemaRowValidator(), chunk_rows=20, worker_id="worker-a")
    assert await first.run_next(job_id, max_chunks=2) == job_id
    job = (await p.get(f"/v1/bulk-jobs/{job_id}")).json()
    assert (job["status"], job["processed"], job["total"]) == ("running", 40, 60)
    assert await _count_skus(container, p.shop_id) == 40
    # While the heartbeat is fresh nobody else takes the job.
    second = bulk_worker(container, SchemaRowValidator(), chunk_rows=20, worker_id="worker-b")
    assert await second.run_next(job_id) is None
    # Once it is stale, another worker takes over and resumes at the next chunk.
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(tables.bulk_jobs)
            .where(tables.bulk_jobs.c.id == job_id)
            .values(heartbeat_at=utcnow() - timedelta(minutes=5))
        )
    assert await second.run_next(job_id) == job_id
    job = (await p.get(f"/v1/bulk-jobs/{job_id}")).json()
    assert job["status"] == "succeeded"
    assert (job["processed"], job["succeeded"], job["failed"]) == (60, 60, 0)
    assert (job["products_created"], job["skus_created"]) == (30, 60)
    assert await _count_skus(container, p.shop_id) == 60
    report = await download(p, f"/v1/bulk-jobs/{job_id}/report")
    assert len(report) == 60 and {r["outcome"] for r in report} == {"created"}
    # The first worker, back from the dead, finds the job is no longer its own.
    assert await first.run_next(job_id) is None


async def test_the_worker_command_runs_queued_jobs(
    client: httpx.AsyncClient, container: Container
) -> None:
    """`minishop worker --once`, as its own process, picks up the job the API queued."""
    p = await provider(client)
    r = await upload(p, to_jsonl(product_lines("erp-cli", sizes=("S", "M"))), NDJSON)
    job_id = r.json()["id"]
    settings = container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")}
    env |= {
        "MINISHOP_ENV": "test",
        "MINISHOP_DATABASE_URL": settings.database_url,
        "MINISHOP_VAR_DIR": str(settings.var_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app", "worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    job = (await p.get(f"/v1/bulk-jobs/{job_id}")).json()
    assert job["status"] == "succeeded", job
    assert job["skus_created"] == 2
    assert {x["out_product_id"] for x in await all_products(p)} == {"erp-cli"}


async def test_an_edited_export_imported_into_the_same_shop_updates_in_place(
    client: httpx.AsyncClient, container: Container
) -> None:
    """Products and SKUs without out ids are named by their ids in the export, and matched by
    them on the way back: editing prices in a spreadsheet duplicates nothing."""
    p = await provider(client)
    r = await p.post(
        "/v1/products",
        {
            "title": "No out id",
            "images": ["https://cdn.example.com/x.jpg"],
            "category_id": LEAF,
            "skus": [
                {"sale_attrs": {"size": "S"}, "price": 500, "stock": 1},
                {"sale_attrs": {"size": "M"}, "price": 600, "stock": 1},
            ],
        },
    )
    product = r.json()
    r = await p.post("/v1/products/bulk-exports", {"format": "csv"})
    await run_job(container, r.json()["id"])
    exported = (await p.get(f"/v1/bulk-jobs/{r.json()['id']}/file")).text
    edited = exported.replace(",600,", ",650,")
    assert edited != exported
    job = await imported(p, container, edited.encode(), CSV)
    assert (job["products_created"], job["skus_created"], job["skus_updated"]) == (0, 0, 1)
    [after] = await all_products(p)
    assert after["id"] == product["id"] and after["out_product_id"] is None
    prices = {s["sale_attrs"]["size"]: (s["price"], s["out_sku_id"]) for s in after["skus"]}
    assert prices == {"S": (500, None), "M": (650, None)}


async def test_several_workers_share_the_queue_without_running_a_job_twice(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    job_ids = []
    for n in range(4):
        rows = [r for i in range(5) for r in product_lines(f"w{n}-{i}", sizes=("S", "M"))]
        job_ids.append((await upload(p, to_jsonl(rows), NDJSON)).json()["id"])
    workers = [
        bulk_worker(container, SchemaRowValidator(), chunk_rows=4, worker_id=f"w{i}")
        for i in range(3)
    ]
    ran = await asyncio.gather(*(w.run_all() for w in workers))
    assert sum(ran) >= 4
    async with container.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(tables.bulk_jobs.c.id, tables.bulk_jobs.c.attempts).where(
                    tables.bulk_jobs.c.id.in_(job_ids)
                )
            )
        ).all()
    assert {r.attempts for r in rows} == {1}  # each job claimed once
    for job_id in job_ids:
        job = (await p.get(f"/v1/bulk-jobs/{job_id}")).json()
        assert (job["status"], job["skus_created"], job["failed"]) == ("succeeded", 10, 0)
    assert await _count_skus(container, p.shop_id) == 40


async def test_a_killed_worker_process_is_replaced_and_the_job_completes(
    client: httpx.AsyncClient, container: Container
) -> None:
    """SIGKILL a `minishop worker` and its bulk process mid-job (the machine gone);
    `minishop worker --once` takes the job over once its heartbeat is stale and finishes it
    without a duplicate row."""
    p = await provider(client)
    rows = [r for i in range(600) for r in product_lines(f"k{i:03d}", sizes=("S", "M"))]
    job_id = (await upload(p, to_csv(rows), CSV)).json()["id"]
    settings = container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")}
    env |= {
        "MINISHOP_ENV": "test",
        "MINISHOP_DATABASE_URL": settings.database_url,
        "MINISHOP_VAR_DIR": str(settings.var_dir),
        # Tiny chunks: ~600 commits, seconds of work on any machine, so the kill lands
        # mid-job even when this test's loop is held up a while under load (with 5-row
        # chunks CI once saw the whole job done before the kill).
        "MINISHOP_BULK_CHUNK_ROWS": "2",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Watched in the database, not through the API: a start that takes long on a loaded
        # machine would otherwise spend the app's rate limit on polls.
        progress = sa.select(tables.bulk_jobs.c.processed).where(
            tables.bulk_jobs.c.shop_id == p.shop_id, tables.bulk_jobs.c.id == job_id
        )
        async with asyncio.timeout(300):  # bounds a worker that never starts
            while True:
                async with container.engine.connect() as conn:
                    if (await conn.execute(progress)).scalar_one() >= 4:
                        break
                await asyncio.sleep(0.05)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    job = (await p.get(f"/v1/bulk-jobs/{job_id}")).json()
    assert job["status"] == "running" and 0 < job["processed"] < 1200, job
    # A worker that considers the silent one dead at once (stale after 0 s) takes over.
    done = subprocess.run(
        [sys.executable, "-m", "app", "worker", "--once"],
        cwd=ROOT,
        env={**env, "MINISHOP_BULK_STALE_SECONDS": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    job = (await p.get(f"/v1/bulk-jobs/{job_id}")).json()
    assert job["status"] == "succeeded", job
    assert (job["processed"], job["succeeded"], job["failed"]) == (1200, 1200, 0)
    assert (job["products_created"], job["skus_created"]) == (600, 1200)
    assert await _count_skus(container, p.shop_id) == 1200
    report = await download(p, f"/v1/bulk-jobs/{job_id}/report")
    assert len(report) == 1200 and len({r["sku_id"] for r in report}) == 1200
