"""Keyset paging, the one way every list pages.

A list is ordered by one or more columns ending with a unique one (an id); a page asks for
`limit + 1` rows after the sort key of the last row already seen, so a page costs the same
at any depth. The cursor (`PageRequest.after`) carries that key as strings: `after` turns it
back into typed values (refusing anything no page produced), `cut` drops the look-ahead row
and keys the last row returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.pagination import InvalidCursor, Page, PageRequest
from app.infra.db.types import UTCDateTime

T = TypeVar("T")
#: A SELECT of any columns or entities.
AnySelect = sa.Select[*tuple[Any, ...]]


def after(page: PageRequest, columns: Sequence[sa.ColumnElement[Any]]) -> tuple[Any, ...] | None:
    """The cursor's values, typed like `columns` (a time column's value is an aware datetime)."""
    if not page.after:
        return None
    if len(page.after) != len(columns):
        raise InvalidCursor()
    values: list[Any] = []
    for column, raw in zip(columns, page.after, strict=True):
        if isinstance(column.type, UTCDateTime):
            try:
                at = datetime.fromisoformat(raw)
            except ValueError as e:
                raise InvalidCursor() from e
            if at.tzinfo is None:
                raise InvalidCursor()
            values.append(at)
        else:
            values.append(raw)
    return tuple(values)


def keyset(
    stmt: AnySelect,
    page: PageRequest,
    columns: Sequence[sa.ColumnElement[Any]],
    *,
    descending: bool = False,
) -> AnySelect:
    """`stmt` ordered by `columns`, after the cursor, with one look-ahead row."""
    seen = after(page, columns)
    if seen is not None:
        # A row-value comparison, so the database seeks the index instead of filtering every
        # earlier row (SQLite supports row values too). Literals typed like their columns.
        here = sa.tuple_(*columns) if len(columns) > 1 else columns[0]
        there = (
            sa.tuple_(*(sa.literal(v, c.type) for c, v in zip(columns, seen, strict=True)))
            if len(columns) > 1
            else sa.literal(seen[0], columns[0].type)
        )
        stmt = stmt.where(here < there if descending else here > there)
    order = [c.desc() for c in columns] if descending else list(columns)
    return stmt.order_by(*order).limit(page.limit + 1)


def cursor_value(value: Any) -> str:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else str(value)


def cut(rows: Sequence[T], page: PageRequest, key: Callable[[T], tuple[Any, ...]]) -> Page[T]:
    """Drop the look-ahead row; the cursor is the key of the last row returned."""
    items = list(rows[: page.limit])
    if len(rows) <= page.limit or not items:
        return Page(items, None)
    return Page(items, tuple(cursor_value(v) for v in key(items[-1])))


async def fetch_page(
    session: AsyncSession,
    stmt: AnySelect,
    page: PageRequest,
    columns: Sequence[sa.ColumnElement[Any]],
    *,
    descending: bool = False,
    key: Callable[[Any], tuple[Any, ...]] | None = None,
) -> Page[Any]:
    """One page of `stmt`: entities when it selects one, tuples when several. The key of a
    row defaults to its attributes named like `columns`."""
    res = await session.execute(keyset(stmt, page, columns, descending=descending))
    rows: list[Any] = (
        list(res.scalars()) if len(stmt.column_descriptions) == 1 else [tuple(r) for r in res.all()]
    )
    if key is None:
        names = [str(c.key) for c in columns]

        def key(row: Any) -> tuple[Any, ...]:
            return tuple(getattr(row, n) for n in names)

    return cut(rows, page, key)
