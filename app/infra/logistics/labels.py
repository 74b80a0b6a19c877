"""Shipping labels: one 100 × 150 mm PDF page per e-waybill, and books of them for batch
printing.

A label is what a courier scans and reads at the door: the carrier, a Code 128 barcode of the
waybill number with the number printed under it, the receiver (phone masked in the middle, as
carriers print it since the privacy rules for waybills), the sender, the order id and what is
in the parcel. Names and addresses are Chinese, so text is set in a CJK TrueType font that
fpdf2 embeds as a subset with a ToUnicode map: what is printed can be extracted back.

Parsing the CJK font costs a third of a second and ~35 MiB, so it is done once per document
(`LabelBook`), never per page: a batch of 500 labels parses it once. A book keeps its pages
in memory until written (fpdf2 builds the document whole), about 10 KiB a page; the batch
size (≤ 500 orders) bounds it — see bench/labels.py for the measured figures.
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
from fpdf.enums import Align, MethodReturnValue, WrapMode, XPos, YPos

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


def mask_phone(phone: str) -> str:
    """The middle of a phone number starred, as carriers print it: 13812348000 →
    138****8000. Numbers too short to keep seven digits keep only their last two."""
    digits = "".join(phone.split())
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


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
        self._pdf = FPDF(unit="mm", format=PAGE_MM)
        self._pdf.set_auto_page_break(auto=False)
        self._pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self._pdf.set_creator("MiniShop Open Platform")
        self._pdf.set_title("Shipping labels")
        self._pdf.add_font(_FAMILY, fname=str(font or label_font()))
        self._pages = 0

    @property
    def pages(self) -> int:
        return self._pages

    def add(self, label: Label) -> None:
        if label.created_at.tzinfo is None:
            raise ValueError("a label's created_at must be timezone-aware")
        self._pages += 1
        _draw(self._pdf, label)

    def extend(self, labels: Iterable[Label]) -> None:
        for label in labels:
            self.add(label)

    def write(self, target: str | Path | BinaryIO) -> None:
        if self._pages == 0:
            raise ValueError("an empty label book has nothing to print")
        data = self._pdf.output()
        if isinstance(target, str | Path):
            Path(target).write_bytes(data)
        else:
            target.write(data)

    def to_bytes(self) -> bytes:
        if self._pages == 0:
            raise ValueError("an empty label book has nothing to print")
        return bytes(self._pdf.output())


def render_label(label: Label, *, font: Path | None = None) -> bytes:
    """One label as a one-page PDF."""
    book = LabelBook(font=font)
    book.add(label)
    return book.to_bytes()


def _draw(pdf: FPDF, label: Label) -> None:
    pdf.add_page()
    pdf.set_line_width(0.3)
    left, right = MARGIN, PAGE_MM[0] - MARGIN
    pdf.rect(MARGIN / 2, MARGIN / 2, PAGE_MM[0] - MARGIN, PAGE_MM[1] - MARGIN)

    # Carrier band.
    pdf.set_font(_FAMILY, size=16)
    pdf.set_xy(left, MARGIN)
    pdf.cell(CONTENT_W * 0.6, 9, label.carrier_name)
    pdf.set_font(_FAMILY, size=8)
    created = label.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    pdf.set_xy(left + CONTENT_W * 0.6, MARGIN)
    pdf.cell(CONTENT_W * 0.4, 4.5, label.carrier_code.upper(), align=Align.R)
    pdf.set_xy(left + CONTENT_W * 0.6, MARGIN + 4.5)
    pdf.cell(CONTENT_W * 0.4, 4.5, created, align=Align.R)
    pdf.line(left, 14, right, 14)

    # Barcode and the number a person can read.
    _barcode(pdf, label.waybill_no, top=16.0)
    pdf.set_font(_FAMILY, size=12)
    pdf.set_xy(left, 16.0 + BARCODE_H + 0.5)
    pdf.cell(CONTENT_W, 6, label.waybill_no, align=Align.C)
    pdf.line(left, 42, right, 42)

    # Receiver: the largest block, read at the door.
    _party(
        pdf,
        "收",
        label.receiver_name,
        mask_phone(label.receiver_phone),
        label.receiver_address,
        top=43.0,
        height=36.0,
        size=12,
    )
    pdf.line(left, 80, right, 80)
    _party(
        pdf,
        "寄",
        label.sender_name,
        label.sender_phone,
        label.sender_address,
        top=81.0,
        height=23.0,
        size=9,
    )
    pdf.line(left, 105, right, 105)

    # What the parcel is for, and what is in it.
    pdf.set_font(_FAMILY, size=9)
    pdf.set_xy(left, 106.5)
    pdf.cell(CONTENT_W, 5, f"订单号 {label.order_id}")
    pdf.set_xy(left, 112.5)
    _lines(pdf, f"内容 {label.summary}", width=CONTENT_W, line_h=4.4, max_lines=6)
    pdf.line(left, 141, right, 141)
    pdf.set_font(_FAMILY, size=7)
    pdf.set_xy(left, 142.0)
    pdf.cell(CONTENT_W, 4, f"{label.carrier_name} {label.waybill_no}  签收人/时间：", align=Align.L)


def _party(
    pdf: FPDF,
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
    pdf.set_font(_FAMILY, size=size + 4)
    pdf.rect(left, top + 1, box, box)
    pdf.set_xy(left, top + 1)
    pdf.cell(box, box, mark, align=Align.C)
    text_x = left + box + 2.0
    width = PAGE_MM[0] - MARGIN - text_x
    pdf.set_font(_FAMILY, size=size + 1)
    pdf.set_xy(text_x, top + 1)
    pdf.cell(width, box, f"{name}  {phone}")
    pdf.set_font(_FAMILY, size=size)
    line_h = size * 0.45
    pdf.set_xy(text_x, top + box + 2.0)
    _lines(
        pdf,
        address,
        width=width,
        line_h=line_h,
        max_lines=max(1, int((height - box - 2.0) // line_h)),
    )


def _lines(pdf: FPDF, text: str, *, width: float, line_h: float, max_lines: int) -> None:
    """`text` wrapped (Chinese has no spaces to break at) into at most `max_lines` lines,
    the last cut with an ellipsis when it does not fit: a label never overflows its block."""
    x = pdf.get_x()
    wrapped = pdf.multi_cell(
        width,
        line_h,
        text,
        dry_run=True,
        output=MethodReturnValue.LINES,
        wrapmode=WrapMode.CHAR,
    )
    assert isinstance(wrapped, list)  # what output=LINES returns
    lines: list[str] = wrapped
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and pdf.get_string_width(last + "…") > width - 2 * pdf.c_margin:
            last = last[:-1]
        lines[-1] = last + "…"
    for line in lines:
        pdf.set_x(x)
        pdf.cell(width, line_h, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _barcode(pdf: FPDF, data: str, *, top: float) -> None:
    modules = code128_modules(data)
    module = CONTENT_W / (len(modules) + 2 * QUIET_MODULES)
    module = min(MAX_MODULE_MM, module)
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
