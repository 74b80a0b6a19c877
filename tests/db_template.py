"""One migration per test process: a database migrated to head once (by Alembic, as
`minishop migrate` does), copied for every fresh database the process needs after that.

Each xdist worker used to run the whole migration chain for its own database, again for every
module with a database of its own (`tests/own_database.py`), and once more, in a `migrate`
process, for every live server (`tests/live_server.py`): one run is a second or more of CPU,
and a few seconds of a loaded machine. The copy is what the migration made: on SQLite the file
(nothing holds it open: the migration's engine is disposed), on PostgreSQL
`CREATE DATABASE ... TEMPLATE` (the template is a database nobody connects to after its
migration). The chain itself is still run by `minishop migrate` where that is what a test is
about (`test_server_process`: migrate, seed-demo twice, serve), and `.ci/run` upgrades, checks,
downgrades and upgrades it again on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from app.infra.db.migrate import alembic_config

PG_URL = os.environ.get("MINISHOP_TEST_DATABASE_URL", "")

#: This process's templates, made on first use: a PostgreSQL database's name, a SQLite file.
_pg_template: str | None = None
_sqlite_template: Path | None = None


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def admin_exec(sql: str) -> None:
    """`sql` on the PostgreSQL server's maintenance database (`MINISHOP_TEST_DATABASE_URL`)."""
    u = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        database=u.database or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _upgrade(url: str) -> None:
    """What `app.infra.db.migrate.upgrade` does, called from here: a template may be made in
    the middle of a test (a live server's first start), and the guards of tests/conftest.py
    judge the statements that code of `app/` sends, not the migrations' own."""
    command.upgrade(alembic_config(url), "head")


def pg_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _pg() -> str:
    global _pg_template
    if _pg_template is None:
        name = f"minishop_tmpl_{uuid.uuid4().hex[:10]}_{_worker()}"
        asyncio.run(admin_exec(f'CREATE DATABASE "{name}"'))
        try:
            _upgrade(pg_url(name))
        except BaseException:
            asyncio.run(admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            raise
        _pg_template = name
    return _pg_template


def _sqlite() -> Path:
    global _sqlite_template
    if _sqlite_template is None:
        path = Path(tempfile.mkdtemp(prefix="minishop-template-")) / "template.db"
        _upgrade(f"sqlite+aiosqlite:///{path}")
        _sqlite_template = path
    return _sqlite_template


async def _create_from(template: str, name: str) -> None:
    # The migration's connections end as their engine is disposed; PostgreSQL may still be
    # closing one for a moment, and refuses to copy a database someone is connected to.
    for attempt in range(50):
        try:
            await admin_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        except asyncpg.ObjectInUseError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.1)


def create_pg_database(prefix: str) -> str:
    """A new PostgreSQL database migrated to head (a copy of the template): its URL. The caller
    drops it (`drop_pg_database`)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}_{_worker()}"
    asyncio.run(_create_from(_pg(), name))
    return pg_url(name)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def create_sqlite_database(path: Path) -> str:
    """A SQLite database at `path` migrated to head (a copy of the template): its URL. With
    PostgreSQL too, for the server processes that run on their default SQLite database."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite(), path)
    return f"sqlite+aiosqlite:///{path.resolve()}"


def drop_templates() -> None:
    """At the end of the session: the templates go."""
    global _pg_template, _sqlite_template
    if _pg_template is not None:
        asyncio.run(admin_exec(f'DROP DATABASE IF EXISTS "{_pg_template}" WITH (FORCE)'))
        _pg_template = None
    if _sqlite_template is not None:
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)
        _sqlite_template = None
