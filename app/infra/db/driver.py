"""Read statements straight through the driver, on the unit of work's own connection.

The hot provider reads (the token's live state, a product with its SKUs, a page of them) are
small fixed queries. Through the ORM each one paid for statement compilation, result
processing and entity loading; and a request that only reads still opened a transaction
(BEGIN ... ROLLBACK, two more round trips). On PostgreSQL this reader hands them to the
session's asyncpg connection directly:

* nothing is sent but the statement (asyncpg prepares it once per connection and caches it);
* no BEGIN: until the session itself executes something, the adapter has not started its
  transaction, so a read-only request never opens one and rolls nothing back. Each statement
  sees what is committed when it runs — a revoked token is refused by the next request;
* once the session has begun a transaction (a write), the statements run inside it and see
  its changes.

Other databases (SQLite) have no such path: callers use SQLAlchemy Core there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession


class DriverReader:
    def __init__(self, session: AsyncSession, *, postgres: bool) -> None:
        self._session = session
        #: True when statements can go to asyncpg directly; else use Core through the session.
        self.direct = postgres

    async def _driver(self) -> Any:
        conn = await self._session.connection()
        raw = await conn.get_raw_connection()
        return raw.driver_connection

    async def fetch(self, sql: str, *args: Any) -> Sequence[asyncpg.Record]:
        driver = await self._driver()
        try:
            rows: Sequence[asyncpg.Record] = await driver.fetch(sql, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ValueError) as e:
            await self._on_error(e)
            # The same error type the ORM path raises, so the API's handler treats it alike
            # (bad data → 422, anything else → 500).
            raise DBAPIError(sql, args, e) from e
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def _on_error(self, e: BaseException) -> None:
        # A dropped connection must not go back to the pool: without pre-ping nothing else
        # would notice it before the next request fails on it too.
        if isinstance(e, asyncpg.PostgresConnectionError | asyncpg.InterfaceError | OSError):
            conn = await self._session.connection()
            await conn.invalidate(e if isinstance(e, Exception) else None)
