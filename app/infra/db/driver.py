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
everything at its one commit point, ORM changes and driver writes alike. Before the unit of
work has opened a session, the transaction runs on a connection the reader checks out of the
engine's pool itself (`held`), begun and ended on SQLAlchemy's adapter: a use case served by
the driver alone (placing an order) never pays for the session; one that needs the ORM after
all opens its session on that connection, in that transaction (`SqlUnitOfWork.session`).

A write whose rows the caller does not wait for (`defer`: an order's rows, its event, a
timer, an Idempotency-Key's response) is held and sent with the writes deferred after it, as
one statement of data-modifying CTEs, by whatever comes next on the transaction's connection:
the reader's next statement, any statement of SQLAlchemy's (`send_pending_before`, on the
engine, which is also how a SAVEPOINT or its ROLLBACK TO finds them sent), the unit of work's
flush, or its commit. A use case of four writes costs one round trip, and no statement ever
runs ahead of a write the request made before it.

Statements are prepared once per connection (asyncpg's statement cache). On SQLite there is
no such path: the callers use SQLAlchemy Core there (`direct` is False).
"""

from __future__ import annotations

import asyncio
import re
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.pool import Pool
from sqlalchemy.util import await_only, greenlet_spawn

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


#: Where a connection's pending writes are found by `send_pending_before` (its `info`).
PENDING_KEY = "minishop.pending_writes"
#: In a pooled connection's `info`: the `Prepared` statements made on it (True), or whose
#: making failed (False: not used on that connection).
PREPARED_KEY = "minishop.prepared"


@dataclass(frozen=True)
class Prepared:
    """A statement kept prepared by name on the connections that run it (`begin_with`),
    run with its values written in as literals (the simple protocol takes no parameters)."""

    name: str
    #: Its parameters' types, as `PREPARE name (types)` takes them.
    types: str
    #: The statement, with its parameters as `$1`, `$2`...
    sql: str

    @property
    def declaration(self) -> str:
        return f"PREPARE {self.name} ({self.types}) AS {self.sql}"

    def execute(self, literals: Sequence[str]) -> str:
        return f"EXECUTE {self.name}({', '.join(literals)})"

    def inline(self, literals: Sequence[str]) -> str:
        """The statement itself with `literals` in the place of its parameters."""
        return _PARAM.sub(lambda m: literals[int(m[1]) - 1], self.sql)


_PARAM = re.compile(r"\$(\d+)")


def text_literal(value: str) -> str:
    """Any text as an SQL literal that cannot break out of itself, for a statement of literals
    (`begin_with`): hex-encoded, decoded by PostgreSQL."""
    return f"convert_from(decode('{value.encode('utf-8', 'replace').hex()}', 'hex'), 'UTF8')"


@dataclass(frozen=True)
class Exists:
    """A condition a write holds only under (`WHERE EXISTS (sql)`), checked by that write's
    own statement: no round trip of its own. `sql` numbers its parameters from `$1`, `types`
    declares them (for `Prepared`), `args` are their values and `literals` the same values
    made safe (`text_literal`); `name` tells the statements written with it apart."""

    name: str
    types: str
    sql: str
    args: tuple[Any, ...]
    literals: tuple[str, ...]

    def after(self, count: int) -> str:
        """`sql` with its parameters numbered after `count` of the statement it goes in."""
        return _PARAM.sub(lambda m: f"${int(m[1]) + count}", self.sql)


_PART_REF = re.compile(r"\{(\d+)\}")

#: Called with the rows a deferred write returned, once it has been sent.
Then = Callable[[Sequence[Mapping[str, Any]]], Awaitable[None]]


@dataclass(frozen=True)
class Pending:
    """A deferred write: one statement, or several (`parts`) where a later one reads an
    earlier one's RETURNING as `{0}`, `{1}`...; `$n` are its own parameters, shared by its
    parts. `key` names what it upserts: a second write with the same key sends the first
    before it is held (one statement may not change a row twice)."""

    parts: tuple[str, ...]
    args: tuple[Any, ...]
    key: Hashable | None = None
    then: Then | None = None


def compose(pending: Sequence[Pending]) -> tuple[str, list[Any]]:
    """The pending writes as one statement and its parameters. Each part becomes a CTE (a
    data-modifying CTE runs to completion whether or not it is read); the statement returns
    the rows of the last part of each write that waits for them, as `(part, row)` with the
    row as JSON. One write of one part is sent as it is."""
    if len(pending) == 1 and len(pending[0].parts) == 1:
        return pending[0].parts[0], list(pending[0].args)
    shape = tuple((p.parts, len(p.args), p.then is not None) for p in pending)
    sql = _composed.get(shape)
    if sql is None:
        sql = _compose(shape)
        if len(_composed) < _COMPOSED_KEPT:
            _composed[shape] = sql
    return sql, [a for p in pending for a in p.args]


#: Composed statements by the shape of what they compose (a use case's writes are the same
#: statements every time: composed once per process).
_composed: dict[tuple[tuple[tuple[str, ...], int, bool], ...], str] = {}
_COMPOSED_KEPT = 256


def _compose(shape: tuple[tuple[tuple[str, ...], int, bool], ...]) -> str:
    ctes: list[str] = []
    selects: list[str] = []
    offset = 0
    for i, (parts, nargs, returns) in enumerate(shape):
        for j, part in enumerate(parts):
            body = _PARAM.sub(lambda m, o=offset: f"${int(m[1]) + o}", part)  # type: ignore[misc]
            body = _PART_REF.sub(lambda m, i=i: f"w{i}_{m[1]}", body)  # type: ignore[misc]
            ctes.append(f"w{i}_{j} AS ({body.strip()})")
        offset += nargs
        if returns:
            last = f"w{i}_{len(parts) - 1}"
            # Only generated names and numbers are formatted in; the parts are constants.
            selects.append(f"SELECT {i} AS part, to_jsonb({last}) AS row FROM {last}")  # noqa: S608
    tail = " UNION ALL ".join(selects) or "SELECT NULL::int AS part, NULL::jsonb AS row LIMIT 0"
    return "WITH " + ",\n".join(ctes) + "\n" + tail


def send_pending_before(
    conn: Any, _cursor: Any, _statement: Any, _params: Any, _context: Any, _many: Any
) -> None:
    """SQLAlchemy's `before_cursor_execute` on PostgreSQL engines: a statement of the ORM's
    on a connection with pending writes sends them first (SQLAlchemy runs it inside its
    greenlet, where `await_only` reaches the event loop)."""
    reader: DriverReader | None = conn.info.get(PENDING_KEY)
    if reader is not None:
        await_only(reader.send_pending())


def forget_pending(_dbapi_connection: Any, record: Any) -> None:
    """The pool's `checkin`: a connection goes back without anyone's pending writes."""
    record.info.pop(PENDING_KEY, None)


#: What `plan_once` sets for the rest of a transaction.
_GENERIC_PLANS = "plan_cache_mode = force_generic_plan"


class _BegunWith:
    """A transaction begun together with settings of its own (`_begin_with`), in the place of
    asyncpg's `Transaction` on SQLAlchemy's adapter, which ends it through `commit` and
    `rollback` (as asyncpg's own: the statement, nothing else)."""

    __slots__ = ("_driver",)

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    async def commit(self) -> None:
        await self._driver.execute("COMMIT;")

    async def rollback(self) -> None:
        await self._driver.execute("ROLLBACK;")


def _plain_begin(adapted: Any) -> bool:
    """Whether SQLAlchemy's adapter would begin with a plain `BEGIN` (no isolation level of its
    own, not read-only): the only one `_begin_with` stands in for."""
    return (
        adapted.isolation_level in (None, "read_committed")
        and not adapted.readonly
        and not adapted.deferrable
    )


async def _begin_with(adapted: Any, rest: str) -> str:
    """BEGIN and `rest` (settings, `SET LOCAL ...;`, and perhaps a statement of literals) in
    one round trip (one simple query), the transaction then ended by SQLAlchemy's adapter as
    if it had begun it. The adapter holds it before the round trip: whatever happens to that
    (an error, a cancellation), the connection's rollback still sends ROLLBACK (harmless if
    BEGIN never ran). The command status of the last statement."""
    driver = adapted.driver_connection
    adapted._transaction = _BegunWith(driver)
    try:
        status: str = await driver.execute(f"BEGIN; {rest}")
    except Exception as error:
        adapted._handle_exception(error)  # raises it as SQLAlchemy's adapter would
        raise  # not reached
    return status


def _adapter(conn: Any) -> Any:
    """SQLAlchemy's adapter of the asyncpg connection of a connection the session has just
    handed out (`await session.connection()`): read from the pooled connection it holds,
    not through `get_raw_connection()`, which takes a greenlet of its own to do the same."""
    return conn.sync_connection.connection.dbapi_connection


#: What SQLAlchemy refused to connect outside its greenlet (`PoolCheckout.take`) it closes
#: unawaited, and Python warns of a coroutine never awaited: expected there, and only there.
REFUSED_CONNECT_WARNING: dict[str, Any] = {
    "message": "coroutine 'connect' was never awaited",
    "category": RuntimeWarning,
    "module": r"sqlalchemy\.util\.concurrency",
}
warnings.filterwarnings("ignore", **REFUSED_CONNECT_WARNING)


class PoolCheckout:
    """The engine's pooled connections for the driver's own transactions (`held`), taken and
    given back on the event loop, without the greenlet SQLAlchemy's async engine runs its
    pool in, when neither needs any I/O: an idle connection is taken as it is (no pre-ping,
    no reset), and one whose transaction has ended is given back with nothing to roll back.
    When the pool must connect (none idle, or the one taken is due for recycling) it runs in
    the greenlet as SQLAlchemy would: SQLAlchemy refuses the I/O outside one before it
    starts it (`MissingGreenlet`), having put back what it had taken."""

    __slots__ = ("_idle", "_pool")

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        #: How many idle connections the pool holds (a queue pool says; another, never).
        self._idle: Callable[[], int] = getattr(pool, "checkedin", lambda: 0)

    async def take(self) -> Any:
        if self._idle():
            try:
                return self._pool.connect()
            except MissingGreenlet:
                pass
        return await greenlet_spawn(self._pool.connect)

    async def give_back(self, held: Any, *, ended: bool) -> None:
        """`held` back to the pool; `ended`: its transaction ended cleanly, so the pool's
        reset has nothing to roll back (said as SQLAlchemy's own `Connection` says it, through
        `_close_special`; private, pinned 2.1), else the pool's own way, in the greenlet."""
        if ended and held.dbapi_connection is not None:
            held._close_special(transaction_reset=True)
        else:
            await greenlet_spawn(held.close)


class DriverReader:
    def __init__(
        self,
        pool: ReadPool | None,
        session_of: Callable[[], AsyncSession | None],
        make_session: Callable[[], AsyncSession] | None = None,
        checkout: PoolCheckout | None = None,
    ) -> None:
        self._pool = pool
        #: Takes connections out of the engine's pool and gives them back.
        self._checkout = checkout
        #: The pooled connection this reader checked out itself, for a transaction begun
        #: before the unit of work opened a session (`held`).
        self._held: Any = None
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
        #: SQLAlchemy's adapter of `_driver`, and the `info` of its pooled connection.
        self._adapted: Any = None
        self._info: dict[Any, Any] | None = None
        #: Deferred writes not sent yet, and the driver transaction they belong to.
        self._pending: list[Pending] = []
        self._pending_in: Any = None
        #: The driver transaction whose statements are planned generically (`plan_once`).
        self._generic_in: Any = None
        #: `plan_once` was asked before the transaction began: it begins with the setting.
        self._generic_at_begin = False

    @property
    def opened_session(self) -> AsyncSession | None:
        """The unit of work's session if it has opened one (None: not yet)."""
        return self._session_of()

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
                await self.send_pending()
                return await self.statement(driver, sql, *args)
            if self.in_held_transaction:
                await self.send_pending()
                return await self.statement(self._driver, sql, *args)
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
        await self.send_pending()
        return await self.statement(driver, sql, *args)

    async def plan_once(self) -> None:
        """The rest of the unit of work's transaction (begun now if it was not) is planned
        once per connection: PostgreSQL's generic plans, made at a statement's first run on
        the connection and reused, instead of a plan for each set of values.

        For a use case whose statements are all keyed reads and writes, written so that
        their plan does not depend on the values (each lookup by its key; a subquery fenced
        where a join could otherwise be hashed): placing an order. PostgreSQL keeps custom
        plans for statements that read an array of keys, and planning its reads each time
        cost more than running them (0.7 ms of the offers read's 0.95).

        A transaction the driver begins now begins with the setting, in the same round trip
        (`BEGIN; SET LOCAL ...`); one begun already gets it as one statement more, once per
        transaction (`plan_at_begin` avoids that when the wish is known earlier)."""
        self._generic_at_begin = True
        await self._begun_driver()  # a transaction begun now carries them
        self._generic_at_begin = False
        await self._plan_generically()

    def plan_at_begin(self) -> None:
        """`plan_once` for the transaction the driver begins next, with nothing sent now: an
        operation marked `planned_once` asks before its `Idempotency-Key` is claimed, so the
        claim's BEGIN carries the setting and the use case's `plan_once` finds it done."""
        self._generic_at_begin = True

    async def statement(self, driver: Any, sql: str, *args: Any) -> Sequence[Any]:
        """Every statement the reader sends in the unit of work's transaction goes here."""
        try:
            rows: Sequence[Any] = await driver.fetch(sql, *args)
        except _DRIVER_ERRORS as e:
            raise _translated(sql, args, e) from e
        return rows

    async def defer(
        self,
        parts: str | Sequence[str],
        *args: Any,
        key: Hashable | None = None,
        then: Then | None = None,
    ) -> None:
        """A write in the unit of work's transaction (begun now if it was not), sent with the
        next statement on its connection (see the module's docstring); `then` gets its rows
        once it is. A database error of a deferred write is raised by whatever sends it
        (at the latest the commit, which then does not happen)."""
        await self._begun_driver()
        if key is not None and any(p.key == key for p in self._pending):
            await self.send_pending()
        if not self._pending:
            self._pending_in = self._adapted._transaction
            assert self._info is not None
            self._info[PENDING_KEY] = self
        self._pending.append(
            Pending((parts,) if isinstance(parts, str) else tuple(parts), args, key, then)
        )

    async def send_pending(self) -> None:
        """Send the deferred writes now, as one statement; then their callbacks."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        assert self._info is not None
        self._info.pop(PENDING_KEY, None)
        if self._adapted._transaction is not self._pending_in:
            return  # their transaction ended (rolled back) without them: so are they
        sql, args = compose(pending)
        rows = await self.statement(self._driver, sql, *args)
        if len(pending) == 1 and len(pending[0].parts) == 1:
            if pending[0].then is not None:
                await pending[0].then(rows)
        else:
            by_part: dict[int, list[Mapping[str, Any]]] = {}
            for row in rows:
                by_part.setdefault(row["part"], []).append(row["row"])
            for i, p in enumerate(pending):
                if p.then is not None:
                    await p.then(by_part.get(i, []))
        # What the callbacks deferred in turn (a reservation's low-stock alerts) goes now:
        # whoever called this is about to run a statement that must come after it, or commit.
        await self.send_pending()

    def discard(self) -> None:
        """The transaction is being rolled back: what it deferred goes with it."""
        if self._pending:
            self._pending = []
            if self._info is not None:
                self._info.pop(PENDING_KEY, None)

    def wrote(self, session: AsyncSession) -> bool:
        """Whether statements of this reader's run in the session's current transaction
        (what it holds may be writes: ending it would lose them)."""
        if self._pending:
            return True
        if self.in_held_transaction:
            return True
        return self._begun and self._transaction is session.sync_session.get_transaction()

    async def _begun_driver(self) -> Any:
        assert self._pool is not None and self._make_session is not None
        if self._session_of() is None and self._checkout is not None:
            return await self._held_driver()
        session = self._make_session()
        sync = session.sync_session
        # The innermost transaction: a savepoint (`uow.savepoint()`) is emitted by SQLAlchemy
        # only when the session next asks for its connection, so a driver write inside one
        # asks first; otherwise rolling the savepoint back would not undo the write.
        current = sync.get_nested_transaction() or sync.get_transaction()
        if current is None or current is not self._current or not self._begun:
            conn = await session.connection()  # begins the transaction, or the savepoint
            self._info = conn.sync_connection.info  # type: ignore[union-attr]
            adapted: Any = _adapter(conn)
            # SQLAlchemy's asyncpg adapter sends BEGIN with the first statement it runs; a
            # driver statement may be the first, so it is sent here, the adapter's way (its
            # `_transaction` is what its commit and rollback then end; private, pinned 2.1).
            self._adapted = adapted
            self._driver = adapted.driver_connection
            self._transaction = sync.get_transaction()
            self._current = sync.get_nested_transaction() or self._transaction
            self._begun = True
            await self._begin()
        return self._driver

    async def _begin(self, then: str = "") -> str | None:
        """BEGIN on the adapter unless it has begun (the ORM may have), with the generic
        plans asked for before it (`plan_at_begin`, `plan_once`) and `then` (complete SQL,
        `begin_with`): in the same round trip when it is a plain BEGIN, else the plans as a
        statement of their own. The command status of `then`'s round trip."""
        adapted = self._adapted
        wanted, self._generic_at_begin = self._generic_at_begin, False
        if adapted._transaction is None:
            if (wanted or then) and _plain_begin(adapted):
                setting = f"SET LOCAL {_GENERIC_PLANS}; " if wanted else ""
                status = await _begin_with(adapted, f"{setting}{then}")
                if wanted:
                    self._generic_in = adapted._transaction
                return status
            await adapted._start_transaction()
        if wanted:
            await self._plan_generically()
        return None

    async def _plan_generically(self) -> None:
        if self._generic_in is self._adapted._transaction:
            return
        await self.send_pending()
        await self.statement(self._driver, f"SET LOCAL {_GENERIC_PLANS}")
        self._generic_in = self._adapted._transaction

    # -- a transaction before there is a session ----------------------------------------------
    #
    # A use case that writes through the driver alone (placing an order) never needs the
    # ORM's session: its transaction runs on a connection this reader checks out of the
    # engine's pool itself, begun and ended on SQLAlchemy's adapter as the session would,
    # without the session's own bookkeeping (its transaction objects, events and three
    # greenlets: ~0.4 M of an order's ~4 M instructions). Should the session be needed
    # after all, the unit of work opens it on this connection (`hand_over`), inside the
    # same transaction.

    @property
    def held(self) -> Any:
        """The pooled connection this reader checked out (None: none)."""
        return self._held

    @property
    def in_held_transaction(self) -> bool:
        return self._held is not None and self._adapted._transaction is not None

    async def begin_with(self, prepared: Prepared, literals: Sequence[str]) -> str | None:
        """Begin the unit of work's transaction with `prepared` run on `literals` in the same
        round trip (`BEGIN; [SET LOCAL ...;] EXECUTE name(...)`, one simple query), on a
        connection the reader holds: the statement's command status (`INSERT 0 1`), or None
        when the transaction has begun already or would not begin with a plain BEGIN
        (nothing was sent: run the statement with parameters instead). Each literal is one
        the caller has made safe.

        The statement is prepared (`PREPARE`, which a rollback does not undo) in the first
        such round trip on a connection; PostgreSQL then plans it once per connection. A
        connection where that round trip failed (whether the PREPARE ran is not known then)
        sends the statement in full from then on."""
        if self._pool is None or self._session_of() is not None or self._checkout is None:
            return None
        await self._check_out()
        if self._adapted._transaction is not None or not _plain_begin(self._adapted):
            return None
        assert self._info is not None
        kept: dict[str, bool] = self._info.setdefault(PREPARED_KEY, {})
        usable = kept.get(prepared.name)
        if usable is False:
            return await self._begin_held(prepared.inline(literals))
        run = prepared.execute(literals)
        kept[prepared.name] = False  # until this round trip has succeeded
        status = await self._begin_held(run if usable else f"{prepared.declaration}; {run}")
        kept[prepared.name] = True
        return status

    async def _check_out(self) -> None:
        if self._held is None:
            assert self._checkout is not None
            self._held = await self._checkout.take()
            self._adapted = self._held.dbapi_connection
            self._driver = self._adapted.driver_connection
            self._info = self._held.info

    async def _held_driver(self) -> Any:
        await self._check_out()
        if self._adapted._transaction is None:
            await self._begin_held()
        return self._driver

    async def _begin_held(self, then: str = "") -> str | None:
        """`_begin` on the held connection: a transaction of the driver's own."""
        status = await self._begin(then)
        self._begun = True
        self._transaction = self._current = None
        return status

    def hand_over(self) -> Any:
        """The held connection, for the session the unit of work opens on it now (None: the
        driver holds none, or its transaction has ended): from here on the session's
        connection owns it, and gives it back to the pool."""
        held = self._held
        if held is None:
            return None
        if self._adapted._transaction is None:  # ended: back to the pool, nothing to join
            self._held = None
            self._begun = False
            held.close()  # no transaction to end: nothing is sent
            return None
        self._held = None
        return held

    def joined(self, session: AsyncSession) -> None:
        """The session opened on the held connection has joined its transaction: the
        driver's statements run in the session's transaction from here on."""
        sync = session.sync_session
        self._transaction = self._current = sync.get_transaction()
        self._begun = True

    async def end_held(self, *, commit: bool) -> None:
        """Commit (or roll back) the held connection's transaction, and give it back to the
        pool; a connection that failed otherwise than by PostgreSQL's refusal (it broke, or
        the statement was cancelled midway) is not reused."""
        held = self._held
        if held is None:
            return
        self._held = None
        self._begun = False
        transaction, self._adapted._transaction = self._adapted._transaction, None
        assert self._checkout is not None
        ended = False
        try:
            if transaction is not None:
                await (transaction.commit() if commit else transaction.rollback())
            ended = True
        except BaseException as e:
            if not isinstance(e, asyncpg.PostgresError) or self._driver.is_closed():
                await greenlet_spawn(held.invalidate)
            if isinstance(e, _DRIVER_ERRORS):
                raise _translated("COMMIT" if commit else "ROLLBACK", (), e) from e
            raise
        finally:
            await self._checkout.give_back(held, ended=ended)

    async def _transaction_driver(self, session: AsyncSession) -> Any:
        # A transaction keeps its connection until it ends, so the driver connection is
        # looked up once per transaction (through SQLAlchemy it costs two greenlet switches).
        transaction = session.sync_session.get_transaction()
        if transaction is None or transaction is not self._transaction:
            conn = await session.connection()
            self._info = conn.sync_connection.info  # type: ignore[union-attr]
            self._adapted = _adapter(conn)
            self._driver = self._adapted.driver_connection
            self._transaction = session.sync_session.get_transaction()
            self._begun = False
        return self._driver


class OnSessionAndDriver:
    """A repository on the unit of work's session, made when a statement first needs it (a
    request the driver serves alone never opens one), and on its driver where there is one
    (PostgreSQL; `_driver` is None on SQLite)."""

    def __init__(
        self, session: Callable[[], AsyncSession], driver: DriverReader | None = None
    ) -> None:
        self._session = session
        self._driver = driver if driver is not None and driver.direct else None

    @property
    def s(self) -> AsyncSession:
        return self._session()
