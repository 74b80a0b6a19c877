"""Questions about the route table that the router does not answer itself: which operation a
request will reach, and which methods a path serves.

Both walk the routes as the router does (included routers flattened, in order), so their
answers follow the routes as they are, including those added after start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import attrgetter

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter, RouteContext, iter_route_contexts
from fastapi.security.base import SecurityBase
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import Scope

Contexts = list[tuple[RouteContext, re.Pattern[str] | None]]
#: How many times a router's routes have changed (FastAPI counts them per router).
_ROUTES_VERSION = attrgetter("_routes_version")

#: How many (method, path) answers a flattened table remembers; past that it starts over (the
#: paths that carry ids are as many as the ids, the hot ones come straight back).
LOOKUPS_KEPT = 4096


class _Flattened:
    """The route table flattened (included routers' routes with their prefixes), each
    context with a regular expression of its full path to rule it out at once, what
    `operation_dependant` walks; the routers it came from, whose change counts (FastAPI
    counts the changes of each router) say when it is out of date; and the answers given
    so far, by method and path."""

    __slots__ = ("answers", "contexts", "routers", "routes", "version")

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = routes  # held, so that the table's id is never reused by another one
        self.routers = _routers(routes)
        self.version = self.current_version()
        self.contexts: Contexts = []
        for route in iter_route_contexts(routes):
            regex = None
            if isinstance(route.original_route, APIRoute) and route.path is not None:
                regex = compile_path(route.path)[0]
            self.contexts.append((route, regex))
        self.answers: dict[tuple[str, str], Dependant | None] = {}

    def current_version(self) -> int:
        return len(self.routes) + int(sum(map(_ROUTES_VERSION, self.routers)))


def _routers(routes: Sequence[BaseRoute]) -> list[APIRouter]:
    """Every router included in the table, at any depth."""
    found: list[APIRouter] = []
    pending = list(routes)
    while pending:
        router = getattr(pending.pop(), "original_router", None)
        if isinstance(router, APIRouter) and router not in found:
            found.append(router)
            pending.extend(router.routes)
    return found


_flattened: dict[int, _Flattened] = {}


def _table(routes: Sequence[BaseRoute]) -> _Flattened:
    """The flattened table, kept per table until a route is added to it or to a router
    included in it (a router newly included counts as a change of the one it went into)."""
    table = _flattened.get(id(routes))
    if table is None or table.routes is not routes or table.version != table.current_version():
        table = _flattened[id(routes)] = _Flattened(routes)
    return table


def operation_dependant(routes: Sequence[BaseRoute], scope: Scope) -> Dependant | None:
    """The dependencies of the API operation the router will run for this request, or None
    when there is none: the router answers 404 or 405, or the path is no API operation."""
    table = _table(routes)
    path = get_route_path(scope)
    key = (scope["method"], path)
    try:
        return table.answers[key]
    except KeyError:
        pass
    found = _walk(table.contexts, scope, path)
    if len(table.answers) >= LOOKUPS_KEPT:
        table.answers.clear()
    table.answers[key] = found
    return found


def _walk(contexts: Contexts, scope: Scope, path: str) -> Dependant | None:
    probe = dict(scope)  # matching may note things in the scope; the router does it again
    for route, regex in contexts:
        if regex is not None and regex.match(path) is None:
            continue  # the path is not this operation's: no match, whatever the method
        match, _ = route.matches(probe)
        if match == Match.FULL:
            if not isinstance(route.original_route, APIRoute):
                return None
            dependant: Dependant | None = route.dependant
            return dependant
    return None


#: Each operation's security requirements, by its dependant (held, so its id stays its own).
_requirements: dict[int, tuple[Dependant, dict[str, frozenset[str]]]] = {}


def security_requirements(dependant: Dependant) -> dict[str, frozenset[str]]:
    """The security schemes among an operation's dependencies, each with the OAuth scopes it
    is required with (what OpenAPI lists as the operation's `security`). Worked out once per
    operation (the caller must not change the answer)."""
    kept = _requirements.get(id(dependant))
    if kept is not None and kept[0] is dependant:
        return kept[1]
    found = _security_requirements(dependant)
    _requirements[id(dependant)] = (dependant, found)
    return found


def _security_requirements(dependant: Dependant) -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    pending = [dependant]
    while pending:
        current = pending.pop()
        if isinstance(current.call, SecurityBase):
            scopes = {*(current.parent_oauth_scopes or ()), *(current.own_oauth_scopes or ())}
            name = current.call.scheme_name
            found[name] = found.get(name, frozenset()) | scopes
        pending.extend(current.dependencies)
    return found


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method the request's path is served with, for the `Allow` of a 405.

    The router's own 405 lists the methods of the first route whose path matched, one of
    several when a path has a route per method. When a literal path and a template both match
    (`/v1/products/batch` and `/v1/products/{product_id}`), the path is the literal one's: the
    routes with the fewest parameters among the matching ones.
    """
    probe = dict(scope)
    found: dict[str, set[str]] = {}
    for route in iter_route_contexts(routes):
        methods, path = route.methods, route.path
        if not methods or path is None:
            continue
        match, _ = route.matches(probe)
        if match != Match.NONE:
            found.setdefault(path, set()).update(methods)
    if not found:
        return []
    closest = min(found, key=lambda path: path.count("{"))
    return sorted(found[closest])
