"""Shipping labels read back: the PDF's text (Chinese included) and page size with pypdf, and
the barcode as a scanner would read it (pdftoppm to an image, zbarimg to decode it)."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.infra.logistics.labels import (
    FONT_ENV,
    Label,
    LabelBook,
    LabelFontMissing,
    code128_modules,
    label_font,
    mask_phone,
    render_label,
)

MM = 72 / 25.4


def a_label(**changes: object) -> Label:
    label = Label(
        waybill_no="SF1234567890123",
        carrier_code="sf",
        carrier_name="顺丰速运",
        sender_name="杭州小铺旗舰店",
        sender_phone="0571-88886666",
        sender_address="浙江省杭州市西湖区文三路 478 号华星时代广场 A 座 1203 室",
        receiver_name="张晓明",
        receiver_phone="13812348000",
        receiver_address="上海市浦东新区世纪大道 100 号环球金融中心 56 楼 5601 室",
        order_id="ord_01JABCDEF1234567890",
        summary="有机绿茶 250g ×2；紫砂茶杯 ×1",
        created_at=datetime(2026, 12, 7, 3, 30, tzinfo=UTC),
    )
    return replace(label, **changes)  # type: ignore[arg-type]


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_label_is_one_page_of_100_by_150_mm() -> None:
    reader = PdfReader(io.BytesIO(render_label(a_label())))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(100 * MM, abs=0.5)
    assert float(box.height) == pytest.approx(150 * MM, abs=0.5)


def test_a_label_prints_the_waybill_parties_order_and_lines() -> None:
    [text] = text_of(render_label(a_label()))
    flat = "".join(text.split())
    for expected in (
        "SF1234567890123",
        "顺丰速运",
        "张晓明",
        "上海市浦东新区世纪大道100号环球金融中心56楼5601室",
        "杭州小铺旗舰店",
        "ord_01JABCDEF1234567890",
        "有机绿茶250g×2；紫砂茶杯×1",
        "2026-12-0711:30",  # in China Standard Time
    ):
        assert expected in flat
    assert "138****8000" in text
    assert "13812348000" not in flat


def test_a_long_address_is_cut_with_an_ellipsis_not_spilled() -> None:
    address = "新疆维吾尔自治区乌鲁木齐市天山区" * 12
    [text] = text_of(render_label(a_label(receiver_address=address)))
    flat = "".join(text.split())
    assert "新疆维吾尔自治区乌鲁木齐市天山区" in flat
    assert "…" in flat
    assert flat.count("新疆维吾尔自治区") < 12
    assert "寄" in flat  # the sender's block is still there, below


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812348000", "138****8000"),
        ("138 1234 8000", "138****8000"),
        ("021-64381234", "021*****1234"),
        ("1234567", "*****67"),
        ("", ""),
    ],
)
def test_phones_are_masked_in_the_middle(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_a_book_has_a_page_per_label_to_a_path_and_to_a_file(tmp_path: Path) -> None:
    labels = [
        a_label(waybill_no=f"YT{n:013d}", receiver_name=name, order_id=f"ord_{n}")
        for n, name in enumerate(["李四", "王五", "赵六"], start=1)
    ]
    book = LabelBook()
    book.extend(labels)
    assert book.pages == 3
    path = tmp_path / "book.pdf"
    book.write(path)
    buffer = io.BytesIO()
    book.write(buffer)
    assert buffer.getvalue()[:5] == b"%PDF-"
    pages = text_of(path.read_bytes())
    assert len(pages) == 3
    for page, label in zip(pages, labels, strict=True):
        assert label.waybill_no in page
        assert label.receiver_name in page
        assert label.order_id in page


def test_an_empty_book_and_a_naive_time_are_refused() -> None:
    book = LabelBook()
    with pytest.raises(ValueError, match="empty"):
        book.to_bytes()
    with pytest.raises(ValueError, match="timezone"):
        book.add(a_label(created_at=datetime(2026, 12, 7, 11, 30)))


def test_a_waybill_number_too_long_to_scan_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        render_label(a_label(waybill_no="X" * 40))


def test_the_font_is_settled_in_one_place_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "nope.ttf"))
    with pytest.raises(LabelFontMissing, match=FONT_ENV):
        label_font()
    monkeypatch.delenv(FONT_ENV)
    assert label_font().is_file()


def test_code128_packs_digits_and_ends_with_the_stop_pattern() -> None:
    modules = code128_modules("SF1234567890123")
    assert set(modules) == {"0", "1"}
    assert modules.endswith("1100011101011")  # stop
    # 'S', 'F' in set B then 13 digits mostly in set C: shorter than all in set B.
    assert len(modules) < 11 * (2 + 15 + 1) + 13


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (scripts/ensure-label-tools.sh installs it as root)")
    return path


@pytest.mark.parametrize("waybill_no", ["SF1234567890123", "YT7412589630147", "JD0088776655-1-1-"])
def test_the_barcode_scans_back_to_the_waybill_number(tmp_path: Path, waybill_no: str) -> None:
    pdftoppm, zbarimg = _tool("pdftoppm"), _tool("zbarimg")
    pdf = tmp_path / "label.pdf"
    pdf.write_bytes(render_label(a_label(waybill_no=waybill_no)))
    # 203 dpi: what a thermal label printer prints.
    subprocess.run(
        [pdftoppm, "-png", "-r", "203", "-singlefile", str(pdf), str(tmp_path / "label")],
        check=True,
        timeout=60,
    )
    scanned = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sdisable", "-Scode128.enable", str(tmp_path / "label.png")],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert scanned.stdout.split() == [waybill_no]


def test_wrapping_keeps_short_numbers_whole_and_starts_no_line_with_a_space() -> None:
    from app.infra.logistics.labels import _FAMILY, _Pen

    book = LabelBook()
    pen: _Pen = book._pen
    pen.pdf.add_page()
    pen.size(9)
    text = "浙江省杭州市西湖区文三路 478 号华星时代广场 A 座 1203 室" * 3
    width = pen.width("浙江省杭州市西湖区文三路 478 号华星时代广场 A 座 12")
    lines = pen.wrap(text, width)
    assert len(lines) > 3
    assert all(pen.width(line) <= width + 1e-6 for line in lines)
    assert not any(line.startswith(" ") or line.endswith(" ") for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert not any(line.endswith("12") for line in lines)  # 1203 was not cut
    assert pen.pdf.font_family == _FAMILY
