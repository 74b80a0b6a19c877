"""Shipping labels: one 100 × 150 mm PDF page per e-waybill, and books of them for batch
printing.

A label is what a courier scans and reads at the door: the carrier, a Code 128 barcode of the
waybill number with the number printed under it, the receiver (phone masked in the middle, as
carriers print it since the privacy rules for waybills), the sender, the order id and what is
in the parcel. Names and addresses are Chinese, so text is set in a CJK TrueType font that
fpdf2 embeds as a subset with a ToUnicode map: what is printed can be extracted back.

Parsing the CJK font costs a third of a second and ~35 MiB, so it is done once per document
(`LabelBook`), never per page: a batch of 500 labels parses it once. A book keeps its pages
in memory until written (fpdf2 builds the document whole), but a page is a few KiB of
compressed drawing operators: memory stays flat with the batch's size (bench/labels.py:
500 labels take 42 MiB over the worker's baseline, 2 000 take 48 MiB, the font most of it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from barcode.codex import Code128  # type: ignore[import-untyped]
from fpdf import FPDF

from app.domain.logistics.waybills import EWaybill, mask_phone
from app.domain.orders.carriers import carrier

#: Overrides the font search (a TTF/TTC/OTF with CJK glyphs).
FONT_ENV = "MINISHOP_LABEL_FONT"
#: Where Debian's CJK font packages put their fonts, the preferred first;
#: scripts/ensure-label-tools.sh installs the first one.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)

PAGE_MM = (100.0, 150.0)
MARGIN = 4.0
CONTENT_W = PAGE_MM[0] - 2 * MARGIN
#: Code 128 asks for a quiet zone of ten modules either side of the bars.
QUIET_MODULES = 10
#: Narrowest bar printed: 0.25 mm still scans on a 203 dpi thermal printer.
MIN_MODULE_MM = 0.25
MAX_MODULE_MM = 0.5
BARCODE_H = 18.0
#: Labels are read in China: times are printed in China Standard Time (no daylight saving).
CHINA = timezone(timedelta(hours=8), "CST")
_FAMILY = "label-cjk"


class LabelFontMissing(RuntimeError):
    """No CJK font to set the label in."""


@dataclass(frozen=True, slots=True)
class Label:
    """What one shipping label shows."""

    waybill_no: str
    carrier_code: str
    carrier_name: str
    sender_name: str
    sender_phone: str
    sender_address: str
    receiver_name: str
    receiver_phone: str
    receiver_address: str
    order_id: str
    summary: str
    created_at: datetime


def label_of(waybill: EWaybill) -> Label:
    """What the waybill's label prints: the parties as the carrier was told at issue."""
    sender, receiver = waybill.sender, waybill.receiver
    sender_name = (
        sender["name"] if not sender.get("company") else f"{sender['name']} {sender['company']}"
    )
    return Label(
        waybill_no=waybill.number,
        carrier_code=waybill.carrier_code,
        carrier_name=carrier(waybill.carrier_code).name,
        sender_name=sender_name,
        sender_phone=sender["phone"],
        sender_address=sender["address"],
        receiver_name=receiver["name"],
        receiver_phone=receiver["phone"],
        receiver_address=receiver["address"],
        order_id=waybill.order_id,
        summary=waybill.summary(),
        created_at=waybill.created_at,
    )


def label_font() -> Path:
    """The CJK font labels are set in: `MINISHOP_LABEL_FONT`, else the first Debian font
    found. One place decides, and says what to do when there is none."""
    configured = os.environ.get(FONT_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise LabelFontMissing(f"{FONT_ENV}={configured} is not a font file")
        return path
    for candidate in FONT_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise LabelFontMissing(
        "no CJK font for shipping labels: install fonts-wqy-microhei "
        "(scripts/ensure-label-tools.sh does, as root) or set "
        f"{FONT_ENV} to a TTF/TTC with Chinese glyphs; looked for "
        + ", ".join(str(c) for c in FONT_CANDIDATES)
    )


def code128_modules(data: str) -> str:
    """The bars of `data` in Code 128 ('1' a dark module, '0' a light one), start, check
    character and stop included; runs of digits are packed in code set C."""
    modules: str = Code128(data).build()[0]
    return modules


class LabelBook:
    """A multi-page PDF of labels, one page each, written once complete.

    The font is parsed when the book opens; `add` draws a page; `write` subsets the font to
    the glyphs used and writes the document to a path or a binary file.
    """

    def __init__(self, *, font: Path | None = None) -> None:
        pdf = FPDF(unit="mm", format=PAGE_MM)
        pdf.set_auto_page_break(auto=False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_creator("MiniShop Open Platform")
        pdf.set_title("Shipping labels")
        pdf.add_font(_FAMILY, fname=str(font or label_font()))
        self._pen = _Pen(pdf)
        self._pages = 0

    @property
    def pages(self) -> int:
        return self._pages

    def add(self, label: Label) -> None:
        if label.created_at.tzinfo is None:
            raise ValueError("a label's created_at must be timezone-aware")
        _draw(self._pen, label)
        self._pages += 1

    def extend(self, labels: Iterable[Label]) -> None:
        for label in labels:
            self.add(label)

    def write(self, target: str | Path | BinaryIO) -> None:
        data = self.to_bytes()
        if isinstance(target, str | Path):
            Path(target).write_bytes(data)
        else:
            target.write(data)

    def to_bytes(self) -> bytes:
        if self._pages == 0:
            raise ValueError("an empty label book has nothing to print")
        return bytes(self._pen.pdf.output())


def render_label(label: Label, *, font: Path | None = None) -> bytes:
    """One label as a one-page PDF."""
    book = LabelBook(font=font)
    book.add(label)
    return book.to_bytes()


def waybill_label(waybill: EWaybill) -> bytes:
    """The waybill's label, a one-page PDF."""
    return render_label(label_of(waybill))


def print_labels(waybills: Iterable[EWaybill]) -> bytes:
    """The waybills' labels, a page each in their order, as one PDF."""
    book = LabelBook()
    book.extend(label_of(w) for w in waybills)
    return book.to_bytes()


class _Pen:
    """Text placed at known positions with `FPDF.text`, wrapped here: fpdf2's cells and
    multi-cells measure and lay out each line again and again (7 ms a label, most of a
    batch's time), and a label needs none of their features."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        self._widths: dict[tuple[str, float], float] = {}

    def size(self, pt: float) -> None:
        self.pdf.set_font(_FAMILY, size=pt)

    def width(self, text: str) -> float:
        size = self.pdf.font_size_pt
        total = 0.0
        for ch in text:
            w = self._widths.get((ch, size))
            if w is None:
                w = self._widths[(ch, size)] = self.pdf.get_string_width(ch)
            total += w
        return total

    def text(self, x: float, top: float, text: str, *, align: str = "L", w: float = 0) -> None:
        """`text` with its top at `top`, from `x` (L), ending at `x + w` (R) or centred."""
        if align != "L":
            room = w - self.width(text)
            x += room if align == "R" else room / 2
        self.pdf.text(x, top + 0.8 * self.pdf.font_size, text)

    def lines(self, x: float, top: float, text: str, *, w: float, line_h: float, most: int) -> None:
        """`text` wrapped to `w` into at most `most` lines, the last cut with an ellipsis when
        the rest does not fit: a label never overflows its block."""
        lines = self.wrap(text, w)
        if len(lines) > most:
            lines = lines[:most]
            last = lines[-1]
            while last and self.width(last + "…") > w:
                last = last[:-1]
            lines[-1] = last + "…"
        for i, line in enumerate(lines):
            self.text(x, top + i * line_h, line)

    def wrap(self, text: str, w: float) -> list[str]:
        """Lines no wider than `w`. Chinese breaks between any two characters; a run of
        Latin letters or digits (a house number, a model name) is kept whole when it can be."""
        lines: list[str] = []
        line, used = "", 0.0
        for ch in " ".join(text.split()):
            cw = self.width(ch)
            if line and used + cw > w:
                keep, carry = _break(line, ch)
                lines.append(keep.rstrip())
                line = carry.lstrip()
                used = self.width(line)
            if ch == " " and not line:
                continue
            line += ch
            used += cw
        if line.strip():
            lines.append(line.rstrip())
        return lines


def _break(line: str, ch: str) -> tuple[str, str]:
    """Where to end `line` when `ch` does not fit after it: before the Latin word it is
    inside of, when that word started after a space and is short; else right here."""
    if not (ch.isascii() and ch.isalnum()):
        return line, ""
    start = len(line)
    while start > 0 and line[start - 1].isascii() and line[start - 1].isalnum():
        start -= 1
    if 0 < start < len(line) and len(line) - start <= 12:
        return line[:start], line[start:]
    return line, ""


def _draw(pen: _Pen, label: Label) -> None:
    pdf = pen.pdf
    pdf.add_page()
    pdf.set_line_width(0.3)
    left, right = MARGIN, PAGE_MM[0] - MARGIN
    pdf.rect(MARGIN / 2, MARGIN / 2, PAGE_MM[0] - MARGIN, PAGE_MM[1] - MARGIN)

    # Carrier band.
    pen.size(16)
    pen.text(left, MARGIN + 1, label.carrier_name)
    pen.size(8)
    created = label.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    pen.text(left, MARGIN + 0.5, label.carrier_code.upper(), align="R", w=CONTENT_W)
    pen.text(left, MARGIN + 4.5, created, align="R", w=CONTENT_W)
    pdf.line(left, 14, right, 14)

    # Barcode and the number a person can read.
    _barcode(pdf, label.waybill_no, top=16.0)
    pen.size(12)
    pen.text(left, 16.0 + BARCODE_H + 1.2, label.waybill_no, align="C", w=CONTENT_W)
    pdf.line(left, 42, right, 42)

    # Receiver: the largest block, read at the door.
    receiver = (label.receiver_name, mask_phone(label.receiver_phone), label.receiver_address)
    _party(pen, "收", *receiver, top=43.0, height=36.0, size=12)
    pdf.line(left, 80, right, 80)
    sender = (label.sender_name, label.sender_phone, label.sender_address)
    _party(pen, "寄", *sender, top=81.0, height=23.0, size=9)
    pdf.line(left, 105, right, 105)

    # What the parcel is for, and what is in it.
    pen.size(9)
    pen.text(left + 1, 107.0, f"订单号 {label.order_id}")
    pen.lines(left + 1, 112.5, f"内容 {label.summary}", w=CONTENT_W - 2, line_h=4.4, most=6)
    pdf.line(left, 141, right, 141)
    pen.size(7)
    pen.text(left + 1, 142.5, f"{label.carrier_name} {label.waybill_no}  签收人/时间：")


def _party(
    pen: _Pen,
    mark: str,
    name: str,
    phone: str,
    address: str,
    *,
    top: float,
    height: float,
    size: float,
) -> None:
    left = MARGIN
    box = 8.0 if size >= 12 else 6.0
    pen.pdf.rect(left, top + 1, box, box)
    pen.size(size + 4)
    pen.text(left, top + 1 + (box - pen.pdf.font_size) / 2, mark, align="C", w=box)
    text_x = left + box + 3.0
    width = PAGE_MM[0] - MARGIN - text_x - 1.0
    pen.size(size + 1)
    pen.text(text_x, top + 1 + (box - pen.pdf.font_size) / 2, f"{name}  {phone}")
    pen.size(size)
    line_h = size * 0.45
    most = max(1, int((height - box - 2.0) // line_h))
    pen.lines(text_x, top + box + 2.5, address, w=width, line_h=line_h, most=most)


def _barcode(pdf: FPDF, data: str, *, top: float) -> None:
    modules = code128_modules(data)
    module = min(MAX_MODULE_MM, CONTENT_W / (len(modules) + 2 * QUIET_MODULES))
    if module < MIN_MODULE_MM:
        raise ValueError(f"waybill number {data!r} is too long for a scannable barcode")
    x = (PAGE_MM[0] - len(modules) * module) / 2
    run = 0
    for i, bit in enumerate(modules + "0"):
        if bit == "1":
            run += 1
        elif run:
            pdf.rect(x + (i - run) * module, top, run * module, BARCODE_H, style="F")
            run = 0
