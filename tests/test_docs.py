"""The README's permission matrix is generated from the code's matrix and must match it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from app.api.openapi import SCOPES_END, SCOPES_START, scope_table
from app.domain.shops.permissions import matrix_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_permission_matrix_matches_code() -> None:
    text = README.read_text()
    start = text.index("<!-- permission-matrix:start -->") + len("<!-- permission-matrix:start -->")
    end = text.index("<!-- permission-matrix:end -->")
    assert text[start:end].strip() == matrix_markdown()


def test_readme_scope_table_matches_the_spec(app: FastAPI) -> None:
    text = README.read_text()
    start = text.index(SCOPES_START) + len(SCOPES_START)
    end = text.index(SCOPES_END)
    table = scope_table(app.openapi())
    assert text[start:end].strip() == table
    assert "| `GET /v1/shop` | `getShop` | `shop:read` |" in table
