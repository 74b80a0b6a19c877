"""Two checks on every event the test suite writes to the outbox, whichever test writes it.

The writer guard: only `app.infra.db.outbox` writes `outbox_events`. Every statement
SQLAlchemy hands to a driver (`before_cursor_execute` on every engine, ORM flushes included),
every statement sent straight to asyncpg (`DriverReader.statement`) and every asyncpg
COPY is inspected; an INSERT into the table without `OUTBOX_WRITER_TAG`, or
a COPY into it from outside the writer module, fails the test that made it. A test that
shows the guard working catches its own bypasses with `expected_bypasses()`.

The catalogue check: each event written is checked when it is written, against the
catalogue as it is then (`app.domain.events.catalog`): its type is catalogued and its `data`
validates against the type's payload model. Each xdist worker sends its findings to the
controller (`workeroutput`), which fails the session if any event was wrong, or, when the
whole suite ran, if a catalogued type was never emitted (an entry nothing tests).
Events written by separate server or worker processes that tests start are not seen here.
"""

from __future__ import annotations

import json
import re
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.domain.events.catalog import CATALOG
from app.infra.db import outbox
from app.infra.db.driver import DriverReader

TABLE = "outbox_events"
WRITER_MODULE = outbox.__name__
_INSERT_OUTBOX = re.compile(
    r"\bINSERT\s+(?P<prefix>(?:/\*.*?\*/\s*)*)(?:OR\s+\w+\s+)?INTO\s+\"?outbox_events\"?[\s(]",
    re.I | re.S,
)
_OUTPUT_KEY = "outbox_events"
#: The controller's merge of its workers' findings (seen types, errors), and its verdict.
_merged = pytest.StashKey[tuple[set[str], list[str]]]()
_verdict = pytest.StashKey[list[str]]()


def outbox_insert(sql: str) -> str | None:
    """ "tagged" for the writer's INSERTs into the outbox, "untagged" for any other; None for
    statements that do not insert into it."""
    m = _INSERT_OUTBOX.search(sql)
    if m is None:
        return None
    return "tagged" if outbox.OUTBOX_WRITER_TAG in m["prefix"] else "untagged"


def check_event(event_type: str, shop_id: str | None, data: Any) -> str | None:
    """What is wrong with an event as written, against the catalogue; None if nothing."""
    spec = CATALOG.get(event_type)
    if spec is None:
        return f"{event_type}: not in the event catalogue"
    try:
        spec.payload.model_validate(data)
    except ValidationError as e:
        return f"{event_type}: data {data!r} does not match {spec.payload.__name__}: {e}"
    if spec.for_shop and shop_id != data.get("shop_id"):
        return f"{event_type}: shop_id column {shop_id!r} is not data.shop_id"
    return None


def problems(seen: set[str], errors: list[str], *, whole_suite: bool) -> list[str]:
    """The session's verdict: wrong events, and on a whole run, catalogued types no test
    emitted."""
    found = list(errors)
    if whole_suite:
        found += [
            f"{name}: catalogued but never emitted by the suite"
            for name in sorted(set(CATALOG) - seen)
        ]
    return found


class Recorder:
    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.errors: list[str] = []
        self.bypasses: list[str] = []
        #: The writer's own statements and COPYs, to show that the guard sees the flows.
        self.by_writer = 0
        self.capturing: list[list[str]] = []
        self._contexts: weakref.WeakSet[Any] = weakref.WeakSet()

    def bypass(self, what: str) -> None:
        (self.capturing[-1] if self.capturing else self.bypasses).append(what)

    def event_written(self, row: dict[str, Any]) -> None:
        if self.capturing:
            return  # a guard test's deliberate bypass, not an event of the application
        data = row["data"]
        if isinstance(data, str):
            data = json.loads(data)
        self.seen.add(row["type"])
        error = check_event(row["type"], row["shop_id"], data)
        if error is not None:
            self.errors.append(error)

    def statement(self, sql: str, context: Any) -> None:
        kind = outbox_insert(sql)
        if kind is None:
            return
        if kind == "untagged":
            self.bypass(" ".join(sql.split()))
        else:
            self.by_writer += 1
        # insertmanyvalues sends one statement per batch of one execution: count it once.
        if context is None or context.compiled is None or context in self._contexts:
            return
        self._contexts.add(context)
        for params in context.compiled_parameters:
            self.event_written(params)

    def driver_statement(self, sql: str, rows: Any) -> None:
        """A write sent straight to the driver: the writer's return what they wrote of each
        event (`RETURNING type, shop_id, data`)."""
        kind = outbox_insert(sql)
        if kind is None:
            return
        if kind == "untagged":
            self.bypass(" ".join(sql.split()))
            return
        self.by_writer += 1
        for row in rows:
            # Deferred writes sent together: `(part, row)`, the row as JSON (a Record's `in`
            # looks at its values, hence `keys()`).
            if "row" in row.keys():  # noqa: SIM118
                row = row["row"]
                if not {"type", "shop_id", "data"} <= row.keys():
                    continue  # another write's row
            written = {"type": row["type"], "shop_id": row["shop_id"], "data": row["data"]}
            self.event_written(written)

    def copy(self, table_name: str, records: Any, columns: Any) -> None:
        if table_name != TABLE:
            return
        if _called_from_writer():
            self.by_writer += 1
        else:
            self.bypass(f"COPY {table_name}")
        for record in records:
            self.event_written(dict(zip(columns, record, strict=True)))


def _called_from_writer() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__") == WRITER_MODULE:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


recorder = Recorder()


@contextmanager
def expected_bypasses() -> Iterator[list[str]]:
    """The bypasses made inside: collected here instead of failing the test."""
    caught: list[str] = []
    recorder.capturing.append(caught)
    try:
        yield caught
    finally:
        recorder.capturing.remove(caught)


def _on_execute(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
    recorder.statement(sql, context)


def pytest_configure(config: pytest.Config) -> None:
    event.listen(Engine, "before_cursor_execute", _on_execute)
    copy = asyncpg.Connection.copy_records_to_table

    def copied(self: Any, table_name: str, *a: Any, **kw: Any) -> Any:
        recorder.copy(table_name, kw.get("records", ()), kw.get("columns", ()))
        return copy(self, table_name, *a, **kw)

    asyncpg.Connection.copy_records_to_table = copied  # type: ignore[method-assign]
    statement = DriverReader.statement

    async def written(self: DriverReader, driver: Any, sql: str, *args: Any) -> Any:
        rows = await statement(self, driver, sql, *args)
        recorder.driver_statement(sql, rows)
        return rows

    DriverReader.statement = written  # type: ignore[method-assign]
    config.stash[_merged] = (set(), [])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    recorder.bypasses.clear()
    result = yield
    if recorder.bypasses:
        found = "\n".join(recorder.bypasses)
        pytest.fail(f"outbox written outside {WRITER_MODULE}:\n{found}", pytrace=False)
    return result


def _whole_suite(config: pytest.Config) -> bool:
    """The run selected every test: no paths, keywords, markers, deselections or last-failed."""
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.getoption("keyword")
        and not config.getoption("markexpr")
        and not config.getoption("deselect")
        and not config.getoption("lf")
    )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    out = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY)
    if out is None:
        return
    seen, errors = node.config.stash[_merged]
    seen.update(out["seen"])
    errors.extend(out["errors"])


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller decides
        workeroutput[_OUTPUT_KEY] = {"seen": sorted(recorder.seen), "errors": recorder.errors}
        return
    seen, errors = config.stash[_merged]
    seen |= recorder.seen
    errors = errors + recorder.errors
    found = problems(seen, errors, whole_suite=_whole_suite(config))
    config.stash[_verdict] = found
    if found and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    found = config.stash.get(_verdict, [])
    if found:
        terminalreporter.section("event catalogue", sep="=", red=True, bold=True)
        for line in found:
            terminalreporter.write_line(line)
