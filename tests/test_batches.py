"""Batches on the open API: `POST /v1/products/batch` and `POST /v1/stock/batch`.

Each item answers what its single call would, runs in its own savepoint (a failed item leaves
no row behind, audit and outbox included) and the others commit together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from app.container import Container
from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface
from app.domain.errors import Conflict
from app.infra.db import tables
from tests import factories as f
from tests.event_support import product_updated
from tests.product_support import Provider, audit, events, product_body, provider, sku

NewClient = Callable[..., httpx.AsyncClient]


def without_request_id(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k != "request_id"}


async def batch(p: Provider, operations: list[Any], **headers: str) -> httpx.Response:
    return await p.client.post(
        "/v1/products/batch", json={"operations": operations}, headers={**p.h, **headers}
    )


async def test_each_operation_answers_what_its_single_call_would(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    existing = await p.create(out_product_id="erp-taken", skus=[sku(out_sku_id="sku-taken")])
    pid, sid = existing["id"], existing["skus"][0]["id"]
    bad_category = product_body(category_id="cat_apparel")
    taken_out_id = product_body(out_product_id="erp-taken")
    taken_sku_id = product_body(title="Half-written", skus=[sku(out_sku_id="sku-taken")])
    schema_bad = product_body(skus=[sku(price=0)])
    operations: list[Any] = [
        {"op": "create", **product_body(title="Batch made", out_product_id="erp-new")},
        {"op": "create", **bad_category},
        {"op": "create", **taken_out_id},
        {"op": "create", **taken_sku_id},
        {"op": "create", **schema_bad},
        {"op": "update", "product_id": pid, "subtitle": "Edited in a batch"},
        {"op": "update", "product_id": pid, "subtitle": "Stale", "expected_version": 1},
        {"op": "update", "product_id": "prod_doesnotexist", "subtitle": "x"},
        {"op": "update", "product_id": pid, "title": None},
        {"op": "adjust_stock", "product_id": pid, "sku_id": sid, "delta": -1000},
        {"op": "set_stock", "product_id": pid, "sku_id": sid, "stock": 42},
        {"op": "adjust_stock", "product_id": pid, "sku_id": sid, "delta": -2},
        {"op": "submit", "product_id": pid},
        {"op": "list", "product_id": pid},
        {"op": "teleport", "product_id": pid},
        "not an object",
    ]
    r = await batch(p, operations)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [d["index"] for d in data] == list(range(len(operations)))
    assert [d["status"] for d in data] == [
        201, 422, 409, 409, 422, 200, 412, 404, 422, 409, 200, 200, 200, 409, 422, 422
    ]  # fmt: skip
    assert [d["op"] for d in data][:5] == ["create"] * 5
    assert data[14]["op"] is None and data[15]["op"] is None

    made = data[0]["product"]
    assert made["title"] == "Batch made" and made["shop_id"] == p.shop_id
    assert data[0]["problem"] is None and data[0]["stock"] is None
    assert data[5]["product"]["subtitle"] == "Edited in a batch"
    assert data[10]["stock"] == {"product_id": pid, "sku_id": sid, "stock": 42}
    assert data[11]["stock"]["stock"] == 40
    # A later read in the same batch sees the stock the earlier items set.
    assert data[12]["product"]["status"] == "in_review"
    assert data[12]["product"]["skus"][0]["stock"] == 40
    assert data[13]["problem"]["code"] == "invalid_state_transition"

    # The failures are the single calls' problems, field errors included.
    nowhere = "/v1/products/prod_doesnotexist"
    singles = [
        (1, await client.post("/v1/products", json=bad_category, headers=p.h)),
        (2, await client.post("/v1/products", json=taken_out_id, headers=p.h)),
        (3, await client.post("/v1/products", json=taken_sku_id, headers=p.h)),
        (4, await client.post("/v1/products", json=schema_bad, headers=p.h)),
        (7, await client.patch(nowhere, json={"subtitle": "x"}, headers=p.h)),
        (8, await client.patch(f"/v1/products/{pid}", json={"title": None}, headers=p.h)),
    ]
    for index, single in singles:
        assert single.status_code == data[index]["status"], (index, single.text)
        assert without_request_id(data[index]["problem"]) == without_request_id(single.json())
    assert data[4]["problem"]["errors"][0]["loc"] == ["body", "skus", 0, "price"]
    assert data[6]["problem"]["code"] == "precondition_failed"
    assert data[9]["problem"]["code"] == "insufficient_stock"
    assert [e["loc"] for e in data[14]["problem"]["errors"]] == [["body", "op"]]
    assert data[15]["problem"]["code"] == "validation_error"

    # Failed items left nothing behind: no half-written product, no audit entry for it.
    titles = sorted(x["title"] for x in (await p.get("/v1/products")).json()["data"])
    assert titles == sorted([existing["title"], "Batch made"])
    assert len(await audit(p, action="product.created")) == 2
    assert len(await audit(p, action="product.updated")) == 1
    assert [e["after"]["stock"] for e in await audit(p, action="sku.stock_set")] == [42]
    # The successful ones are all there, events included.
    assert [t for t, _ in await events(container, pid)] == ["product.updated"]


async def test_a_failed_item_undoes_its_own_audit_and_outbox_rows(
    container: Container, client: httpx.AsyncClient
) -> None:
    """The savepoint itself: an error after rows were flushed takes exactly those rows."""
    p = await provider(client)
    actor = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)

    def entry(target: str) -> AuditEntry:
        return AuditEntry.record(
            actor, "test.savepoint", target_type="test", target_id=target, shop_id=p.shop_id
        )

    async with container.uow() as uow:
        for target, fail in (("kept-1", False), ("undone", True), ("kept-2", False)):
            try:
                async with uow.savepoint():
                    uow.audit.add(entry(target))
                    await uow.outbox.add(product_updated(p.shop_id, target))
                    await uow.flush()
                    if fail:
                        raise Conflict("this item fails after its rows were written")
            except Conflict:
                pass
        await uow.commit()
    async with container.engine.connect() as conn:
        log, outbox = tables.audit_log, tables.outbox_events
        for column, shop in (
            (log.c.target_id, log.c.shop_id),
            (outbox.c.resource_id, outbox.c.shop_id),
        ):
            rows = await conn.execute(
                sa.select(column).where(
                    shop == p.shop_id, column.in_(["kept-1", "undone", "kept-2"])
                )
            )
            assert sorted(rows.scalars()) == ["kept-1", "kept-2"], column


async def test_an_empty_or_oversized_batch_is_refused_whole(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    before = await f.fingerprint(container, p.shop_id)
    for operations in ([], [{"op": "create", **product_body()} for _ in range(101)]):
        r = await batch(p, operations)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "validation_error"
        assert r.json()["errors"][0]["loc"] == ["body", "operations"]
    r = await p.client.post("/v1/stock/batch", json={"items": []}, headers=p.h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "items"]
    after = await f.fingerprint(container, p.shop_id)
    # Nothing moved (the grant records when it was last used: the fingerprint leaves that out).
    assert after == before
    # 100 is allowed.
    r = await batch(p, [{"op": "submit", "product_id": f"prod_{i}"} for i in range(100)])
    assert r.status_code == 200 and {d["status"] for d in r.json()["data"]} == {404}


async def test_a_replayed_batch_runs_once(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    ops = [{"op": "create", **product_body(title="Once")}, {"op": "submit", "product_id": "x"}]
    first = await batch(p, ops, **{"Idempotency-Key": "batch-once-1"})
    again = await batch(p, ops, **{"Idempotency-Key": "batch-once-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert [x["title"] for x in (await p.get("/v1/products")).json()["data"]] == ["Once"]
    other = await batch(p, ops[:1], **{"Idempotency-Key": "batch-once-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


async def test_another_shops_ids_are_404_item_by_item(
    client: httpx.AsyncClient, new_client: NewClient, container: Container
) -> None:
    a = await provider(client)
    b = await provider(new_client(), app=a.auth.app)
    theirs = await b.create(out_product_id="b-1", skus=[sku(out_sku_id="b-sku")])
    pid, sid = theirs["id"], theirs["skus"][0]["id"]
    before = await events(container, pid)
    r = await batch(
        a,
        [
            {"op": "update", "product_id": pid, "title": "Stolen"},
            {"op": "submit", "product_id": pid},
            {"op": "delist", "product_id": pid},
            {"op": "delete", "product_id": pid},
            {"op": "set_stock", "product_id": pid, "sku_id": sid, "stock": 0},
            {"op": "adjust_stock", "product_id": pid, "sku_id": sid, "delta": -1},
            {"op": "create", **product_body(title="Mine")},
        ],
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [d["status"] for d in data] == [404] * 6 + [201]
    assert {d["problem"]["code"] for d in data[:6]} == {"product_not_found"}
    assert data[6]["product"]["shop_id"] == a.shop_id
    assert b.auth.shop["name"] not in r.text
    r = await a.client.post(
        "/v1/stock/batch",
        json={"items": [{"sku_id": sid, "stock": 0}, {"out_sku_id": "b-sku", "delta": -1}]},
        headers=a.h,
    )
    assert [(d["status"], d["problem"]["code"]) for d in r.json()["data"]] == [
        (404, "sku_not_found"),
        (404, "sku_not_found"),
    ]
    assert (await b.get(f"/v1/products/{pid}")).json() == theirs
    assert await events(container, pid) == before


async def test_stock_batch_by_sku_id_or_out_sku_id(client: httpx.AsyncClient) -> None:
    p = await provider(client)
    product = await p.create(
        skus=[
            sku(sale_attrs={"size": "M"}, stock=10, out_sku_id="erp-m"),
            sku(sale_attrs={"size": "L"}, stock=5),
        ]
    )
    by_size = {s["sale_attrs"]["size"]: s["id"] for s in product["skus"]}
    m, big = by_size["M"], by_size["L"]
    items: list[Any] = [
        {"sku_id": m, "stock": 30},
        {"out_sku_id": "erp-m", "delta": -4},
        {"sku_id": big, "delta": -6},
        {"sku_id": big, "delta": 2},
        {"out_sku_id": "erp-nope", "stock": 1},
        {"sku_id": m, "out_sku_id": "erp-m", "stock": 1},
        {"sku_id": m},
    ]
    r = await p.client.post("/v1/stock/batch", json={"items": items}, headers=p.h)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [d["status"] for d in data] == [200, 200, 409, 200, 404, 422, 422]
    assert data[0]["stock"] == {"product_id": product["id"], "sku_id": m, "stock": 30}
    assert data[1]["stock"]["stock"] == 26 and data[1]["stock"]["sku_id"] == m
    assert data[2]["problem"]["code"] == "insufficient_stock"
    assert data[3]["stock"]["stock"] == 7
    assert data[4]["problem"]["code"] == "sku_not_found"
    assert data[5]["problem"]["errors"][0]["loc"] == ["body"]
    got = {
        s["id"]: s["stock"] for s in (await p.get(f"/v1/products/{product['id']}")).json()["skus"]
    }
    assert got == {m: 26, big: 7}
    adjusted = await audit(p, action="sku.stock_adjusted")
    assert sorted((e["before"]["stock"], e["after"]["stock"]) for e in adjusted) == [
        (5, 7),
        (30, 26),
    ]
