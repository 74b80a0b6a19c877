"""Read statements straight through the driver, for the hot provider reads.

The token's live state, a product with its SKUs, a page of them: small fixed queries that
every provider request runs. Through an ORM session each paid for a session, a pooled
connection held until the response was sent, BEGIN and ROLLBACK around the statements,
statement compilation and result processing. On PostgreSQL `DriverReader` sends them to
asyncpg directly:

* outside a transaction (a request that has not written anything), on a connection of the
  process's `ReadPool`, held only while the statement runs — what a bare asyncpg app does.
  Each statement sees what is committed when it runs: a revoked token is refused by the next
  request, in any process;
* inside the unit of work's transaction (once its session has begun one), on that
  transaction's connection, so the statement sees the request's own changes.

Statements are prepared once per connection (asyncpg's statement cache). On SQLite there is
no such path: the callers use SQLAlchemy Core there (`direct` is False).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction

_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ValueError)


async def _init_connection(conn: Any) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
            format="text",
        )


async def _reset_connection(conn: Any) -> None:
    # Only the reader's own prepared SELECTs run on these connections, never in a
    # transaction: no settings, cursors, advisory locks or listeners to clear. asyncpg's
    # default reset (SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL) would
    # cost one more round trip for every statement.
    if conn.is_in_transaction():
        await conn.reset()


class ReadPool:
    """One asyncpg pool per process for reads outside a transaction; opened on first use
    (inside the running event loop), closed with the container."""

    def __init__(self, url: str, size: int) -> None:
        u = make_url(url)
        self._connect = {
            "host": u.host,
            "port": u.port,
            "user": u.username,
            "password": u.password,
            "database": u.database,
        }
        self._size = size
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def fetch(self, sql: str, *args: Any) -> Sequence[Any]:
        pool = self._pool or await self._open()
        rows: Sequence[Any] = await pool.fetch(sql, *args)
        return rows

    async def _open(self) -> Any:
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    **self._connect,
                    min_size=1,
                    max_size=self._size,
                    init=_init_connection,
                    reset=_reset_connection,
                )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


class DriverReader:
    def __init__(
        self, pool: ReadPool | None, session_of: Callable[[], AsyncSession | None]
    ) -> None:
        self._pool = pool
        #: The unit of work's session if it has opened one (it does so lazily).
        self._session_of = session_of
        self._transaction: SessionTransaction | None = None
        self._driver: Any = None

    @property
    def direct(self) -> bool:
        """True when statements go to asyncpg; else use Core through the session."""
        return self._pool is not None

    async def fetch(self, sql: str, *args: Any) -> Sequence[Any]:
        assert self._pool is not None
        session = self._session_of()
        try:
            if session is not None and session.in_transaction():
                driver = await self._transaction_driver(session)
                rows: Sequence[Any] = await driver.fetch(sql, *args)
                return rows
            return await self._pool.fetch(sql, *args)
        except _DRIVER_ERRORS as e:
            # The error type the ORM path raises, so the API's handler treats both alike
            # (bad data → 422, anything else → 500).
            raise DBAPIError(sql, args, e) from e

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def _transaction_driver(self, session: AsyncSession) -> Any:
        # A transaction keeps its connection until it ends, so the driver connection is
        # looked up once per transaction (through SQLAlchemy it costs two greenlet switches).
        transaction = session.sync_session.get_transaction()
        if transaction is None or transaction is not self._transaction:
            conn = await session.connection()
            self._driver = (await conn.get_raw_connection()).driver_connection
            self._transaction = session.sync_session.get_transaction()
        return self._driver
