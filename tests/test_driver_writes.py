"""Writes sent straight through the driver (PostgreSQL) belong to the unit of work's one
transaction: committed at its commit point with everything else, rolled back without it,
kept when the unit of work releases what it has only read, and undone with a savepoint.

Deferred writes (`DriverReader.defer`) go together in one statement with whatever comes next
on the connection, never after a statement that should see them, and never outlive their
transaction."""

from __future__ import annotations

import secrets
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import cached_property
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.container import Container
from app.domain.clock import utcnow
from app.domain.errors import IntegrityConflict
from app.infra.db import driver as driver_module
from app.infra.db import tables
from app.infra.db.driver import (
    PREPARED_KEY,
    DriverReader,
    Exists,
    PoolCheckout,
    Prepared,
    ReadPool,
)
from app.infra.db.engine import make_engine
from app.infra.db.repositories.buyers import live_buyer_family
from app.infra.db.uow import SqlUnitOfWork
from app.infra.idempotency import _PREPARED_CLAIM, _claim_literals
from app.settings import Settings
from tests import factories as f
from tests.order_support import on_sale, place

_t = tables.timers


async def _keys(container: Container, kind: str) -> set[str]:
    async with container.engine.connect() as conn:
        return set((await conn.execute(sa.select(_t.c.key).where(_t.c.kind == kind))).scalars())


async def test_driver_writes_commit_and_roll_back_with_the_unit_of_work(
    container: Container, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    kind = f"test.driver_{secrets.token_hex(4)}"  # no worker handles it
    due = utcnow() + timedelta(days=1)
    try:
        async with container.uow() as uow:
            assert uow.driver is not None
            await uow.timers.schedule(kind, "committed", due)  # the first statement: BEGIN
            await uow.release()  # a write is held: release must not end the transaction
            async with uow.savepoint():
                await uow.timers.schedule(kind, "in-savepoint", due)
            with pytest.raises(RuntimeError):
                async with uow.savepoint():
                    await uow.timers.schedule(kind, "savepoint-undone", due)
                    raise RuntimeError("undo this block")
            await uow.commit()
        async with container.uow() as uow:
            await uow.timers.schedule(kind, "never-committed", due)
        assert await _keys(container, kind) == {"committed", "in-savepoint"}
    finally:
        async with container.engine.begin() as conn:
            await conn.execute(sa.delete(_t).where(_t.c.kind == kind))


# --- deferred writes ---------------------------------------------------------------------------


class _Sent:
    """The statements the driver sends in transactions, while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql: list[str] = []
        statement = DriverReader.statement

        async def spy(reader: DriverReader, driver: Any, sql: str, *args: Any) -> Any:
            self.sql.append(sql)
            return await statement(reader, driver, sql, *args)

        monkeypatch.setattr(DriverReader, "statement", spy)


class _Begun:
    """What the driver sends after BEGIN in the round trip that begins a transaction
    (`_begin_with`), while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rest: list[str] = []
        original = driver_module._begin_with

        async def spy(adapted: Any, rest: str) -> str:
            self.rest.append(rest)
            return await original(adapted, rest)

        monkeypatch.setattr(driver_module, "_begin_with", spy)


_cleanups: list[tuple[Container, str]] = []


@pytest.fixture
def deferring(container: Container, is_postgres: bool) -> str:
    """A timer kind of the test's own (no worker handles it), its timers deleted after."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    kind = f"test.deferred_{secrets.token_hex(4)}"
    _cleanups.append((container, kind))
    return kind


@pytest.fixture(autouse=True)
async def _clean_kinds() -> AsyncIterator[None]:
    yield
    while _cleanups:
        container, kind = _cleanups.pop()
        async with container.engine.begin() as conn:
            await conn.execute(sa.delete(_t).where(_t.c.kind == kind))


async def test_deferred_writes_go_together_with_the_commit(
    container: Container, deferring: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = utcnow() + timedelta(days=1)
    async with container.uow() as uow:
        await uow.timers.schedule(deferring, "a", due)  # BEGIN only: nothing sent yet
        sent = _Sent(monkeypatch)
        await uow.timers.schedule(deferring, "b", due)
        await uow.timers.schedule(deferring, "c", due)
        assert sent.sql == []
        assert await _keys(container, deferring) == set()  # not even sent
        await uow.commit()
    assert len(sent.sql) == 1 and sent.sql[0].startswith("WITH w0_0 AS")
    assert await _keys(container, deferring) == {"a", "b", "c"}


async def test_what_runs_next_sees_the_deferred_writes(
    container: Container, deferring: str
) -> None:
    """The driver's next read, and a statement of the ORM's, each send them first."""
    due = utcnow() + timedelta(days=1)
    count = sa.select(sa.func.count()).select_from(_t).where(_t.c.kind == deferring)
    async with container.uow() as uow:
        assert uow.driver is not None
        await uow.timers.schedule(deferring, "a", due)
        assert (await uow.session.execute(count)).scalar_one() == 1  # SQLAlchemy's statement
        await uow.timers.schedule(deferring, "b", due)
        rows = await uow.driver.fetch(
            "SELECT count(*) FROM timers WHERE kind = $1", deferring
        )  # the driver's own
        assert rows[0][0] == 2
        await uow.timers.schedule(deferring, "c", due)
        await uow.timers.cancel(deferring, "c")  # an ORM statement after it: in order
        await uow.commit()
    assert await _keys(container, deferring) == {"a", "b"}


async def test_a_rollback_drops_the_deferred_writes_and_the_pool_forgets_them(
    container: Container, deferring: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = utcnow() + timedelta(days=1)
    async with container.uow() as uow:
        await uow.timers.schedule(deferring, "dropped", due)
        await uow.rollback()
    async with container.uow() as uow:
        await uow.timers.schedule(deferring, "abandoned", due)  # never committed
    sent = _Sent(monkeypatch)
    for _ in range(container.settings.db_pool_size + 1):  # every pooled connection again
        async with container.uow() as uow:
            await uow.session.execute(sa.select(sa.literal(1)))
            await uow.commit()
    assert sent.sql == []  # no connection brought another transaction's writes with it
    assert await _keys(container, deferring) == set()


async def test_a_savepoint_keeps_what_came_before_and_undoes_its_own(
    container: Container, deferring: str
) -> None:
    due = utcnow() + timedelta(days=1)
    async with container.uow() as uow:
        await uow.timers.schedule(deferring, "before", due)
        with pytest.raises(RuntimeError):
            async with uow.savepoint():
                await uow.timers.schedule(deferring, "inside", due)
                raise RuntimeError("undo this block")
        await uow.timers.schedule(deferring, "after", due)
        await uow.commit()
    assert await _keys(container, deferring) == {"before", "after"}


async def test_a_deferred_write_that_fails_fails_the_commit(
    container: Container, deferring: str
) -> None:
    due = utcnow() + timedelta(days=1)
    async with container.uow() as uow:
        await uow.timers.schedule(deferring, "kept-out", due)
        assert uow.driver is not None
        await uow.driver.defer(
            "INSERT INTO timers (id, kind, key, due_at, payload, status, attempts, created_at,"
            " updated_at) VALUES (NULL, $1, 'x', now(), '{}', 'pending', 0, now(), now())",
            deferring,
        )
        with pytest.raises(IntegrityConflict):
            await uow.commit()
    assert await _keys(container, deferring) == set()


async def test_two_writes_of_one_row_are_not_sent_in_one_statement(
    container: Container, deferring: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same timer twice (its key): the first is sent before the second is held, as one
    statement may not change a row twice."""
    async with container.uow() as uow:
        await uow.timers.schedule(deferring, "k", utcnow() + timedelta(days=2))
        sent = _Sent(monkeypatch)
        await uow.timers.schedule(deferring, "k", utcnow() + timedelta(days=1), {"n": 2})
        assert len(sent.sql) == 1
        await uow.commit()
    async with container.engine.connect() as conn:
        row = (await conn.execute(sa.select(_t).where(_t.c.kind == deferring))).one()
    assert row.payload == {"n": 2}


# --- planned once ------------------------------------------------------------------------------


async def test_plan_once_holds_for_its_transaction_alone(
    container: Container, is_postgres: bool
) -> None:
    """`plan_once` (placing an order's reads and writes): generic plans for the rest of the
    transaction, sent once, gone with it; the connection's next transaction plans as before."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    mode = "SELECT current_setting('plan_cache_mode')"
    async with container.uow() as uow:
        driver = uow.driver
        assert driver is not None
        await driver.plan_once()
        await driver.plan_once()  # once per transaction: nothing more is sent
        assert (await driver.fetchrow(mode))[0] == "force_generic_plan"
        await uow.commit()
    async with container.uow() as uow:
        driver = uow.driver
        assert driver is not None
        await driver.write("SELECT 1")  # a transaction of its own
        assert (await driver.fetchrow(mode))[0] == "auto"
        await uow.rollback()


async def test_plan_once_begins_a_transaction_with_its_setting_in_one_round_trip(
    container: Container, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offers read asks for generic plans before it runs: the transaction it begins
    carries the setting from its BEGIN (no statement of its own), and the read runs in it."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    sent = _Sent(monkeypatch).sql
    async with container.uow() as uow:
        assert uow.orders is not None and uow.driver is not None
        await uow.orders.offers("shop_none", ["sku_none"])
        assert (await uow.driver.fetchrow(_MODE))[0] == "force_generic_plan"
        assert uow.session.in_transaction()
        await uow.rollback()
    assert "FROM shops sh" in sent[0]
    assert not any("SET LOCAL" in x for x in sent)


async def test_plan_at_begin_goes_with_the_begin_of_the_next_transaction(
    container: Container, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked before anything runs (an operation marked `planned_once`): nothing is sent then;
    the next transaction the driver begins carries it, and `plan_once` in it sends nothing."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    sent = _Sent(monkeypatch).sql
    async with container.uow() as uow:
        driver = uow.driver
        assert driver is not None
        driver.plan_at_begin()
        assert "session" not in uow.__dict__  # nothing opened, nothing sent
        await driver.write("SELECT 1")
        await driver.plan_once()
        assert (await driver.fetchrow(_MODE))[0] == "force_generic_plan"
        await uow.commit()
    assert not any("SET LOCAL" in x for x in sent)
    async with container.uow() as uow:  # the next unit of work plans as before
        assert uow.driver is not None
        await uow.driver.write("SELECT 1")
        assert (await uow.driver.fetchrow(_MODE))[0] == "auto"
        await uow.rollback()


async def test_plan_at_begin_holds_when_the_orm_began_the_transaction(
    container: Container, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ORM began the transaction first: the setting goes as a statement of its own with
    the driver's first statement, once."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    sent = _Sent(monkeypatch).sql
    async with container.uow() as uow:
        driver = uow.driver
        assert driver is not None
        driver.plan_at_begin()
        await uow.session.execute(sa.text("SELECT 1"))
        await driver.write("SELECT 2")
        await driver.plan_once()
        assert (await driver.fetchrow(_MODE))[0] == "force_generic_plan"
        await uow.rollback()
    assert [x for x in sent if "SET LOCAL" in x] == [
        "SET LOCAL plan_cache_mode = force_generic_plan"
    ]


async def test_a_transaction_begun_with_its_setting_commits_and_rolls_back(
    container: Container, is_postgres: bool
) -> None:
    """SQLAlchemy's adapter ends a transaction the driver began with its setting as its own:
    committed, the write is there; rolled back, it is not."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    kind = f"test.driver_{secrets.token_hex(4)}"  # no worker handles it
    due = utcnow() + timedelta(days=1)
    try:
        for keep in (True, False):
            async with container.uow() as uow:
                assert uow.driver is not None
                await uow.driver.plan_once()
                await uow.timers.schedule(kind, str(keep), due)
                await uow.flush()  # sent in the transaction
                if keep:
                    await uow.commit()
                else:
                    await uow.rollback()
        assert await _keys(container, kind) == {"True"}
    finally:
        async with container.engine.begin() as conn:
            await conn.execute(sa.delete(_t).where(_t.c.kind == kind))


async def test_placing_an_order_claims_its_key_in_a_transaction_begun_with_its_plans(
    client: Any, container: Container, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`POST /v1/storefront/orders` is marked `planned_once`: its key's claim begins the
    transaction with generic plans, in the round trip of its BEGIN, and no statement of the
    request sets them again. The claim holds only under the buyer's login being live, which
    no statement of the request reads again."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    shop = await on_sale(client, container)
    b = await f.buyer(client)
    begun = _Begun(monkeypatch).rest
    sent = _Sent(monkeypatch).sql
    if not (await b.client.get("/v1/storefront/addresses", headers=b.h)).json()["data"]:
        await f.buyer_address(b)
    sessions: list[SqlUnitOfWork] = []
    opened = SqlUnitOfWork.__dict__["session"]

    def session(uow: SqlUnitOfWork) -> AsyncSession:
        sessions.append(uow)
        return opened.func(uow)  # type: ignore[no-any-return]

    monkeypatch.setattr(SqlUnitOfWork, "session", cached_property(session))
    SqlUnitOfWork.session.__set_name__(SqlUnitOfWork, "session")  # type: ignore[attr-defined]
    pooled: list[str] = []
    pool_fetch = ReadPool.fetch

    async def spied(pool: ReadPool, sql: str, *args: Any) -> Any:
        pooled.append(sql)
        return await pool_fetch(pool, sql, *args)

    monkeypatch.setattr(ReadPool, "fetch", spied)
    r = await place(b, shop, 1, 1)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == 10 and len(order["lines"]) == 2
    [rest] = begun
    assert rest.startswith("SET LOCAL plan_cache_mode = force_generic_plan; ")
    # The claim, prepared on the connection, under the buyer's login being live.
    assert "minishop_idempotency_claim_buyer_family(" in rest
    assert not any("SET LOCAL" in x or "idempotency_keys (" in x for x in sent)
    assert not any("buyer_token_families" in x for x in sent + pooled)
    # The driver served it alone: the ORM's session was never opened.
    assert sessions == []


async def test_a_claim_written_as_literals_keeps_what_the_client_sent(
    container: Container, is_postgres: bool
) -> None:
    """The claim that goes with BEGIN carries its values as literals: a path with quotes,
    a backslash, a statement of its own and characters beyond ASCII is stored as it came,
    and nothing else runs; a value that could not be one of ours is refused."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    hostile = "/v1/x/a'b\\c'); DELETE FROM idempotency_keys; --/é\u2028$1"
    key, digest = secrets.token_hex(32), secrets.token_hex(32)
    now = utcnow()
    sql = _PREPARED_CLAIM.inline(
        _claim_literals(
            key, digest, "POST", hostile, now, now + timedelta(seconds=60), now + timedelta(days=1)
        )
    )
    async with container.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        before = await driver.fetchval("SELECT count(*) FROM idempotency_keys")
        try:
            assert await driver.execute(f"BEGIN; {sql}") == "INSERT 0 1"
            row = await driver.fetchrow(
                "SELECT path, request_hash, method, created_at FROM idempotency_keys"
                " WHERE scope_key = $1",
                key,
            )
            assert (row["path"], row["request_hash"], row["method"]) == (hostile, digest, "POST")
            assert row["created_at"] == now
            assert await driver.execute(sql) == "INSERT 0 0"  # held, not expired: not taken
            assert await driver.fetchval("SELECT count(*) FROM idempotency_keys") == before + 1
        finally:
            await driver.execute("ROLLBACK")
    for bad in (("k" * 64, digest, "POST"), (key, digest, "POST'"), (key, digest[:-1], "PUT")):
        with pytest.raises(ValueError):
            _claim_literals(*bad, "/", now, now, now)


async def test_a_statement_begun_with_is_prepared_once_per_connection(
    container: Container, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`begin_with(prepared, literals)`: the first round trip on a connection prepares the
    statement and runs it; later ones only name it; a connection where such a round trip
    failed sends the statement in full from then on (a failure leaves unknown whether the
    PREPARE ran, and a rollback does not undo one)."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    sent = _Begun(monkeypatch).rest
    statement = Prepared(f"minishop_test_{secrets.token_hex(4)}", "int", "SELECT $1 + 1")

    async def run(argument: str) -> dict[str, bool]:
        async with container.uow() as uow:
            assert uow.driver is not None
            status = await uow.driver.begin_with(statement, [argument])
            assert status == "SELECT 1"
            kept: dict[str, bool] = uow.driver._info[PREPARED_KEY]  # type: ignore[index]
            return kept

    first = await run("7")
    name = statement.name
    assert sent[-1] == f"PREPARE {name} (int) AS SELECT $1 + 1; EXECUTE {name}(7)"
    assert first[statement.name] is True
    for _ in range(30):  # the pool hands its connections out in turn: back to the first
        if await run("7") is first:
            break
    assert sent[-1] == f"EXECUTE {statement.name}(7)"
    async with container.uow() as uow:
        assert uow.driver is not None
        with pytest.raises(Exception, match="division by zero"):
            await uow.driver.begin_with(statement, ["1/0"])
        failed: dict[str, bool] = uow.driver._info[PREPARED_KEY]  # type: ignore[index]
    assert failed[statement.name] is False
    for _ in range(30):
        if await run("7") is failed:
            break
    assert sent[-1] == "SELECT 7 + 1"  # that connection sends the statement in full
    assert failed[statement.name] is False


_MODE = "SELECT current_setting('plan_cache_mode')"


# --- the driver's transaction before there is a session ------------------------------------------


async def _timer_keys_in(uow: Any, kind: str) -> set[str]:
    rows = await uow.session.execute(sa.select(_t.c.key).where(_t.c.kind == kind))
    return set(rows.scalars())


async def test_a_use_case_of_driver_writes_alone_opens_no_session(
    container: Container, deferring: str
) -> None:
    """Its transaction runs on a connection the driver checked out itself: committed or
    rolled back at the unit of work's commit point, the connection back in the pool."""
    pool = container.engine.sync_engine.pool
    out_before = pool.checkedout()  # type: ignore[attr-defined]
    due = utcnow() + timedelta(days=1)
    for keep in (True, False):
        async with container.uow() as uow:
            await uow.timers.schedule(deferring, f"alone-{keep}", due)
            await uow.flush()
            assert uow.driver is not None and uow.driver.held is not None
            if keep:
                await uow.commit()
            # else: left without a commit, as a failed request is
            assert "session" not in uow.__dict__
    assert await _keys(container, deferring) == {"alone-True"}
    assert pool.checkedout() == out_before  # type: ignore[attr-defined]


async def test_a_session_opened_after_the_driver_began_joins_its_transaction(
    container: Container, deferring: str
) -> None:
    """The ORM sees what the driver wrote before it (one transaction, one connection), a
    savepoint inside it undoes only its own, and the commit point commits both."""
    pool = container.engine.sync_engine.pool
    out_before = pool.checkedout()  # type: ignore[attr-defined]
    due = utcnow() + timedelta(days=1)
    for keep in (True, False):
        async with container.uow() as uow:
            await uow.timers.schedule(deferring, f"driver-{keep}", due)
            await uow.flush()
            assert f"driver-{keep}" in await _timer_keys_in(uow, deferring)
            assert uow.driver is not None and uow.driver.held is None  # handed over
            with pytest.raises(RuntimeError):
                async with uow.savepoint():
                    await uow.timers.schedule(deferring, "undone", due)
                    raise RuntimeError("undo this block")
            await uow.timers.schedule(deferring, f"after-{keep}", due)
            if keep:
                await uow.commit()
            else:
                await uow.rollback()
    assert await _keys(container, deferring) == {"driver-True", "after-True"}
    assert pool.checkedout() == out_before  # type: ignore[attr-defined]


async def test_pooled_connections_come_and_go_without_a_greenlet_unless_the_pool_connects(
    settings: Settings, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle connection is taken, and one whose transaction ended given back, on the event
    loop; connecting (none idle, or the idle one's connection is gone) runs in SQLAlchemy's
    greenlet, after SQLAlchemy refused it outside one and put back what it had taken."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    spawned: list[str] = []
    spawn = driver_module.greenlet_spawn

    async def counted(fn: Any, *args: Any) -> Any:
        spawned.append(getattr(fn, "__name__", "?"))
        return await spawn(fn, *args)

    monkeypatch.setattr(driver_module, "greenlet_spawn", counted)
    engine = make_engine(settings.database_url, pool_size=1)
    pool: Any = engine.sync_engine.pool
    checkout = PoolCheckout(pool)

    async def works(held: Any) -> None:
        assert await held.dbapi_connection.driver_connection.fetchval("SELECT 1") == 1

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # but what the driver expects, and only that
            warnings.filterwarnings("ignore", **driver_module.REFUSED_CONNECT_WARNING)
            first = await checkout.take()  # nothing idle yet: the pool connects
            await works(first)
            assert spawned == ["connect"]
            connection = first.dbapi_connection
            await checkout.give_back(first, ended=True)
            again = await checkout.take()
            assert again.dbapi_connection is connection and spawned == ["connect"]
            await works(again)
            await spawn(again.invalidate)  # it broke: given back without its connection
            await checkout.give_back(again, ended=False)
            assert spawned == ["connect", "close"] and pool.checkedin() == 1
            third = await checkout.take()  # idle, but it must connect: in the greenlet
            await works(third)
            assert spawned == ["connect", "close", "connect"]
            await checkout.give_back(third, ended=True)
            assert pool.checkedout() == 0 and pool.checkedin() == 1
            assert [str(w.message) for w in caught] == []
    finally:
        await engine.dispose()


async def test_a_claim_under_a_condition_holds_only_under_it(
    container: Container, is_postgres: bool
) -> None:
    """In the round trip that begins the transaction (literals) or as a statement of its own
    once it has begun (parameters): claimed when the condition holds, else `refused` and
    nothing written — for a key that exists too, whose row is then not read. The buyer's
    condition takes any text as a literal safely."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    store = container.idempotency
    keys = tables.idempotency_keys

    def condition(holds: bool) -> Exists:
        literal = "TRUE" if holds else "FALSE"
        return Exists("test_holds", "boolean", "SELECT 1 WHERE $1", (holds,), (literal,))

    async def stored(scope_key: str) -> int:
        async with container.engine.connect() as conn:
            count = sa.select(sa.func.count()).where(keys.c.scope_key == scope_key)
            return int(await conn.scalar(count) or 0)

    async def claim(scope_key: str, under: Exists, begun_first: bool) -> str:
        async with container.uow() as uow:
            assert uow.driver is not None
            if begun_first:
                await uow.driver.write("SELECT 1")  # the claim is then a statement of its own
            claimed = await store.claim(uow, scope_key, "ab" * 32, "POST", "/x", under)
            if claimed.outcome == "new":
                await store.complete(uow, scope_key, ("ab" * 32, "POST", "/x"), 201, {}, b"{}")
                await uow.commit()
            return claimed.outcome

    for begun_first in (False, True):
        kept, never = secrets.token_hex(32), secrets.token_hex(32)
        assert await claim(kept, condition(True), begun_first) == "new"
        assert await claim(kept, condition(True), begun_first) == "replay"
        assert await claim(kept, condition(False), begun_first) == "refused"
        assert await claim(never, condition(False), begun_first) == "refused"
        assert (await stored(kept), await stored(never)) == (1, 0)
    hostile = "fam'); DELETE FROM idempotency_keys; --\\é"
    before = await stored(kept)
    assert await claim(secrets.token_hex(32), live_buyer_family(hostile, hostile), False) == (
        "refused"
    )
    assert await stored(kept) == before
