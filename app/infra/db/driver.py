"""Statements straight through the driver, for the hot reads and the hot writes.

The token's live state, a product with its SKUs, a page of them: small fixed queries that
every provider request runs. Through an ORM session each pays for a session, a pooled
connection held until the response is sent, BEGIN and ROLLBACK around the statements,
statement compilation and result processing. On PostgreSQL `DriverReader` sends them to
asyncpg directly:

* outside a transaction (a request that has not written anything), on a connection of the
  process's `ReadPool`, held only while the statement runs — what a bare asyncpg app does.
  Each statement sees what is committed when it runs: a revoked token is refused by the next
  request, in any process;
* inside the unit of work's transaction (once its session has begun one), on that
  transaction's connection, so the statement sees the request's own changes.

A write (`write`), or a read that locks, always runs inside the unit of work's
transaction, which it begins if the request has not yet: on the connection of the session's
transaction, after SQLAlchemy's own BEGIN, so the unit of work still commits or rolls back
everything at its one commit point, ORM changes and driver writes alike.

Statements are prepared once per connection (asyncpg's statement cache). On SQLite there is
no such path: the callers use SQLAlchemy Core there (`direct` is False).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
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


_BROKEN = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)


class ReadPool:
    """The process's connections for reads outside a transaction: at most `size`, opened on
    first need (inside the running event loop), closed with the container.

    Not `asyncpg.Pool`: per statement it shields the release in a new task, arms and disarms
    an inactivity timer and resets the session (one more round trip by default) — together
    more than the rest of a product read's Python. Only the reader's own prepared SELECTs
    run on these connections, never in a transaction, so there is nothing to reset: a
    connection goes back as it came unless it broke (or the statement was cancelled midway),
    then it is closed and a new one opened when next needed.
    """

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
        self._idle: list[Any] = []
        self._waiters: deque[asyncio.Future[Any]] = deque()
        #: Connections open or being opened.
        self._count = 0

    async def fetch(self, sql: str, *args: Any) -> Sequence[Any]:
        conn = self._idle.pop() if self._idle else await self._acquire()
        try:
            rows: Sequence[Any] = await conn.fetch(sql, *args)
        except Exception as e:
            if isinstance(e, _BROKEN) or conn.is_closed():
                self._discard(conn)
            else:
                self._release(conn)  # a failed statement leaves the connection usable
            raise
        except BaseException:
            self._discard(conn)  # cancelled mid-statement: the protocol state is unknown
            raise
        self._release(conn)
        return rows

    async def _acquire(self) -> Any:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._count < self._size:
                self._count += 1
                try:
                    conn = await asyncpg.connect(**self._connect)
                    await _init_connection(conn)
                except BaseException:
                    self._count -= 1
                    raise
                return conn
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._release(waiter.result())
                raise
            if conn is not None:
                return conn
            # None: a connection was discarded, so there is room to open one.

    def _release(self, conn: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: Any) -> None:
        conn.terminate()
        self._count -= 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            self._count -= 1
            await conn.close()


def json_text(value: Any) -> str:
    """A JSON parameter of a driver write, sent as text and cast in the statement
    (`$n::text::jsonb`): the transaction's connection is SQLAlchemy's, whose codecs take
    JSON as text, and the read pool's take objects; text means the same to both."""
    return orjson.dumps(value).decode()


def _translated(sql: str, args: Any, e: Exception) -> DBAPIError:
    """The error type the ORM path raises, so the callers and the API's handler treat both
    alike (a constraint → `IntegrityError`; bad data → 422, anything else → 500)."""
    if isinstance(e, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, args, e)
    return DBAPIError(sql, args, e)


class DriverReader:
    def __init__(
        self,
        pool: ReadPool | None,
        session_of: Callable[[], AsyncSession | None],
        make_session: Callable[[], AsyncSession] | None = None,
    ) -> None:
        self._pool = pool
        #: The unit of work's session if it has opened one (it does so lazily).
        self._session_of = session_of
        #: The unit of work's session, opened if need be (for writes).
        self._make_session = make_session
        self._transaction: SessionTransaction | None = None
        #: The innermost transaction (a savepoint's, or `_transaction`) writes last ran in.
        self._current: SessionTransaction | None = None
        self._driver: Any = None
        #: Whether BEGIN has been sent on `_driver` for `_transaction`.
        self._begun = False

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
            raise _translated(sql, args, e) from e

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def write(self, sql: str, *args: Any) -> Sequence[Any]:
        """A statement in the unit of work's transaction (begun now if it was not): a write,
        or a read that locks. Its rows (RETURNING)."""
        driver = await self._begun_driver()
        try:
            rows: Sequence[Any] = await driver.fetch(sql, *args)
        except _DRIVER_ERRORS as e:
            raise _translated(sql, args, e) from e
        return rows

    def wrote(self, session: AsyncSession) -> bool:
        """Whether statements of this reader's run in the session's current transaction
        (what it holds may be writes: ending it would lose them)."""
        return self._begun and self._transaction is session.sync_session.get_transaction()

    async def _begun_driver(self) -> Any:
        assert self._pool is not None and self._make_session is not None
        session = self._make_session()
        sync = session.sync_session
        # The innermost transaction: a savepoint (`uow.savepoint()`) is emitted by SQLAlchemy
        # only when the session next asks for its connection, so a driver write inside one
        # asks first; otherwise rolling the savepoint back would not undo the write.
        current = sync.get_nested_transaction() or sync.get_transaction()
        if current is None or current is not self._current or not self._begun:
            conn = await session.connection()  # begins the transaction, or the savepoint
            adapted: Any = (await conn.get_raw_connection()).dbapi_connection
            # SQLAlchemy's asyncpg adapter sends BEGIN with the first statement it runs; a
            # driver statement may be the first, so it is sent here, the adapter's way (its
            # `_transaction` is what its commit and rollback then end; private, pinned 2.1).
            if adapted._transaction is None:
                await adapted._start_transaction()
            self._driver = adapted.driver_connection
            self._transaction = sync.get_transaction()
            self._current = sync.get_nested_transaction() or self._transaction
            self._begun = True
        return self._driver

    async def _transaction_driver(self, session: AsyncSession) -> Any:
        # A transaction keeps its connection until it ends, so the driver connection is
        # looked up once per transaction (through SQLAlchemy it costs two greenlet switches).
        transaction = session.sync_session.get_transaction()
        if transaction is None or transaction is not self._transaction:
            conn = await session.connection()
            self._driver = (await conn.get_raw_connection()).driver_connection
            self._transaction = session.sync_session.get_transaction()
            self._begun = False
        return self._driver
