"""The files of bulk jobs: reading uploads (our CSV and JSON Lines, Shopify's product CSV)
into products with their SKU lines, and writing the catalogue back out.

Our own format has one line per SKU; lines sharing an `out_product_id` are one product and
the product's fields are read from its first line (later lines may leave them empty). CSV
cells hold text: `images` and `regions` are separated by spaces, `sale_attrs` and
`attributes` are JSON, `description` is JSON blocks or plain text (paragraphs separated by
a blank line). JSON Lines objects use the same keys with JSON values (`images` a list...).
An export writes exactly these columns, so export → import round-trips.

Nothing here checks business rules: values are handed to the same validators as the
single-product API (`RowValidator`, then `product_rules`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html import unescape
from typing import IO, Any

from app.domain.catalog.brands import brand_catalogue
from app.domain.catalog.errors import InvalidUpload

PRODUCT_COLUMNS = (
    "title",
    "subtitle",
    "category_id",
    "brand_id",
    "condition",
    "regions",
    "images",
    "description",
    "attributes",
    "freight_template_id",
)
SKU_COLUMNS = (
    "out_sku_id",
    "sale_attrs",
    "price",
    "market_price",
    "stock",
    "barcode",
    "weight_g",
)
#: The columns of our CSV, in the order an export writes them.
COLUMNS = ("out_product_id", *PRODUCT_COLUMNS, *SKU_COLUMNS)
_JSON_CELLS = frozenset({"sale_attrs", "attributes"})
_LIST_CELLS = frozenset({"images", "regions"})
_INT_CELLS = frozenset({"price", "market_price", "stock", "weight_g"})

#: Shopify's product CSV: the columns we read. Every other column is accepted and ignored.
SHOPIFY_REQUIRED = ("Handle", "Title", "Variant Price")
SHOPIFY_MAX_IMAGES = 9
MAX_DESCRIPTION_BLOCKS = 50
MAX_TEXT_BLOCK = 5000


@dataclass
class SkuLine:
    """One SKU line of an upload; `data` holds the SKU columns that were given."""

    line: int
    data: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RawProduct:
    """The lines of one product: its fields (from the first line) and its SKU lines."""

    out_product_id: str
    line: int
    fields: dict[str, Any]
    skus: list[SkuLine] = field(default_factory=list)
    #: Problems of the product's own fields found while reading (a bad JSON cell...).
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.skus)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def usable_id(value: Any) -> bool:
    """An out id the database can look up: text of 1 to 64 characters, no control ones."""
    return isinstance(value, str) and 0 < len(value) <= 64 and not _CONTROL.search(value)


#: A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV
#: injection"); the quotes before it are counted in, see `spreadsheet_safe`.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def spreadsheet_safe(text: str) -> str:
    """A CSV cell as we write it: one that a spreadsheet would take for a formula
    (`=HYPERLINK(...)`, `+SUM(...)`, `-2+3`, `@...`, a leading tab or CR) gets a leading `'`,
    which spreadsheets show as text. A number (`-3`) is left as it is: no spreadsheet runs
    it. A cell of quotes before such a character gets one more, so that `spreadsheet_text`
    gives back exactly what was written, and an export imports back unchanged."""
    if _FORMULA_START.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def spreadsheet_text(cell: str) -> str:
    """The value of a cell `spreadsheet_safe` wrote: its added `'` removed."""
    if cell.startswith("'") and _FORMULA_START.match(cell) and not _NUMBER.fullmatch(cell[1:]):
        return cell[1:]
    return cell


def line_error(column: str | None, msg: str, type_: str = "invalid") -> dict[str, Any]:
    return {"loc": ["row", column] if column else ["row"], "msg": msg, "type": type_}


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidUpload(
            f"The file is not UTF-8 text (byte {e.start} cannot be decoded).",
            errors=[line_error(None, "Save the file as UTF-8.", "encoding")],
        ) from e


def _csv_rows(source: str | Iterable[str]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(source, newline="") if isinstance(source, str) else source)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidUpload("The file is empty.") from None
    except csv.Error as e:
        raise InvalidUpload(f"The header is not valid CSV: {e}.") from e

    def rows() -> Iterator[tuple[int, list[str]]]:
        # Numbered as a spreadsheet shows them: the header is row 1, and a quoted cell with
        # line breaks does not shift the rows after it.
        number = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            number += 1
            if any(cell.strip() for cell in row):
                yield number, row

    return header, rows()


def check_header(header: list[str], known: Iterable[str], required: Iterable[str]) -> None:
    """Wrong columns are refused before anything is stored, naming each one."""
    errors = []
    known_set = set(known)
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        errors.append(line_error(None, f"Duplicate columns: {', '.join(dupes)}.", "duplicate"))
    for name in required:
        if name not in header:
            errors.append(
                {"loc": ["header", name], "msg": f"Missing column {name!r}.", "type": "missing"}
            )
    for name in header:
        if name not in known_set:
            errors.append(
                {
                    "loc": ["header", name],
                    "msg": f"Unknown column {name!r}; the columns are {', '.join(known)}.",
                    "type": "unknown_column",
                }
            )
    if errors:
        raise InvalidUpload(
            "The header of the file does not match the import format.", errors=errors
        )


def inspect(fmt: str, stream: IO[bytes]) -> int:
    """Check the file's structure and count its SKU lines without building them (the API
    does this before accepting an upload, so a wrong file is refused at once). Reads the
    stream from where it is, as text, a line at a time: the file is never held whole."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        if fmt == "jsonl":
            return _count_jsonl(text)
        return _count_csv(fmt, text)
    except UnicodeDecodeError as e:
        raise InvalidUpload(
            "The file is not UTF-8 text.",
            errors=[line_error(None, "Save the file as UTF-8.", "encoding")],
        ) from e
    finally:
        text.detach()  # the caller still owns the stream


def _count_jsonl(text: Iterable[str]) -> int:
    count = 0
    number = 0
    for physical in text:
        # The parser splits with str.splitlines: count the same lines.
        for raw in physical.splitlines():
            number += 1
            if not raw.strip():
                continue
            if count == 0:
                try:
                    first = json.loads(raw)
                except ValueError as e:
                    raise InvalidUpload(
                        f"Line {number} is not JSON: {e}.",
                        errors=[line_error(None, "Each line is one JSON object.", "json")],
                    ) from e
                if not isinstance(first, dict):
                    raise InvalidUpload(f"Line {number} is not a JSON object.")
                check_header(list(first), COLUMNS, ("out_product_id",))
            count += 1
    if count == 0:
        raise InvalidUpload("The file is empty.")
    return count


def _count_csv(fmt: str, text: Iterable[str]) -> int:
    header, rows = _csv_rows(text)
    if not any(header):
        raise InvalidUpload("The file is empty.")
    try:
        if fmt == "shopify_csv":
            check_header(header, header, SHOPIFY_REQUIRED)
            price = header.index("Variant Price")
            option = header.index("Option1 Value") if "Option1 Value" in header else price
            return sum(
                1
                for _, row in rows
                if (len(row) > price and row[price].strip())
                or (len(row) > option and row[option].strip())
            )
        check_header(header, COLUMNS, ("out_product_id", "price"))
        return sum(1 for _ in rows)
    except csv.Error as e:
        raise InvalidUpload(f"The file is not valid CSV: {e}.") from e


# --- our format -------------------------------------------------------------------------------


def _cell(column: str, text: str) -> Any:
    """The value of a CSV cell, as the JSON Lines format would carry it."""
    if column in _LIST_CELLS:
        return [part for part in re.split(r"[\s,]+", text) if part]
    if column in _JSON_CELLS:
        return json.loads(text)
    if column == "description":
        if text.lstrip().startswith("["):
            return json.loads(text)
        return text_blocks(text)
    if column in _INT_CELLS and re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def text_blocks(text: str) -> list[dict[str, Any]]:
    """Plain text as description blocks: one text block per paragraph."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    blocks: list[dict[str, Any]] = []
    for p in paragraphs:
        blocks += [
            {"type": "text", "text": p[i : i + MAX_TEXT_BLOCK]}
            for i in range(0, len(p), MAX_TEXT_BLOCK)
        ]
    return blocks


class _Grouper:
    """Puts lines into products by out_product_id, in the order products first appear."""

    def __init__(self) -> None:
        self.products: dict[str, RawProduct] = {}
        self.orphans: list[SkuLine] = []
        self.out_sku_lines: dict[str, int] = {}

    def add(
        self,
        line: int,
        out_product_id: Any,
        fields: dict[str, Any],
        sku: dict[str, Any] | None,
        errors: list[dict[str, Any]],
    ) -> None:
        if (
            isinstance(out_product_id, str)
            and out_product_id.strip()
            and not usable_id(out_product_id.strip())
        ):
            errors = [
                *errors,
                line_error(
                    "out_product_id",
                    "An out_product_id has 1 to 64 characters and no control characters.",
                ),
            ]
            out_product_id = None
        if not isinstance(out_product_id, str) or not out_product_id.strip():
            self.orphans.append(
                SkuLine(
                    line,
                    sku or {},
                    [
                        *errors,
                        line_error(
                            "out_product_id",
                            "Every line needs the out_product_id of its product.",
                            "missing",
                        ),
                    ],
                )
            )
            return
        key = out_product_id.strip()
        product = self.products.get(key)
        sku_errors = [e for e in errors if e["loc"][-1] in SKU_COLUMNS]
        if product is None:
            product = self.products[key] = RawProduct(key, line, fields)
            product.errors += [e for e in errors if e["loc"][-1] not in SKU_COLUMNS]
        if sku is None:
            return
        out_sku = sku.get("out_sku_id")
        if out_sku is not None and not usable_id(out_sku):
            sku_errors.append(
                line_error(
                    "out_sku_id",
                    "An out_sku_id has 1 to 64 characters and no control characters.",
                )
            )
        elif isinstance(out_sku, str) and out_sku:
            if out_sku in self.out_sku_lines:
                sku_errors.append(
                    line_error(
                        "out_sku_id",
                        f"out_sku_id {out_sku!r} is also on line {self.out_sku_lines[out_sku]}.",
                        "duplicate_out_sku_id",
                    )
                )
            else:
                self.out_sku_lines[out_sku] = line
        product.skus.append(SkuLine(line, sku, sku_errors))

    def result(self) -> ParsedUpload:
        return ParsedUpload(list(self.products.values()), self.orphans)


@dataclass
class ParsedUpload:
    products: list[RawProduct]
    #: Lines that belong to no product (no out_product_id): they fail.
    orphans: list[SkuLine]


def _split(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fields = {k: v for k, v in values.items() if k in PRODUCT_COLUMNS}
    sku = {k: v for k, v in values.items() if k in SKU_COLUMNS}
    return fields, sku


def parse_csv(content: bytes) -> ParsedUpload:
    header, rows = _csv_rows(_decode(content))
    check_header(header, COLUMNS, ("out_product_id", "price"))
    grouper = _Grouper()
    for line, row in rows:
        values: dict[str, Any] = {}
        errors = []
        if len(row) > len(header):
            errors.append(line_error(None, f"{len(row)} cells for {len(header)} columns."))
        for column, text in zip(header, row, strict=False):
            text = spreadsheet_text(text.strip())
            if not text:
                continue
            try:
                values[column] = _cell(column, text)
            except ValueError:
                errors.append(line_error(column, f"{column} is not valid JSON.", "json"))
        fields, sku = _split(values)
        grouper.add(line, values.get("out_product_id"), fields, sku, errors)
    return grouper.result()


def parse_jsonl(content: bytes) -> ParsedUpload:
    grouper = _Grouper()
    for line, raw in enumerate(_decode(content).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            grouper.orphans.append(
                SkuLine(line, {}, [line_error(None, "The line is not valid JSON.", "json")])
            )
            continue
        if not isinstance(obj, dict):
            grouper.orphans.append(
                SkuLine(line, {}, [line_error(None, "Each line is one JSON object.", "json")])
            )
            continue
        errors = [
            line_error(k, f"Unknown key {k!r}.", "extra_forbidden") for k in obj if k not in COLUMNS
        ]
        values = {k: v for k, v in obj.items() if k in COLUMNS and v is not None and v != ""}
        fields, sku = _split(values)
        grouper.add(line, values.get("out_product_id"), fields, sku, errors)
    return grouper.result()


# --- Shopify's product CSV --------------------------------------------------------------------

_BLOCK_END = re.compile(r"</(?:p|div|h[1-6]|li|tr|table|ul|ol|blockquote)>|<br\s*/?>", re.I)
_IMG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["'][^>]*>""", re.I)
_TAG = re.compile(r"<[^>]+>")


def html_blocks(html: str) -> list[dict[str, Any]]:
    """Shopify's `Body (HTML)` as description blocks: text per paragraph, images in order."""
    blocks: list[dict[str, Any]] = []
    for part in _BLOCK_END.split(html):
        if not part:
            continue
        pos = 0
        for m in _IMG.finditer(part):
            blocks += text_blocks(_text(part[pos : m.start()]))
            src = unescape(m.group(1))
            if src.startswith("//"):
                src = "https:" + src
            blocks.append({"type": "image", "url": src})
            pos = m.end()
        blocks += text_blocks(_text(part[pos:]))
    return blocks[:MAX_DESCRIPTION_BLOCKS]


def _text(fragment: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", unescape(_TAG.sub(" ", fragment))).strip()


def money_to_fen(text: str) -> int:
    """`19.99` (currency units) → 1999 fen; more than two decimals is an error."""
    value = Decimal(text.replace(",", "").strip()) * 100
    if value != value.to_integral_value():
        raise ValueError("more than two decimals")
    return int(value)


def parse_shopify(
    content: bytes, category_id: str | None, type_categories: dict[str, str]
) -> ParsedUpload:
    """Rows sharing a Handle are one product; a row with a variant is a SKU, a row with only
    an image adds the image. See docs/shopify-import.md for the mapping."""
    header, rows = _csv_rows(_decode(content))
    check_header(header, header, SHOPIFY_REQUIRED)
    grouper = _Grouper()
    option_names: dict[str, list[str]] = {}
    images: dict[str, list[tuple[int, int, str]]] = {}
    for line, row in rows:
        cell = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
        handle = cell.get("Handle", "")
        errors: list[dict[str, Any]] = []
        if handle and cell.get("Image Src"):
            position = cell.get("Image Position") or "999"
            images.setdefault(handle, []).append(
                (int(position) if position.isdigit() else 999, line, cell["Image Src"])
            )
        if handle and handle not in option_names:
            option_names[handle] = [cell.get(f"Option{i} Name", "") for i in (1, 2, 3)]
        is_variant = bool(cell.get("Variant Price") or cell.get("Option1 Value"))
        fields: dict[str, Any] = {}
        if cell.get("Title"):
            fields["title"] = cell["Title"]
            body = cell.get("Body (HTML)", "")
            if body:
                fields["description"] = html_blocks(body)
            if cell.get("Vendor"):
                # Our brands are a catalogue: a vendor that names one of its brands becomes
                # that brand (which then needs the shop's authorization); others no brand.
                brand = brand_catalogue().named(cell["Vendor"])
                if brand is not None:
                    fields["brand_id"] = brand.id
            target = type_categories.get(cell.get("Type", ""), category_id)
            if target:
                fields["category_id"] = target
            else:
                errors.append(
                    line_error(
                        "category_id",
                        f"No category for Type {cell.get('Type', '')!r}: pass category_id "
                        "(or a type_category for this Type) with the import.",
                        "missing",
                    )
                )
        sku: dict[str, Any] | None = None
        if is_variant:
            sku = {}
            names = option_names.get(handle, ["", "", ""])
            attrs = {}
            for i, name in enumerate(names, start=1):
                value = cell.get(f"Option{i} Value", "")
                if name and value and not (name == "Title" and value == "Default Title"):
                    attrs[name] = value
            sku["sale_attrs"] = attrs
            if cell.get("Variant SKU"):
                sku["out_sku_id"] = cell["Variant SKU"]
            for column, key in (("Variant Price", "price"), ("Variant Compare At Price", "cmp")):
                if cell.get(column):
                    try:
                        sku[key] = money_to_fen(cell[column])
                    except (InvalidOperation, ValueError):
                        errors.append(
                            line_error(
                                "market_price" if key == "cmp" else "price",
                                f"{column} {cell[column]!r} is not an amount like 19.99.",
                            )
                        )
            compare = sku.pop("cmp", None)
            # Shopify shows no crossed-out price unless it is above the price; neither do we.
            if compare is not None and compare > sku.get("price", 0):
                sku["market_price"] = compare
            qty = cell.get("Variant Inventory Qty", "")
            if re.fullmatch(r"-?\d+", qty):
                sku["stock"] = max(int(qty), 0)  # Shopify allows overselling below zero
            grams = cell.get("Variant Grams", "")
            if grams:
                try:
                    sku["weight_g"] = round(float(grams))
                except ValueError:
                    errors.append(line_error("weight_g", f"Variant Grams {grams!r} is no number."))
            if cell.get("Variant Barcode"):
                sku["barcode"] = cell["Variant Barcode"]
        if sku is None and not fields and not errors:
            # An image-only row: its image is collected above.
            if handle and handle not in grouper.products:
                grouper.add(line, handle, {}, None, [])
            continue
        grouper.add(line, handle, fields, sku, errors)
    for handle, found in images.items():
        product = grouper.products.get(handle)
        if product is None:
            continue
        urls: list[str] = []
        for _, _, src in sorted(found):
            if src not in urls:
                urls.append(src)
        product.fields["images"] = urls[:SHOPIFY_MAX_IMAGES]
    return grouper.result()


def parse(
    fmt: str,
    content: bytes,
    *,
    category_id: str | None = None,
    type_categories: dict[str, str] | None = None,
) -> ParsedUpload:
    if fmt == "jsonl":
        return parse_jsonl(content)
    if fmt == "shopify_csv":
        return parse_shopify(content, category_id, type_categories or {})
    return parse_csv(content)


# --- export -----------------------------------------------------------------------------------


def export_row(product: dict[str, Any], sku: dict[str, Any]) -> dict[str, Any]:
    """One SKU with its product's fields, as the JSON Lines format carries it."""
    row = {"out_product_id": product["out_product_id"] or product["id"]}
    for column in PRODUCT_COLUMNS:
        row[column] = product[column]
    for column in SKU_COLUMNS:
        row[column] = sku[column]
    if not row["out_sku_id"]:
        row["out_sku_id"] = sku["id"]
    return row


def csv_cell(column: str, value: Any) -> str:
    return spreadsheet_safe(_cell_text(column, value))


def _cell_text(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in _LIST_CELLS:
        return " ".join(value)
    if column == "sale_attrs" or (value and (column in _JSON_CELLS or column == "description")):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if column in _JSON_CELLS or column == "description":
        return ""
    return str(value)


def csv_header() -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(COLUMNS)
    return out.getvalue()


def csv_lines(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([csv_cell(c, row[c]) for c in COLUMNS])
    return out.getvalue()


def jsonl_lines(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
