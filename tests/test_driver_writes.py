"""Writes sent straight through the driver (PostgreSQL) belong to the unit of work's one
transaction: committed at its commit point with everything else, rolled back without it,
kept when the unit of work releases what it has only read, and undone with a savepoint.

Deferred writes (`DriverReader.defer`) go together in one statement with whatever comes next
on the connection, never after a statement that should see them, and never outlive their
transaction."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.domain.errors import IntegrityConflict
from app.infra.db import tables
from app.infra.db.driver import DriverReader

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


async def test_placing_an_order_plans_its_statements_once(
    container: Container, is_postgres: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offers read asks for generic plans before it runs, in the order's transaction."""
    if not is_postgres:
        pytest.skip("the driver's path exists on PostgreSQL only")
    sent: list[str] = []
    original = DriverReader.statement

    async def spy(self: DriverReader, driver: Any, sql: str, *args: Any) -> Any:
        sent.append(sql)
        return await original(self, driver, sql, *args)

    monkeypatch.setattr(DriverReader, "statement", spy)
    async with container.uow() as uow:
        assert uow.orders is not None
        await uow.orders.offers("shop_none", ["sku_none"])
        await uow.rollback()
    assert sent[0] == "SET LOCAL plan_cache_mode = force_generic_plan"
    assert "FROM shops sh" in sent[1]
