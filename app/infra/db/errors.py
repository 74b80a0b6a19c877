"""Which database errors mean "the client sent data the database cannot take"."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

#: The driver-level error every bad-data failure arrives as (re-exported for the API's handler).
DatabaseError = DBAPIError

#: SQLSTATE class 22 is "data exception": NUL in text, a value out of range, bad encoding.
_DATA_EXCEPTION_CLASS = "22"


def is_bad_data(exc: BaseException) -> bool:
    """True when the statement failed because of a value, not because of the database.

    asyncpg reports server-side data exceptions with SQLSTATE 22xxx (wrapped by SQLAlchemy as a
    generic `DBAPIError`), and values it cannot even encode as a `ValueError` (its client-side
    `DataError`) or an `OverflowError`.
    """
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
    if sqlstate.startswith(_DATA_EXCEPTION_CLASS):
        return True
    cause: BaseException | None = exc.orig
    seen = 0
    while cause is not None and seen < 5:
        if isinstance(cause, ValueError | OverflowError):
            return True
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return False
