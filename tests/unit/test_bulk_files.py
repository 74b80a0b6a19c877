"""Reading and writing bulk files, without a database: our CSV and JSON Lines, Shopify's CSV."""

from __future__ import annotations

import csv
import io

import pytest

from app.domain.catalog import bulk_files as bf
from app.worker.bulk import plan_chunks


def test_money_to_fen() -> None:
    assert bf.money_to_fen("89.00") == 8900
    assert bf.money_to_fen("1,299.5") == 129950
    assert bf.money_to_fen("0.01") == 1
    with pytest.raises(ValueError):
        bf.money_to_fen("12.999")


def test_html_becomes_text_and_image_blocks() -> None:
    html = (
        "<h2>Care</h2><p>Wash &amp; dry<br>gently.</p>"
        '<img alt="x" src="//cdn.example.com/a.jpg"><ul><li>One</li><li>Two</li></ul>'
    )
    assert bf.html_blocks(html) == [
        {"type": "text", "text": "Care"},
        {"type": "text", "text": "Wash & dry"},
        {"type": "text", "text": "gently."},
        {"type": "image", "url": "https://cdn.example.com/a.jpg"},
        {"type": "text", "text": "One"},
        {"type": "text", "text": "Two"},
    ]
    assert len(bf.html_blocks("<p>x</p>" * 80)) == bf.MAX_DESCRIPTION_BLOCKS
    [long_a, long_b] = bf.html_blocks("<p>" + "y" * 6000 + "</p>")
    assert len(long_a["text"]) == bf.MAX_TEXT_BLOCK and len(long_b["text"]) == 1000


def test_our_csv_groups_lines_by_product_and_reads_cells() -> None:
    text = (
        "out_product_id,title,images,regions,description,sale_attrs,price,stock\n"
        'p1,Dress,https://a/1.jpg https://a/2.jpg,"11, 31","First.\n\nSecond.",'
        '"{""size"":""S""}",100,5\n'
        'p2,Scarf,,,,"{}",200,\n'
        'p1,,,,,"{""size"":""M""}",110,x\n'
        ',,,,,"{bad",1,1\n'
    )
    parsed = bf.parse_csv(text.encode())
    p1, p2 = parsed.products
    assert (p1.out_product_id, p1.line, [s.line for s in p1.skus]) == ("p1", 2, [2, 4])
    assert p1.fields == {
        "title": "Dress",
        "images": ["https://a/1.jpg", "https://a/2.jpg"],
        "regions": ["11", "31"],
        "description": [{"type": "text", "text": "First."}, {"type": "text", "text": "Second."}],
    }
    assert p1.skus[0].data == {"sale_attrs": {"size": "S"}, "price": 100, "stock": 5}
    assert p1.skus[1].data["stock"] == "x"  # left for the validator to refuse
    assert p2.skus[0].data == {"sale_attrs": {}, "price": 200}
    [orphan] = parsed.orphans
    assert orphan.line == 5
    assert {e["type"] for e in orphan.errors} == {"json", "missing"}


def test_duplicate_out_sku_ids_are_refused_on_the_later_line() -> None:
    text = to_jsonl(
        [
            {"out_product_id": "a", "out_sku_id": "x", "price": 1},
            {"out_product_id": "b", "out_sku_id": "x", "price": 1},
        ]
    )
    a, b = bf.parse_jsonl(text).products
    assert a.skus[0].errors == []
    assert b.skus[0].errors[0]["type"] == "duplicate_out_sku_id"
    assert "line 1" in b.skus[0].errors[0]["msg"]


def to_jsonl(rows: list[dict[str, object]]) -> bytes:
    import json

    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_inspect_counts_lines_and_checks_the_shape_first() -> None:
    assert bf.inspect("csv", io.BytesIO(b"out_product_id,price\na,1\n\nb,2\n")) == 2
    assert bf.inspect("jsonl", io.BytesIO(b'{"out_product_id": "a"}\n\n{"x": 1}\n')) == 2
    for fmt, content in (
        ("csv", b""),
        ("csv", b"title,price\n"),
        ("csv", b"out_product_id,price,price\n"),
        ("jsonl", b"[]\n"),
        ("jsonl", b"not json\n"),
        ("shopify_csv", b"Handle,Title\n"),
        ("csv", "out_product_id,price\n\u00e9".encode("latin-1")),
    ):
        with pytest.raises(bf.InvalidUpload):
            bf.inspect(fmt, io.BytesIO(content))


def test_export_rows_read_back_as_the_same_values() -> None:
    product = {
        "id": "prod_1",
        "out_product_id": None,
        "title": 'A "quoted", title',
        "subtitle": "",
        "category_id": "cat_x",
        "brand_id": None,
        "condition": "new",
        "regions": ["11"],
        "images": ["https://a/1.jpg"],
        "description": [{"type": "text", "text": "Line one,\nline two"}],
        "attributes": [],
        "freight_template_id": "ftpl_1",
    }
    sku = {
        "id": "sku_1",
        "out_sku_id": None,
        "sale_attrs": {},
        "price": 100,
        "market_price": None,
        "stock": 0,
        "barcode": None,
        "weight_g": None,
    }
    row = bf.export_row(product, sku)
    assert row["out_product_id"] == "prod_1" and row["out_sku_id"] == "sku_1"
    [back] = bf.parse_csv((bf.csv_header() + bf.csv_lines([row])).encode()).products
    assert back.out_product_id == "prod_1"
    assert back.fields["title"] == 'A "quoted", title'
    assert back.fields["description"] == product["description"]
    assert back.fields["freight_template_id"] == "ftpl_1"
    assert back.skus[0].data == {"out_sku_id": "sku_1", "sale_attrs": {}, "price": 100, "stock": 0}
    header = next(csv.reader(io.StringIO(bf.csv_header())))
    assert tuple(header) == bf.COLUMNS


def test_chunks_hold_whole_products() -> None:
    products = [
        bf.RawProduct(f"p{i}", i, {}, [bf.SkuLine(i, {}) for _ in range(3)]) for i in range(10)
    ]
    chunks = plan_chunks(products, 7)
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert [p for c in chunks for p in c] == products
    assert plan_chunks([], 7) == [[]]


def test_out_ids_the_database_cannot_look_up_fail_their_line() -> None:
    parsed = bf.parse_jsonl(
        to_jsonl(
            [
                {"out_product_id": "a\u0000b", "price": 1},
                {"out_product_id": "x" * 65, "price": 1},
                {"out_product_id": "ok", "out_sku_id": "s\u0007", "price": 1},
            ]
        )
    )
    assert [o.line for o in parsed.orphans] == [1, 2]
    [ok] = parsed.products
    assert ok.skus[0].errors[0]["loc"] == ["row", "out_sku_id"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+SUM(1,2)", "'+SUM(1,2)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),
        ("''+1", "'''+1"),
        ("-3", "-3"),
        ("+3", "+3"),
        ("-0.5", "-0.5"),
        ("'-3", "''-3"),
        ("'quoted", "'quoted"),
        ("plain = text", "plain = text"),
        ("", ""),
    ],
)
def test_spreadsheet_cells_are_neutralised_and_read_back_exactly(value: str, written: str) -> None:
    assert bf.spreadsheet_safe(value) == written
    assert bf.spreadsheet_text(written) == value


def test_inspect_counts_lines_from_a_stream_and_refuses_what_is_not_utf8() -> None:
    content = b"\xef\xbb\xbfout_product_id,price\na,1\n\nb,2\n"
    assert bf.inspect("csv", io.BytesIO(content)) == 2
    assert bf.inspect("jsonl", io.BytesIO(b'{"out_product_id":"a"}\n\n{"x":1}\n')) == 2
    for fmt, bad in (("csv", b"out_product_id,price\n\xff\xfe"), ("jsonl", b"  \n")):
        with pytest.raises(bf.InvalidUpload):
            bf.inspect(fmt, io.BytesIO(bad))


def test_a_quote_before_a_number_is_not_one_the_export_added() -> None:
    # An export never writes `'-3` (it leaves -3 alone), so a `'-3` read is kept as it is.
    assert bf.spreadsheet_text("'-3") == "'-3"
