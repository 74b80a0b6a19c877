"""The idempotency middleware's route lookup (`operation_dependant`, a flattened table with a
regular expression per path) finds what FastAPI's own matching finds, for every operation,
and sees routes added after start-up."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Match

from app.api.route_table import operation_dependant


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _brute_force(app: FastAPI, scope: dict[str, Any]) -> Any:
    """Every context tried with FastAPI's matcher, in order, as the lookup did before."""
    for route in iter_route_contexts(app.router.routes):
        match, _ = route.matches(dict(scope))
        if match == Match.FULL:
            return route.dependant if isinstance(route.original_route, APIRoute) else None
    return None


def test_every_operation_is_found_as_fastapis_matching_finds_it(app: FastAPI) -> None:
    seen = 0
    for route in iter_route_contexts(app.router.routes):
        if not isinstance(route.original_route, APIRoute) or route.path is None:
            continue
        path = re.sub(r"\{[^}]+\}", "x_1", route.path)
        for method in route.methods or ():
            scope = _scope(method, path)
            assert operation_dependant(app.router.routes, scope) is _brute_force(app, scope)
            seen += 1
        # Another method on the path, and a path below it: whatever FastAPI says, the same.
        for scope in (_scope("TRACE", path), _scope("GET", path + "/nothing/here")):
            assert operation_dependant(app.router.routes, scope) is _brute_force(app, scope)
    assert seen > 100


def test_a_route_added_after_start_up_is_found() -> None:
    app = FastAPI()
    router = APIRouter(prefix="/late")

    @router.get("/one")
    def one() -> dict[str, str]:
        return {}

    app.include_router(router)
    routes = app.router.routes
    assert operation_dependant(routes, _scope("GET", "/late/one")) is not None
    assert operation_dependant(routes, _scope("POST", "/late/two")) is None

    @router.post("/two")
    def two() -> dict[str, str]:
        return {}

    assert operation_dependant(routes, _scope("POST", "/late/two")) is not None
