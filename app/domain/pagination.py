"""Keyset pagination values shared by every list: the API turns `after` into an opaque cursor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from app.domain.errors import ValidationFailed

T = TypeVar("T")

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    #: The sort key of the last item already seen, e.g. `(updated_at_iso, id)` or `(id,)`.
    after: tuple[str, ...] | None = None


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_after: tuple[str, ...] | None


class InvalidCursor(ValidationFailed):
    """A cursor that no page of ours produced: tampered, truncated or from another list."""

    code = "invalid_cursor"
    status = 400
    title = "The cursor is not valid"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "Pass back the next_cursor of a previous page unchanged.")
