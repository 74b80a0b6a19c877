"""The async engine and session factory, configured per dialect."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.infra.db.driver import forget_pending, send_pending_before
from app.infra.db.mapping import map_domain


def make_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, custom_plans: bool = False
) -> AsyncEngine:
    """`custom_plans` (the worker's engine): PostgreSQL plans every prepared statement for
    its values instead of reusing a generic plan. The worker's queue queries are few and
    its tables swing from empty to large backlogs, where a generic plan made while they
    were small runs quadratic (10 000 pending deliveries: seconds per claim instead of ms)."""
    map_domain()
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    # No `pool_pre_ping`: with asyncpg it costs three round trips (BEGIN, `;`, ROLLBACK) at
    # every checkout, more than a typical read. A connection the server dropped fails its
    # statement once; SQLAlchemy then recognises the disconnect and invalidates the pool, and
    # `pool_recycle` retires connections before idle timeouts of proxies and firewalls.
    #
    # No overflow either: under sustained load, connections beyond the pool size were opened
    # and closed again request after request (a TLS-less connect is still ~1 ms of a worker's
    # CPU); waiting a moment for a pooled one is cheaper, and PostgreSQL gains nothing from
    # more concurrent statements than it has cores.
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        json_deserializer=orjson.loads,
        connect_args=(
            {"server_settings": {"plan_cache_mode": "force_custom_plan"}} if custom_plans else {}
        ),
    )
    # The driver's deferred writes go before any statement of SQLAlchemy's on their
    # connection, and never leave with it to the pool (`app/infra/db/driver.py`).
    event.listen(engine.sync_engine, "before_cursor_execute", send_pending_before)
    event.listen(engine.sync_engine.pool, "checkin", forget_pending)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Foreign keys on, WAL, and `BEGIN IMMEDIATE` so that writers queue instead of failing.

    SQLite allows one writer; a deferred transaction that read first and writes later fails
    with SQLITE_BUSY when another writer got in between. Taking the write lock at BEGIN makes
    the embedded database behave like row locks do on PostgreSQL for our use cases.

    `isolation_level = None` turns the driver's own transaction handling off (SQLAlchemy's
    documented pysqlite/aiosqlite workaround); without it `SAVEPOINT`, which the batches'
    per-item `uow.savepoint()` uses, would not nest in our transaction.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
