"""The README's permission matrix is generated from the code's matrix and must match it."""

from __future__ import annotations

from pathlib import Path

from app.domain.shops.permissions import matrix_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_permission_matrix_matches_code() -> None:
    text = README.read_text()
    start = text.index("<!-- permission-matrix:start -->") + len("<!-- permission-matrix:start -->")
    end = text.index("<!-- permission-matrix:end -->")
    assert text[start:end].strip() == matrix_markdown()
