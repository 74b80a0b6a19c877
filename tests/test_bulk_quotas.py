"""Bulk jobs are shared fairly: per-shop limits on jobs waiting and on the bytes they hold,
and a worker that takes the shops' jobs in turn instead of one shop's whole queue first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import sqlalchemy as sa

from app.api.schemas.bulk import SchemaRowValidator
from app.container import Container
from app.infra.db import tables
from app.worker import bulk_worker
from tests.bulk_support import NDJSON, product_lines, run_job, to_jsonl, upload
from tests.product_support import provider

NewClient = Callable[..., httpx.AsyncClient]


async def _settle(container: Container) -> None:
    """Jobs other tests left queued would be claimed too: out of the way."""
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(tables.bulk_jobs)
            .where(tables.bulk_jobs.c.status.in_(("queued", "running")))
            .values(status="failed", error="set aside by a test")
        )


@pytest.fixture
async def quiet_queue(container: Container) -> AsyncIterator[None]:
    await _settle(container)
    yield
    await _settle(container)


async def test_a_shop_may_have_so_many_jobs_waiting(
    client: httpx.AsyncClient,
    container: Container,
    new_client: NewClient,
    monkeypatch: pytest.MonkeyPatch,
    quiet_queue: None,
) -> None:
    monkeypatch.setattr(container.settings, "bulk_max_pending_jobs", 2)
    p = await provider(client)
    other = await provider(new_client())
    jobs = [(await upload(p, to_jsonl(product_lines(f"q{i}")), NDJSON)) for i in range(2)]
    assert [r.status_code for r in jobs] == [202, 202]
    r = await upload(p, to_jsonl(product_lines("q2")), NDJSON)
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "bulk_queue_full"
    assert r.json()["limit"] == 2 and r.json()["pending_jobs"] == 2
    assert int(r.headers["retry-after"]) > 0
    r = await p.post("/v1/products/bulk-exports", {"format": "csv"})
    assert r.status_code == 429 and r.json()["code"] == "bulk_queue_full"
    # Refused before the file is received: a body that never ends gets its answer.
    never = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        yield b"out_product_id,price\n"
        await never.wait()
        yield b""

    r = await asyncio.wait_for(
        p.client.post(
            "/v1/products/bulk-imports",
            content=endless(),
            headers={**p.h, "Content-Type": "text/csv"},
        ),
        10,
    )
    assert r.status_code == 429 and r.json()["code"] == "bulk_queue_full"
    # Nothing was queued by the refused requests; another shop is not held back.
    assert len((await p.get("/v1/bulk-jobs")).json()["data"]) == 2
    assert (await upload(other, to_jsonl(product_lines("o1")), NDJSON)).status_code == 202
    # Once a job has finished, the shop may queue again.
    await run_job(container, jobs[0].json()["id"])
    assert (await upload(p, to_jsonl(product_lines("q2")), NDJSON)).status_code == 202


async def test_a_shop_may_have_so_many_bytes_of_uploads_waiting(
    client: httpx.AsyncClient,
    container: Container,
    new_client: NewClient,
    monkeypatch: pytest.MonkeyPatch,
    quiet_queue: None,
) -> None:
    p = await provider(client)
    other = await provider(new_client())
    first = to_jsonl(product_lines("s1"))
    monkeypatch.setattr(container.settings, "bulk_max_pending_bytes", len(first) + 100)
    r = await upload(p, first, NDJSON)
    assert r.status_code == 202, r.text
    first_id = r.json()["id"]
    r = await upload(p, to_jsonl(product_lines("s2")), NDJSON)
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "bulk_storage_full"
    assert r.json()["pending_bytes"] == len(first)
    assert "retry-after" in r.headers
    assert (await upload(other, to_jsonl(product_lines("s2")), NDJSON)).status_code == 202
    await run_job(container, first_id)
    assert (await upload(p, to_jsonl(product_lines("s2")), NDJSON)).status_code == 202


async def test_the_worker_takes_the_shops_jobs_in_turn(
    client: httpx.AsyncClient, container: Container, new_client: NewClient, quiet_queue: None
) -> None:
    busy = await provider(client)
    quiet = await provider(new_client())
    imports = []
    for i in range(3):
        r = await upload(busy, to_jsonl(product_lines(f"busy-{i}")), NDJSON)
        assert r.status_code == 202, r.text
        imports.append(r.json()["id"])
    # The other shop's export comes after all three of them.
    r = await quiet.post("/v1/products/bulk-exports", {"format": "jsonl"})
    export = r.json()["id"]
    worker = bulk_worker(container, SchemaRowValidator())
    order = [await worker.run_next() for _ in range(4)]
    assert order == [imports[0], export, imports[1], imports[2]]
    assert await worker.run_next() is None
