"""Base classes of the public contract: inputs reject unknown fields, outputs are explicit.

Inputs take JSON types as they are: an integer, money or boolean field refuses `true`, `"5"`
and `1` for `true` (pydantic's lax mode would store `{"stock": true}` as 1). Query parameters
are no `Input`: they are strings on the wire and keep their conversion.

Inputs also refuse control characters in every string: a NUL cannot be stored by PostgreSQL
(the driver fails, which would be a 500), and the other C0 characters in a name or an id are
never meant. Free-text fields may list themselves in `free_text_fields` to keep tab and
newline.
"""

from __future__ import annotations

import re
import types
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Strict,
    UrlConstraints,
    ValidationInfo,
    field_validator,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_CHARACTERS_MESSAGE = "Control characters (such as NUL) are not allowed."

#: Every URL column is String(2048); pydantic would accept up to 2083 characters.
MAX_URL_LENGTH = 2048


def has_control_characters(value: str, *, free_text: bool = False) -> bool:
    pattern = _CONTROL_EXCEPT_WHITESPACE if free_text else _CONTROL
    return pattern.search(value) is not None


def _refuse_control_characters(value: Any, free_text: bool) -> None:
    if isinstance(value, str):
        if has_control_characters(value, free_text=free_text):
            raise ValueError(CONTROL_CHARACTERS_MESSAGE)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_control_characters(item, free_text)


#: Scalar types that pydantic converts from other JSON types unless told to be strict.
STRICT_SCALARS: frozenset[type] = frozenset({int, float, bool})


def is_strict_scalar(annotation: Any) -> bool:
    """`int`, `float`, `bool`, or an optional one (`int | None`)."""
    if get_origin(annotation) in (Union, types.UnionType):
        arms = [a for a in get_args(annotation) if a is not type(None)]
        return bool(arms) and all(a in STRICT_SCALARS for a in arms)
    return annotation in STRICT_SCALARS


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    #: Fields that hold prose, where tab and newline are allowed.
    free_text_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # Strict numbers and booleans in one place, so no request schema can forget them
        # (the JSON Schema is unchanged: it already says integer/number/boolean).
        super().__pydantic_init_subclass__(**kwargs)
        lax = [
            field
            for field in cls.model_fields.values()
            if is_strict_scalar(field.annotation)
            and not any(isinstance(m, Strict) for m in field.metadata)
        ]
        for field in lax:
            field.metadata.append(Strict())
        if lax:
            cls.model_rebuild(force=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        _refuse_control_characters(value, info.field_name in cls.free_text_fields)
        return value


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _url_fits_column(url: AnyHttpUrl) -> AnyHttpUrl:
    # Normalisation (punycode hosts, escapes) can lengthen a URL: check what will be stored.
    if len(str(url)) > MAX_URL_LENGTH:
        raise ValueError(f"URLs are limited to {MAX_URL_LENGTH} characters.")
    return url


#: An http(s) URL that fits the String(2048) columns.
HttpUrl = Annotated[
    AnyHttpUrl, UrlConstraints(max_length=MAX_URL_LENGTH), AfterValidator(_url_fits_column)
]

#: Earliest and latest instants a time filter may name; beyond them the database (and
#: Python's `datetime` when converting a far offset to UTC) overflows.
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(9000, 1, 1, tzinfo=UTC)


def _within_time_bounds(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not MIN_TIME <= utc <= MAX_TIME:
        raise ValueError(f"Use a time between {MIN_TIME:%Y-%m-%d} and {MAX_TIME:%Y-%m-%d} (UTC).")
    return utc


#: An RFC 3339 time with a zone, within bounds the database can store.
BoundedDatetime = Annotated[AwareDatetime, AfterValidator(_within_time_bounds)]
