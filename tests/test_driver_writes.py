"""Writes sent straight through the driver (PostgreSQL) belong to the unit of work's one
transaction: committed at its commit point with everything else, rolled back without it,
kept when the unit of work releases what it has only read, and undone with a savepoint."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables

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
