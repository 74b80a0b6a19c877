"""Opaque cursors over keyset pagination, and the list envelope every list returns."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.base import has_control_characters
from app.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidCursor, PageRequest

T = TypeVar("T")


def encode_cursor(after: tuple[str, ...] | None) -> str | None:
    if after is None:
        return None
    raw = json.dumps(list(after), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, ...]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise InvalidCursor() from e
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise InvalidCursor()
    # Our cursors hold ids and timestamps only; a NUL would also fail in PostgreSQL (a 500).
    if any(has_control_characters(v) or len(v) > 64 for v in values):
        raise InvalidCursor()
    return tuple(values)


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100).", examples=[20])
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=512,
            description="`next_cursor` of the previous page.",
            examples=["WyJzaG9wXzAxIl0"],
        ),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageParams = Annotated[PageRequest, Depends(page_params)]
#: What `PageParams` answers, for a route's `problem_responses`: a cursor it did not issue,
#: a limit out of range.
PAGE_ERRORS = (InvalidCursor, 422)


class ListResponse(BaseModel, Generic[T]):
    """A page of results. Pass `next_cursor` back as `cursor` for the next page."""

    # A parametrized generic (`ListResponse[Shop]`) does not inherit the docstring.
    model_config = ConfigDict(
        json_schema_extra={
            "description": "A page of results. Pass `next_cursor` back as `cursor` for the next "
            "page."
        }
    )

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """`ListResponse[Shop]` is titled `ShopList`, the name its OpenAPI component gets (see
        `app.api.openapi`), one that generated clients use as it is."""
        (item,) = params
        return f"{getattr(item, '__name__', item)}List"

    data: list[T] = Field(description="The items of this page.")
    next_cursor: str | None = Field(
        description="Cursor of the next page; null on the last page.", examples=[None]
    )
