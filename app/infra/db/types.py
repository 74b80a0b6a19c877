"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes everywhere (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType: Any = sa.JSON().with_variant(JSONB(), "postgresql")


def str_enum(enum_cls: Any, length: int = 32) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class SpaceList(sa.types.TypeDecorator[list[str]]):
    """A list of space-free tokens (scopes, service types) stored as " a b c ".

    The padding lets `LIKE '% a %'` find one member on any database, without JSON operators.
    """

    impl = sa.String(400)
    cache_ok = True

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return " " + " ".join(value) + " " if value else " "

    def process_result_value(self, value: str | None, dialect: Dialect) -> list[str] | None:
        if value is None:
            return None
        return value.split()


class IntEnumType(sa.types.TypeDecorator[Any]):
    """An `IntEnum` stored as its number (an order's status code: 10, 20, ...)."""

    impl = sa.SmallInteger
    cache_ok = True

    def __init__(self, enum_cls: Any) -> None:
        super().__init__()
        self.enum_cls = enum_cls

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(self.enum_cls(value))

    def process_result_value(self, value: int | None, dialect: Dialect) -> Any:
        return None if value is None else self.enum_cls(value)
