"""Bulk import through the real API and the worker's job processing: CSV and JSON Lines,
per-line errors and the report, partial failure, updates by out id, malformed uploads."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from app.container import Container
from app.infra.db import tables
from tests import factories as f
from tests.bulk_support import (
    CSV,
    NDJSON,
    all_products,
    download,
    imported,
    line,
    product_lines,
    run_job,
    to_csv,
    to_jsonl,
    upload,
)
from tests.logistics_support import template_body
from tests.product_support import audit, provider


async def test_csv_import_creates_draft_products_with_their_skus(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    rows = product_lines("erp-1") + product_lines("erp-2", sizes=("M",), title="Silk scarf")
    job = await imported(p, container, to_csv(rows), CSV)
    assert job["status"] == "succeeded", job
    assert job["kind"] == "import" and job["format"] == "csv"
    assert (job["total"], job["processed"], job["succeeded"], job["failed"]) == (4, 4, 4, 0)
    assert (job["products_created"], job["skus_created"]) == (2, 4)
    assert job["started_at"] and job["finished_at"]

    products = {x["out_product_id"]: x for x in await all_products(p)}
    assert set(products) == {"erp-1", "erp-2"}
    dress = products["erp-1"]
    assert dress["status"] == "draft" and dress["title"] == "Dress erp-1"
    assert dress["regions"] == ["11", "31"] and dress["brand_id"] == "brand_none"
    assert dress["description"] == [{"type": "text", "text": "Pure linen."}]
    skus = {s["out_sku_id"]: s for s in dress["skus"]}
    assert skus["erp-1-M"]["price"] == 20000 and skus["erp-1-M"]["stock"] == 11
    assert skus["erp-1-M"]["sale_attrs"] == {"size": "M"}
    assert skus["erp-1-M"]["market_price"] == 25900 and skus["erp-1-M"]["weight_g"] == 350
    assert products["erp-2"]["title"] == "Silk scarf"

    report = await download(p, f"/v1/bulk-jobs/{job['id']}/report", "csv")
    assert [r["outcome"] for r in report] == ["created"] * 4
    by_sku = {r["out_sku_id"]: r for r in report}
    assert by_sku["erp-1-M"]["sku_id"] == skus["erp-1-M"]["id"]
    assert by_sku["erp-1-M"]["product_id"] == dress["id"]
    assert await download(p, f"/v1/bulk-jobs/{job['id']}/errors") == []
    # One audit entry for the job, with its counts; none per row.
    [entry] = await audit(p, target_id=job["id"])
    assert entry["action"] == "bulk_import.succeeded"
    assert entry["after"]["skus_created"] == 4
    assert await audit(p, action="product.created") == []


async def test_jsonl_import_reports_bad_lines_and_keeps_the_good_ones(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    rows = [
        *product_lines("ok-1"),
        # Not open to a personal shop: every line of the product fails.
        *product_lines("food-1", sizes=("S", "M"), category_id="cat_food_snacks_nuts"),
        # A bad price on one line of a new product: the product is not created.
        *[
            {**r, "price": 0} if r["out_sku_id"] == "bad-1-M" else r
            for r in product_lines("bad-1", sizes=("S", "M"))
        ],
        # Duplicate sale attributes within one product.
        *[{**r, "sale_attrs": {"size": "S"}} for r in product_lines("dup-1", sizes=("S", "M"))],
        line("", price=100),  # no product
        *product_lines("ok-2", sizes=("XL",), regions=["11"]),
    ]
    body = to_jsonl(rows) + b"{not json\n"
    job = await imported(p, container, body, NDJSON)
    assert job["status"] == "succeeded"
    assert job["total"] == 12 and job["processed"] == 12
    assert (job["succeeded"], job["failed"]) == (4, 8)
    assert job["products_created"] == 2

    assert {x["out_product_id"] for x in await all_products(p)} == {"ok-1", "ok-2"}
    errors = await download(p, f"/v1/bulk-jobs/{job['id']}/errors")
    by_line: dict[int, list[dict[str, object]]] = {}
    for e in errors:
        by_line.setdefault(int(str(e["line"])), []).append(e)
    # Lines are counted from 1 (JSON Lines has no header).
    assert {e["code"] for e in by_line[4]} == {"category_not_open"}
    assert by_line[4][0]["field"] == "category_id"
    assert by_line[5][0]["code"] == "product_failed"
    assert by_line[7][0]["field"] == "price" and by_line[7][0]["code"] == "greater_than_equal"
    assert by_line[6][0]["code"] == "product_failed"
    assert by_line[9][0]["code"] == "duplicate_sale_attrs"
    assert by_line[10][0]["field"] == "out_product_id"
    assert by_line[8][0]["code"] == "product_failed"
    assert by_line[12][0]["code"] == "json"
    csv_errors = await download(p, f"/v1/bulk-jobs/{job['id']}/errors", "csv")
    assert len(csv_errors) == len(errors)
    assert set(csv_errors[0]) == {
        "line",
        "out_product_id",
        "out_sku_id",
        "field",
        "code",
        "message",
    }
    report = await download(p, f"/v1/bulk-jobs/{job['id']}/report")
    assert [r["outcome"] for r in report].count("failed") == 8


async def test_existing_out_ids_update_skus_and_add_new_ones(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    await imported(p, container, to_jsonl(product_lines("erp-1", sizes=("S", "M"))), NDJSON)
    [before] = await all_products(p)
    rows = [
        line("erp-1", out_sku_id="erp-1-S", price=15900, stock=99),  # price and stock only
        line("erp-1", out_sku_id="erp-1-M"),  # nothing to change
        line("erp-1", out_sku_id="erp-1-XL", sale_attrs={"size": "XL"}, price=21900, stock=1),
        line("erp-1", out_sku_id="erp-1-XS", sale_attrs={"size": "S"}, price=100),  # clash
    ]
    job = await imported(p, container, to_jsonl(rows), NDJSON)
    assert (job["succeeded"], job["failed"]) == (3, 1)
    assert (job["products_created"], job["products_updated"]) == (0, 1)
    assert (job["skus_created"], job["skus_updated"]) == (1, 1)
    [after] = await all_products(p)
    assert after["id"] == before["id"] and after["title"] == before["title"]
    skus = {s["out_sku_id"]: s for s in after["skus"]}
    assert set(skus) == {"erp-1-S", "erp-1-M", "erp-1-XL"}
    assert (skus["erp-1-S"]["price"], skus["erp-1-S"]["stock"]) == (15900, 99)
    assert skus["erp-1-S"]["market_price"] == 25900  # an empty cell changes nothing
    assert skus["erp-1-S"]["version"] == 2
    report = await download(p, f"/v1/bulk-jobs/{job['id']}/report")
    assert [r["outcome"] for r in report] == ["updated", "unchanged", "created", "failed"]
    [error] = await download(p, f"/v1/bulk-jobs/{job['id']}/errors")
    assert error["code"] == "duplicate_sale_attrs" and error["line"] == 4


async def test_product_fields_of_an_existing_product_follow_the_edit_rules(
    client: httpx.AsyncClient, container: Container, new_client: object
) -> None:
    p = await provider(client)
    await imported(p, container, to_jsonl(product_lines("erp-1", sizes=("S",))), NDJSON)
    [product] = await all_products(p)
    op = await f.operator(container, new_client())  # type: ignore[operator]
    from tests.product_support import listed

    await listed(p, op, product["id"])
    # A listed product keeps selling: new content waits in its pending revision, as on the
    # API, while the live version stays...
    job = await imported(
        p, container, to_jsonl([line("erp-1", title="New title", out_sku_id="erp-1-S")]), NDJSON
    )
    assert job["succeeded"] == 1 and job["failed"] == 0
    live = (await p.get(f"/v1/products/{product['id']}")).json()
    assert live["status"] == "listed" and live["title"] == product["title"]
    assert live["pending_revision"]["changes"] == {"title": "New title"}
    assert live["pending_revision"]["status"] == "in_review"
    assert (
        await client.delete(f"/v1/products/{product['id']}/pending-revision", headers=p.h)
    ).status_code == 200
    # ...and price and stock change at once, as on the API, without review.
    job = await imported(
        p,
        container,
        to_jsonl([line("erp-1", title=product["title"], out_sku_id="erp-1-S", stock=3)]),
        NDJSON,
    )
    assert job["succeeded"] == 1 and job["skus_updated"] == 1
    r = await p.get(f"/v1/products/{product['id']}")
    assert r.json()["status"] == "listed" and r.json()["skus"][0]["stock"] == 3
    assert r.json()["title"] == product["title"]
    # A delisted product is edited, and goes back to draft for review.
    assert (await p.post(f"/v1/products/{product['id']}/delisting")).status_code == 200
    job = await imported(p, container, to_jsonl([line("erp-1", title="Renamed")]), NDJSON)
    assert (job["succeeded"], job["products_updated"]) == (1, 1)
    assert job["skus_updated"] == 0
    r = await p.get(f"/v1/products/{product['id']}")
    assert r.json()["title"] == "Renamed" and r.json()["status"] == "draft"


async def test_malformed_uploads_are_refused_and_change_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    assert (await p.get("/v1/bulk-jobs")).status_code == 200  # the grant's first use is noted
    before = await f.fingerprint(container, p.shop_id)
    cases = [
        (b"out_product_id,price\n", CSV, 422, "invalid_upload"),  # no data lines
        (b"", CSV, 422, "invalid_upload"),  # no body at all
        (b"title,colour,price\nx,red,1\n", CSV, 422, "invalid_upload"),  # wrong columns
        (b"\xff\xfe\x00o", CSV, 422, "invalid_upload"),  # not UTF-8
        (b"[1, 2]\n", NDJSON, 422, "invalid_upload"),
        (b'{"out_product_id": "x", "colour": "red"}\n', NDJSON, 422, "invalid_upload"),
        (b"x=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'[{"out_product_id": "x"}]', "application/json", 415, "unsupported_media_type"),
    ]
    for content, ctype, status, code in cases:
        r = await upload(p, content, ctype)
        assert r.status_code == status, (content, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == code, (content, r.json())
    r = await upload(p, b"title,colour,price\nx,red,1\n", CSV)
    bad = {tuple(e["loc"]): e for e in r.json()["errors"]}
    assert ("header", "out_product_id") in bad and ("header", "colour") in bad
    assert bad[("header", "colour")]["type"] == "unknown_column"
    # format=jsonl with a CSV body: a mismatch, refused.
    r = await upload(p, to_csv(product_lines("a")), CSV, format="jsonl")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "format"]
    assert await f.fingerprint(container, p.shop_id) == before
    async with container.engine.connect() as conn:
        n = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(tables.bulk_jobs)
                .where(tables.bulk_jobs.c.shop_id == p.shop_id)
            )
        ).scalar_one()
    assert n == 0


async def test_uploads_may_exceed_the_json_body_limit_but_not_the_bulk_one(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    rows = [r for i in range(400) for r in product_lines(f"big-{i}", sizes=("S",))]
    content = to_csv(rows)
    assert len(content) > container.settings.max_body_bytes  # 64 KiB in the tests
    r = await upload(p, content, CSV)
    assert r.status_code == 202, r.text
    assert r.json()["total"] == 400
    r = await client.post(
        "/v1/products",
        content=b"{" + b" " * container.settings.max_body_bytes + b"}",
        headers={**p.h, "Content-Type": "application/json"},
    )
    assert r.status_code == 413


async def test_jobs_are_listed_and_another_shops_job_is_not_found(
    client: httpx.AsyncClient, container: Container, new_client: object
) -> None:
    p = await provider(client)
    other = await provider(new_client())  # type: ignore[operator]
    r = await upload(p, to_jsonl(product_lines("erp-1")), NDJSON)
    job_id = r.json()["id"]
    r = await p.post("/v1/products/bulk-exports", {"format": "csv"})
    assert r.status_code == 202, r.text
    export_id = r.json()["id"]
    r = await p.get("/v1/bulk-jobs", limit=1)
    assert [j["id"] for j in r.json()["data"]] == [job_id]
    r = await p.get("/v1/bulk-jobs", limit=1, cursor=r.json()["next_cursor"])
    assert [j["id"] for j in r.json()["data"]] == [export_id]
    assert r.json()["next_cursor"] is None
    r = await p.get("/v1/bulk-jobs", kind="export")
    assert [j["id"] for j in r.json()["data"]] == [export_id]
    for path in ("", "/errors", "/report", "/file"):
        r = await other.get(f"/v1/bulk-jobs/{job_id}{path}")
        assert r.status_code == 404, (path, r.text)
        assert r.json()["code"] == "bulk_job_not_found"
    assert (await other.get("/v1/bulk-jobs")).json()["data"] == []
    # The file of an export that has not run yet.
    r = await p.get(f"/v1/bulk-jobs/{export_id}/file")
    assert r.status_code == 409 and r.json()["code"] == "file_not_ready"


async def test_an_upload_retried_with_its_idempotency_key_queues_one_job(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    content = to_csv(product_lines("erp-1"))
    headers = {**p.h, "Content-Type": CSV, "Idempotency-Key": "bulk-upload-1"}
    first = await client.post("/v1/products/bulk-imports", content=content, headers=headers)
    again = await client.post("/v1/products/bulk-imports", content=content, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len((await p.get("/v1/bulk-jobs")).json()["data"]) == 1
    # The same key with another file is refused.
    other = await client.post(
        "/v1/products/bulk-imports", content=to_csv(product_lines("erp-2")), headers=headers
    )
    assert other.status_code == 422, other.text


async def test_an_import_that_takes_stock_below_the_threshold_raises_stock_low(
    client: httpx.AsyncClient, container: Container
) -> None:
    from tests.bulk_support import NDJSON, line, to_jsonl
    from tests.product_support import events, sku

    p = await provider(client)
    product = await p.create(
        out_product_id="erp-low",
        skus=[
            sku(sale_attrs={"size": "M"}, out_sku_id="erp-low-m", stock=20, low_stock_threshold=5)
        ],
    )
    job = await imported(
        p, container, to_jsonl([line("erp-low", out_sku_id="erp-low-m", stock=3)]), NDJSON
    )
    assert job["succeeded"] == 1 and job["skus_updated"] == 1
    # Staying low, or rising, raises nothing more.
    for stock in (2, 9):
        await imported(
            p, container, to_jsonl([line("erp-low", out_sku_id="erp-low-m", stock=stock)]), NDJSON
        )
    lows = [d for t, d in await events(container, product["id"]) if t == "product.stock_low"]
    assert lows == [
        {
            "shop_id": p.shop_id,
            "product_id": product["id"],
            "out_product_id": "erp-low",
            "status": "draft",
            "sku_id": product["skus"][0]["id"],
            "out_sku_id": "erp-low-m",
            "stock": 3,
            "low_stock_threshold": 5,
        }
    ]


async def test_a_product_names_its_freight_template_in_imports_and_exports(
    client: httpx.AsyncClient, container: Container
) -> None:
    """`freight_template_id` is a product column: one of the shop's templates (else the
    product fails with `unknown_freight_template`), changed by a later line, exported back."""
    p = await provider(client)
    first = (await p.post("/v1/freight-templates", template_body())).json()
    second = (await p.post("/v1/freight-templates", template_body(name="重货"))).json()
    rows = product_lines("erp-t", sizes=("S", "M"), freight_template_id=first["id"])
    rows += product_lines("erp-u", sizes=("S",), freight_template_id="ftpl_not_this_shops")
    job = await imported(p, container, to_csv(rows), CSV)
    assert (job["succeeded"], job["failed"], job["products_created"]) == (2, 1, 1), job
    [error] = await download(p, f"/v1/bulk-jobs/{job['id']}/errors")
    assert (error["code"], error["field"], error["line"]) == (
        "unknown_freight_template",
        "freight_template_id",
        4,
    )
    [product] = await all_products(p)
    assert product["freight_template_id"] == first["id"]

    # A later line moves it to another of the shop's templates; an unknown one changes nothing.
    job = await imported(
        p, container, to_jsonl([line("erp-t", freight_template_id=second["id"])]), NDJSON
    )
    assert (job["succeeded"], job["failed"]) == (1, 0), job
    job = await imported(
        p, container, to_jsonl([line("erp-t", freight_template_id="ftpl_nope")]), NDJSON
    )
    assert job["failed"] == 1
    [product] = await all_products(p)
    assert product["freight_template_id"] == second["id"]

    r = await p.post("/v1/products/bulk-exports", {"format": "csv"})
    assert r.status_code == 202, r.text
    await run_job(container, r.json()["id"])
    exported = await download(p, f"/v1/bulk-jobs/{r.json()['id']}/file", "csv")
    assert {x["freight_template_id"] for x in exported} == {second["id"]}
