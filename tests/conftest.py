"""Test fixtures: a real database per xdist worker, migrated by Alembic (once per process, then
copied: `tests/db_template.py`), and the real app.

`MINISHOP_TEST_DATABASE_URL` picks PostgreSQL (a fresh database is created per worker and
dropped at the end); without it each worker gets a fresh SQLite file. Tests never share
rows: every test creates its own accounts and shops through the API (see `tests/factories.py`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.container import Container, build_container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.infra.db.driver import DriverReader
from app.infra.db.tenancy import CROSS_SHOP
from app.main import create_app
from app.settings import Settings
from tests import db_template, xdist_units
from tests.funds_support import check_books
from tests.live_server import LiveServer, live_server
from tests.stock_guard import stock_writes
from tests.tenancy_guard import Guard, dialect_of, issued_by_app

pytest_plugins = ["tests.outbox_plugin", "tests.problem_codes_plugin"]

PG_URL = os.environ.get("MINISHOP_TEST_DATABASE_URL", "")

# No timed tests: Hypothesis' per-example deadline (200 ms) is one, and a loaded CI machine
# missed it on a pure rule's property test. The examples still run, their count unchanged.
hypothesis.settings.register_profile("minishop", deadline=None)
hypothesis.settings.load_profile("minishop")


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` over tests/xdist_units.py's units: whole modules, a group's together."""
    if config.getvalue("dist") != "loadfile":
        return None
    return xdist_units.scheduler(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest units first (tests/xdist_units.py), each whole and in its own order; the
    rest as collected."""
    items.sort(key=lambda item: xdist_units.rank(item.nodeid))


#: The running demo server and what stops it (`demo_server`).
_demo: tuple[LiveServer, ExitStack] | None = None


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    """The demo, served as `make run` serves it: `seed-demo` and `serve` told the port by
    `--port` alone (no `PORT`, no public base URL). One for the modules of the `DEMO_SERVER`
    group (tests/xdist_units.py), which run on one worker, one after another, and only read
    the demo or add grants and tokens of their own: each started a server of its own (seconds
    of CPU each, and the first request for the document builds it, another second). Started
    by the group's first test, stopped after its last (`pytest_runtest_teardown`), so that
    its connections to PostgreSQL are not held through the rest of the session (and started
    again should another of the group's tests come later, as with `--dist load`)."""
    global _demo
    if _demo is None:
        stack = ExitStack()
        server = stack.enter_context(live_server(tmp_path_factory, port_from_cli=True))
        _demo = server, stack
        assert not server.base_url.endswith(":8000")
    return _demo[0]


def _stop_demo() -> None:
    global _demo
    if _demo is not None:
        _demo, (_, stack) = None, _demo
        stack.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    try:
        return (yield)
    finally:
        group = xdist_units.DEMO_SERVER
        if nextitem is None or xdist_units.unit(nextitem.nodeid) != group:
            _stop_demo()


def _fresh_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new database migrated to head: a copy of the process's template, migrated once
    (`tests/db_template.py`). PostgreSQL: created, and dropped after."""
    if PG_URL:
        url = db_template.create_pg_database("minishop_test")
        yield url
        db_template.drop_pg_database(url)
    else:
        yield db_template.create_sqlite_database(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session", autouse=True)
def _database_template() -> Iterator[None]:
    """The templates fresh databases are copied from go at the end of the session (and the
    demo server, if a stopped run left it up)."""
    yield
    _stop_demo()
    db_template.drop_templates()


database_url = pytest.fixture(scope="session")(_fresh_database)


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


def _test_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var_dir: Path = tmp_path_factory.mktemp("var")
    return Settings(
        env="test",
        var_dir=var_dir,
        database_url=database_url,
        max_body_bytes=64 * 1024,
        login_attempts_per_account=5,
        login_attempts_per_ip=20,
        login_window_seconds=60,
        # Tests sign up many accounts, several through one client (one address), and a
        # loaded machine may queue for a hash slot: the limits are tested on their own.
        registrations_per_ip=10_000,
        password_hash_wait_seconds=60,
        # Cheap argon2 parameters: every test user hashes and checks a password. The
        # production parameters are asserted once (tests/unit/test_password_profile.py).
        password_hash_profile="fast",
        # Receivers are real HTTP servers on loopback; retries come fast.
        webhook_allow_private=True,
        webhook_allowed_ports="1024-65535",  # receivers listen on ephemeral ports
        webhook_retry_schedule="0.05,0.05,0.05",
        webhook_timeout_seconds=2.0,
        # Tests queue jobs they never run, many per shop; test_bulk_quotas sets its own limit.
        bulk_max_pending_jobs=1000,
    )


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _test_settings(database_url, tmp_path_factory)


@pytest.fixture(scope="session")
async def container(settings: Settings) -> AsyncIterator[Container]:
    c = build_container(settings)
    yield c
    await c.close()


@pytest.fixture(scope="session")
def app(container: Container):  # type: ignore[no-untyped-def]
    from tests.problem_codes_plugin import observe  # loaded by `pytest_plugins` first

    return observe(create_app(container=container))


def random_ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A fresh browser-like client (own cookie jar, own IP)."""
    transport = httpx.ASGITransport(app=app, client=(random_ip(), 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def new_client(app) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """Make more independent clients inside one test (several users at once)."""
    made: list[httpx.AsyncClient] = []

    def make(ip: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip or random_ip(), 50000))
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        made.append(c)
        return c

    yield make
    for c in made:
        await c.aclose()


#: The tenancy guard (tests/tenancy_guard.py), for every test: a statement on a tenant table
#: without a shop_id predicate fails the test that sent it.
_tenancy = Guard()
#: The stock guard (tests/stock_guard.py), for every test: the application's statements that
#: write an existing SKU's stock outside the stock path.
_stock_bypasses: list[str] = []


def _check_stock(sql: str) -> None:
    if "stock" in sql and "untagged" in stock_writes(sql) and issued_by_app():
        _stock_bypasses.append("stock written outside the stock path: " + " ".join(sql.split()))


def _guard_statement(
    conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool
) -> None:
    reason = context.execution_options.get(CROSS_SHOP) if context is not None else None
    _tenancy.check(sql, dialect_of(conn), reason)
    _check_stock(sql)


@pytest.fixture(scope="session", autouse=True)
def tenancy_guard() -> Iterator[Guard]:
    event.listen(Engine, "before_cursor_execute", _guard_statement)
    # Every statement the driver sends: outside a transaction (`fetch` to the read pool) and
    # in one (`statement`: reads, writes, and deferred writes as they are sent, composed).
    originals = {name: getattr(DriverReader, name) for name in ("fetch", "statement")}
    fetch, statement = originals["fetch"], originals["statement"]

    def checked_sql(sql: str) -> None:
        _tenancy.check(sql, "postgres")
        _check_stock(sql)

    async def checked_fetch(self: DriverReader, sql: str, *args: Any) -> Any:
        checked_sql(sql)
        return await fetch(self, sql, *args)

    async def checked_statement(self: DriverReader, driver: Any, sql: str, *args: Any) -> Any:
        checked_sql(sql)
        return await statement(self, driver, sql, *args)

    DriverReader.fetch = checked_fetch  # type: ignore[method-assign]
    DriverReader.statement = checked_statement  # type: ignore[method-assign]
    try:
        yield _tenancy
    finally:
        for name, original in originals.items():
            setattr(DriverReader, name, original)
        event.remove(Engine, "before_cursor_execute", _guard_statement)


#: Timers whose firing reaches past the test that scheduled them: the sandbox gateway's
#: notifications (a refund still pending when its test ended would be refunded by the next
#: test that runs the worker's due timers, changing another shop under that test), the
#: after-sales' own, the insurance claims' payment and the settlements.
_PASSING_TIMERS = sa.or_(
    tables.timers.c.kind.in_(
        ["sandbox.notify", "sandbox.refund_notify", "refund.retry", "order.settle"]
    ),
    tables.timers.c.kind.like("aftersale.%"),
    tables.timers.c.kind.like("insurance.%"),
)


@pytest.fixture(autouse=True)
async def _no_timers_left(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """A test that used the database leaves none of `_PASSING_TIMERS` pending for the next."""
    yield
    if "container" not in request.fixturenames:
        return
    container: Container = request.getfixturevalue("container")
    t = tables.timers
    async with container.engine.begin() as conn:
        await conn.execute(sa.delete(t).where(t.c.status == "pending", _PASSING_TIMERS))


@pytest.fixture(autouse=True)
async def _books_balance(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After every test that moved money: each shop it posted for still satisfies the
    ledger's invariant (`tests/funds_support.check_books`)."""
    started = utcnow()
    yield
    if "container" not in request.fixturenames:
        return
    container: Container = request.getfixturevalue("container")
    e = tables.ledger_entries
    async with container.engine.connect() as conn:
        shops = (
            await conn.execute(sa.select(e.c.shop_id).where(e.c.created_at >= started).distinct())
        ).scalars()
        touched = list(shops)
    for shop_id in touched:
        await check_books(container, shop_id)


@pytest.fixture(autouse=True)
def _tenancy_checked(tenancy_guard: Guard) -> Iterator[None]:
    tenancy_guard.take()
    _stock_bypasses.clear()
    yield
    failures = tenancy_guard.take() + _stock_bypasses
    if os.environ.get("MINISHOP_TENANCY_REPORT"):
        with open(os.environ["MINISHOP_TENANCY_REPORT"], "a") as f:
            f.writelines(line + "\n" for line in failures)
        return
    assert not failures, "\n".join(failures)
