"""Keyset pagination values shared by every list: the API turns `after` into an opaque cursor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

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
