"""A database of a test module's own, for the modules whose tests start worker processes.

The xdist worker's database is shared with every test that ran before on it, and those leave
work behind on purpose: bulk jobs queued and never run, events not fanned out, deliveries
pending to receivers long gone, due timers. A worker process started by a later test takes
all of it up along with the test's own, and that test then waits on work that is not its
own (a 120 s wait for an import still queued behind others' jobs failed CI once).

In such a module::

    database_url, is_postgres, settings, container, app = own_database()

and the conftest's `client`, `new_client` and every fixture built on these use the module's
database; the module's tests run one after another on it (`--dist loadfile`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI

from app.container import Container, build_container
from app.main import create_app
from app.settings import Settings
from tests.conftest import _fresh_database, _test_settings


def own_database() -> tuple[Any, Any, Any, Any, Any]:
    """Module-scoped `database_url`, `is_postgres`, `settings`, `container` and `app`
    fixtures over a new database migrated to head (dropped after, on PostgreSQL)."""

    def is_postgres(database_url: str) -> bool:
        return database_url.startswith("postgresql")

    def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
        return _test_settings(database_url, tmp_path_factory)

    async def container(settings: Settings) -> AsyncIterator[Container]:
        c = build_container(settings)
        yield c
        await c.close()

    def app(container: Container) -> FastAPI:
        from tests.problem_codes_plugin import observe

        return observe(create_app(container=container))

    module = pytest.fixture(scope="module")
    return (
        module(_fresh_database),
        module(is_postgres),
        module(settings),
        module(container),
        module(app),
    )
