"""Batch printing (issue 15): up to 500 orders get their e-waybills and one PDF of labels
through an asynchronous job run by the bulk worker. Per-order results for orders that could
not get a waybill; a worker killed mid-batch is taken over without issuing anything twice; a
carrier failing twice is retried; the PDF expires; bad input and scopes."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.container import Container
from app.domain.clock import utcnow
from app.domain.logistics import label_batches
from app.infra.db import tables
from app.worker.housekeeping import housekeeping
from tests import factories as f
from tests.aftersale_support import Sale, paid
from tests.aftersale_support import sale as sale
from tests.bulk_support import run_job
from tests.logistics_support import SECRET, address_body
from tests.oauth_support import authorized
from tests.order_support import buyer_order
from tests.product_support import Provider

BATCHES = "/v1/waybill-batches"


async def _setup(sale: Sale, paid_orders: int) -> tuple[str, list[str]]:
    """The shop's carrier account and sender, and `paid_orders` paid orders (the sale's
    first): the account id and the order ids."""
    p = sale.shop.p
    r = await p.post(
        "/v1/logistics/accounts",
        {"carrier": "YTO", "customer_code": "K2100001", "key": "K01", "secret": SECRET},
    )
    assert r.status_code == 201, r.text
    assert (await p.post("/v1/logistics/addresses", address_body())).status_code == 201
    orders = [sale.id]
    for _ in range(paid_orders - 1):
        orders.append((await paid(sale.container, sale.shop, sale.b))["id"])
    return str(r.json()["id"]), orders


async def _start(p: Provider, **body: Any) -> httpx.Response:
    return await p.post(BATCHES, {"weight_grams": 600, **body})


async def _count(container: Container, table: sa.Table, shop_id: str) -> int:
    async with container.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(table.c.shop_id == shop_id)
                )
            ).scalar_one()
        )


async def test_a_batch_issues_ships_and_prints_with_per_order_results(
    sale: Sale, container: Container, new_client: f.NewClient
) -> None:
    account_id, paid_ids = await _setup(sale, 3)
    b = await f.buyer(new_client())
    unpaid = (await buyer_order(b, sale.shop, 1, 0))["id"]
    order_ids = [paid_ids[0], unpaid, paid_ids[1], "order_nope", paid_ids[2]]
    p = sale.shop.p
    r = await _start(p, logistics_account_id=account_id, order_ids=order_ids, ship=True)
    assert r.status_code == 202, r.text
    batch = r.json()
    assert r.headers["Location"] == f"{BATCHES}/{batch['id']}"
    assert (batch["status"], batch["total"], batch["processed"], batch["results"]) == (
        "queued",
        5,
        0,
        [],
    )
    early = await p.get(batch["links"]["labels"])
    assert early.status_code == 409 and early.json()["code"] == "labels_not_ready"

    await run_job(container, batch["id"])
    done = (await p.get(f"{BATCHES}/{batch['id']}")).json()
    assert (done["status"], done["processed"], done["succeeded"], done["failed"]) == (
        "succeeded",
        5,
        3,
        2,
    )
    assert done["expires_at"] is not None
    results = done["results"]
    assert [(x["line"], x["order_id"], x["outcome"]) for x in results] == [
        (1, paid_ids[0], "issued"),
        (2, unpaid, "failed"),
        (3, paid_ids[1], "issued"),
        (4, "order_nope", "failed"),
        (5, paid_ids[2], "issued"),
    ]
    assert results[1]["error"]["code"] == "invalid_order_transition"
    assert results[3]["error"]["code"] == "order_not_found"
    numbers = []
    for x in results[::2]:
        w = (await p.get(f"/v1/waybills/{x['waybill_id']}")).json()
        assert w["order_id"] == x["order_id"] and w["shipment_id"] is not None
        numbers.append(w["waybill_no"])
        assert (await p.get(f"/v1/orders/{x['order_id']}")).json()["status"] == 30

    pdf = await p.get(done["links"]["labels"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    assert len(pages) == 3
    assert [
        n for page, n in zip(pages, numbers, strict=True) if n in page.extract_text()
    ] == numbers

    listed = await p.get(BATCHES)
    assert [x["id"] for x in listed.json()["data"]] == [batch["id"]]
    # A label batch is not a catalogue job.
    assert (await p.get(f"/v1/bulk-jobs/{batch['id']}")).status_code == 404
    assert (await p.get("/v1/bulk-jobs")).json()["data"] == []


async def test_a_worker_killed_mid_batch_is_taken_over_and_nothing_issued_twice(
    sale: Sale, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(label_batches, "CHUNK_ORDERS", 2)
    account_id, order_ids = await _setup(sale, 5)
    r = await _start(sale.shop.p, logistics_account_id=account_id, order_ids=order_ids)
    batch_id = r.json()["id"]
    await run_job(container, batch_id, max_chunks=1)  # the worker stops after one chunk
    mid = (await sale.shop.p.get(f"{BATCHES}/{batch_id}")).json()
    assert (mid["status"], mid["processed"], len(mid["results"])) == ("running", 2, 2)
    # Its heartbeat goes stale; another worker takes the batch over at the next chunk.
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(tables.bulk_jobs)
            .where(tables.bulk_jobs.c.id == batch_id)
            .values(heartbeat_at=utcnow() - timedelta(minutes=5))
        )
    await run_job(container, batch_id)
    done = (await sale.shop.p.get(f"{BATCHES}/{batch_id}")).json()
    assert (done["status"], done["succeeded"]) == ("succeeded", 5)
    assert [x["line"] for x in done["results"]] == [1, 2, 3, 4, 5]
    assert await _count(container, tables.waybills, sale.shop.shop_id) == 5
    assert await _count(container, tables.sandbox_waybills, sale.shop.shop_id) == 5
    pdf = await sale.shop.p.get(done["links"]["labels"])
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == 5


async def test_a_carrier_failing_twice_is_retried_for_the_order(
    sale: Sale, container: Container
) -> None:
    account_id, order_ids = await _setup(sale, 2)
    faults = container.sandbox_carrier_faults
    assert faults is not None
    r = await _start(sale.shop.p, logistics_account_id=account_id, order_ids=order_ids)
    faults.fail_creations = 2
    await run_job(container, r.json()["id"])
    done = (await sale.shop.p.get(f"{BATCHES}/{r.json()['id']}")).json()
    assert [x["outcome"] for x in done["results"]] == ["issued", "issued"]
    assert faults.fail_creations == 0
    assert await _count(container, tables.waybills, sale.shop.shop_id) == 2
    assert await _count(container, tables.sandbox_waybills, sale.shop.shop_id) == 2

    # A carrier down for good: the order fails with its code, the batch still finishes.
    again = await paid(container, sale.shop, sale.b)
    r = await _start(sale.shop.p, logistics_account_id=account_id, order_ids=[again["id"]])
    faults.fail_creations = 3
    await run_job(container, r.json()["id"])
    done = (await sale.shop.p.get(f"{BATCHES}/{r.json()['id']}")).json()
    assert done["status"] == "succeeded"
    assert done["results"][0]["error"]["code"] == "carrier_unavailable"
    none = await sale.shop.p.get(done["links"]["labels"])
    assert none.status_code == 409 and none.json()["code"] == "labels_not_ready"


async def test_the_labels_expire(sale: Sale, container: Container) -> None:
    account_id, order_ids = await _setup(sale, 1)
    r = await _start(sale.shop.p, logistics_account_id=account_id, order_ids=order_ids)
    batch_id = r.json()["id"]
    await run_job(container, batch_id)
    assert (await sale.shop.p.get(f"{BATCHES}/{batch_id}/labels.pdf")).status_code == 200
    j = tables.bulk_jobs
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(j).where(j.c.id == batch_id).values(expires_at=utcnow() - timedelta(1))
        )
    gone = await sale.shop.p.get(f"{BATCHES}/{batch_id}/labels.pdf")
    assert gone.status_code == 410 and gone.json()["code"] == "labels_expired"
    assert await _count(container, tables.bulk_job_file_parts, sale.shop.shop_id) > 0
    assert (await housekeeping(container.engine))["expired_files"] == 1
    assert await _count(container, tables.bulk_job_file_parts, sale.shop.shop_id) == 0
    # The waybill and its own label remain.
    result = (await sale.shop.p.get(f"{BATCHES}/{batch_id}")).json()["results"][0]
    label = await sale.shop.p.get(f"/v1/waybills/{result['waybill_id']}/label.pdf")
    assert label.status_code == 200


async def test_bad_batches_change_nothing(sale: Sale, container: Container) -> None:
    account_id, order_ids = await _setup(sale, 1)
    p = sale.shop.p
    for body, status in (
        ({"order_ids": []}, 422),
        ({"order_ids": [f"order_{i}" for i in range(501)]}, 422),
        ({"order_ids": [order_ids[0], order_ids[0]]}, 422),
        ({"order_ids": order_ids, "weight_grams": 0}, 422),
        ({"order_ids": order_ids, "logistics_account_id": "lacc_nope"}, 404),
        ({"order_ids": order_ids, "sender_address_id": "sadr_nope"}, 404),
    ):
        r = await _start(p, **{"logistics_account_id": account_id, **body})
        assert r.status_code == status, (body, r.text)
    narrow = Provider(
        p.client,
        await authorized(
            p.client,
            merchant=p.auth.merchant,
            shop=p.auth.shop,
            scope="logistics:read logistics:write",
        ),
    )
    r = await _start(narrow, logistics_account_id=account_id, order_ids=order_ids, ship=True)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    assert await _count(container, tables.bulk_jobs, sale.shop.shop_id) == 0
    assert (await p.get(f"{BATCHES}/job_nope")).status_code == 404
