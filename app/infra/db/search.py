"""Substring search with LIKE, the one escape for user text."""

from __future__ import annotations

import sqlalchemy as sa


def contains(column: sa.ColumnElement[str], text: str) -> sa.ColumnElement[bool]:
    """Case-insensitive: `column` contains `text` literally."""
    return sa.func.lower(column).like(pattern(text), escape="\\")


def pattern(text: str) -> str:
    """A LIKE pattern that matches `text` literally (escape `%`, `_` and the escape char),
    lower-cased, for `lower(column) LIKE :pattern ESCAPE '\\'`."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
