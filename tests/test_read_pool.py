"""The PostgreSQL read pool: bounded, shared fairly, and whole again after failures."""

from __future__ import annotations

import asyncio

import pytest

from app.container import Container
from app.infra.db.driver import ReadPool


@pytest.fixture
async def pool(container: Container, is_postgres: bool) -> ReadPool:
    if not is_postgres:
        pytest.skip("the read pool exists on PostgreSQL only")
    return ReadPool(container.settings.database_url, 2)


async def test_more_readers_than_connections_all_get_their_rows(pool: ReadPool) -> None:
    try:
        rows = await asyncio.gather(*(pool.fetch("SELECT $1::int", i) for i in range(20)))
        assert [r[0][0] for r in rows] == list(range(20))
        assert pool._count <= 2
    finally:
        await pool.close()


async def test_a_failed_or_cancelled_statement_leaves_the_pool_usable(pool: ReadPool) -> None:
    try:
        with pytest.raises(Exception, match="division by zero"):
            await pool.fetch("SELECT 1 / $1::int", 0)
        slow = asyncio.ensure_future(pool.fetch("SELECT pg_sleep(5)"))
        async with asyncio.timeout(60):  # until the server runs it: the cancel hits mid-statement
            while not await pool.fetch(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND query = $1",
                "SELECT pg_sleep(5)",
            ):
                await asyncio.sleep(0.02)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # The cancelled statement's connection was closed, not handed on half-way.
        rows = await asyncio.gather(*(pool.fetch("SELECT $1::int", i) for i in range(4)))
        assert [r[0][0] for r in rows] == [0, 1, 2, 3]
        assert pool._count <= 2
    finally:
        await pool.close()
