"""Every problem response the test suite gets from a route is documented for that operation.

The app the `app` fixture builds is observed (`observe`): its exception handlers are wrapped
to record, for each error a route raised, the operation (method and path template), the status
answered and, for a domain error, its `code`. Each record is checked against the app's own
OpenAPI document when the session ends: the operation declares the status, and a specific
domain code (anything but the generic codes of `app.domain.errors`: `not_found`,
`validation_error`...) is listed in that response's description, as `problem_responses` writes
it. Each xdist worker sends its findings to the controller (`workeroutput`), which fails the
session if any error a client got is not documented where it occurs.

Errors answered before routing (no route, wrong method on a path) or by middlewares, and
operations left out of the document (HTML pages), are not checked here; the spec generator
declares the former for every operation (`app.api.openapi`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.domain import errors as generic

_OUTPUT_KEY = "problem_codes"
_merged = pytest.StashKey[list[str]]()
_verdict = pytest.StashKey[list[str]]()
_CODE = re.compile(r"`([a-z0-9_]+)`")

#: Codes every error of a status may carry without being named: the shared base classes'.
GENERIC_CODES = frozenset(
    cls.code
    for cls in (
        generic.DomainError,
        generic.NotFound,
        generic.ValidationFailed,
        generic.Conflict,
        generic.Unauthenticated,
        generic.Forbidden,
        generic.PreconditionFailed,
        generic.TooManyRequests,
        generic.ServiceBusy,
    )
)


@dataclass(frozen=True)
class Answered:
    method: str
    path: str
    status: int
    code: str | None
    test: str


def documented(spec: dict[str, Any], seen: Answered) -> str | None:
    """What is missing from `spec` for an error a route answered; None if it is documented
    (or the operation is not in the document)."""
    operation = spec.get("paths", {}).get(seen.path, {}).get(seen.method.lower())
    if operation is None:
        return None
    where = f"{operation.get('operationId')} ({seen.method} {seen.path}), from {seen.test}"
    response = operation.get("responses", {}).get(str(seen.status))
    if response is None:
        return f"{where}: answered {seen.status} `{seen.code}`, a status it does not declare"
    if seen.code is None or seen.code in GENERIC_CODES:
        return None
    if seen.code not in _CODE.findall(response.get("description", "")):
        return f"{where}: answered {seen.status} `{seen.code}`, a code its docs do not list"
    return None


class Recorder:
    def __init__(self) -> None:
        self.apps: list[FastAPI] = []
        #: Each (app, method, path, status, code) answered, with the first test that got it.
        self.answered: dict[tuple[int, str, str, int, str | None], str] = {}
        self.test = "?"

    def record(self, app: FastAPI, request: Request, status: int, code: str | None) -> None:
        path = getattr(request.scope.get("route"), "path_format", None)
        if path is None:
            return
        if app not in self.apps:
            self.apps.append(app)
        key = (self.apps.index(app), request.method, path, status, code)
        self.answered.setdefault(key, self.test)

    def findings(self) -> list[str]:
        # Apps built alike (a module's own database, tests/own_database.py) have one document:
        # it is built once (a second of CPU each, at the end of every worker's session).
        by_shape: dict[tuple[Any, ...], dict[str, Any]] = {}
        specs = []
        for app in self.apps:
            shape = _shape(app)
            if shape not in by_shape:
                by_shape[shape] = app.openapi()
            specs.append(by_shape[shape])
        found = []
        for (index, method, path, status, code), test in self.answered.items():
            problem = documented(specs[index], Answered(method, path, status, code, test))
            if problem is not None:
                found.append(problem)
        return sorted(found)


def _shape(app: FastAPI) -> tuple[Any, ...]:
    """What an app's OpenAPI document is made of (`app.api.openapi.build_openapi`): its
    version, and its routes and webhooks in the document, each declared once, with the code of
    the endpoint it calls (the webhooks' are made for each app from the event catalogue, and
    the routes left out of the document, such as the docs' own, do not count)."""

    def routes(table: list[Any]) -> tuple[Any, ...]:
        return tuple(
            (
                getattr(r, "path", None),
                tuple(sorted(getattr(r, "methods", None) or ())),
                getattr(getattr(r, "endpoint", None), "__code__", None)
                if getattr(r, "include_in_schema", False)
                else None,
            )
            for r in table
        )

    return (app.version, routes(app.routes), routes(app.webhooks.routes))


recorder = Recorder()

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def observe(app: FastAPI) -> FastAPI:
    """Wrap the app's error handlers to record what each route answers (before the app's
    first request: Starlette builds its handler table then)."""

    def wrap(handler: Handler) -> Handler:
        async def recording(request: Request, exc: Any) -> Response:
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
            code = exc.code if isinstance(exc, generic.DomainError) else None
            recorder.record(app, request, response.status_code, code)
            return response

        return recording

    for kind in (generic.DomainError, RequestValidationError, StarletteHTTPException):
        handler = app.exception_handlers.get(kind)
        if handler is not None:
            app.exception_handlers[kind] = wrap(handler)
    return app


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_merged] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    recorder.test = item.nodeid
    try:
        return (yield)
    finally:
        recorder.test = "?"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    out = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY)
    if out is not None:
        node.config.stash[_merged].extend(out)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller decides
        workeroutput[_OUTPUT_KEY] = recorder.findings()
        return
    merged: list[str] = config.stash[_merged]
    found = sorted(set(merged) | set(recorder.findings()))
    config.stash[_verdict] = found
    if found and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    found = config.stash.get(_verdict, [])
    if found:
        terminalreporter.section("undocumented problem responses", sep="=", red=True, bold=True)
        for line in found:
            terminalreporter.write_line(line)
