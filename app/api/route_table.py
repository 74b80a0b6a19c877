"""Questions about the route table that the router does not answer itself: which operation a
request will reach, and which methods a path serves.

Both walk the routes as the router does (included routers flattened, in order), so their
answers follow the routes as they are, including those added after start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security.base import SecurityBase
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import Scope

Contexts = list[tuple[RouteContext, re.Pattern[str] | None]]

#: The route table flattened (included routers' routes with their prefixes), each context
#: with a regular expression of its full path to rule it out at once: what `operation_
#: dependant` walks. Kept per table (the entry holds the table itself, so its id is never
#: reused by another one) until a route is added.
_flattened: dict[int, tuple[Sequence[BaseRoute], int, Contexts]] = {}


def _version(routes: Sequence[BaseRoute]) -> int:
    """Changes when a route is added to the table or to a router included in it (FastAPI
    counts the changes of each router)."""
    version = len(routes)
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            version += router._get_routes_version()
    return version


def _contexts(routes: Sequence[BaseRoute]) -> Contexts:
    version = _version(routes)
    cached = _flattened.get(id(routes))
    if cached is not None and cached[0] is routes and cached[1] == version:
        return cached[2]
    contexts: Contexts = []
    for route in iter_route_contexts(routes):
        regex = None
        if isinstance(route.original_route, APIRoute) and route.path is not None:
            regex = compile_path(route.path)[0]
        contexts.append((route, regex))
    _flattened[id(routes)] = (routes, version, contexts)
    return contexts


def operation_dependant(routes: Sequence[BaseRoute], scope: Scope) -> Dependant | None:
    """The dependencies of the API operation the router will run for this request, or None
    when there is none: the router answers 404 or 405, or the path is no API operation."""
    probe = dict(scope)  # matching may note things in the scope; the router does it again
    path = get_route_path(scope)
    for route, regex in _contexts(routes):
        if regex is not None and regex.match(path) is None:
            continue  # the path is not this operation's: no match, whatever the method
        match, _ = route.matches(probe)
        if match == Match.FULL:
            if not isinstance(route.original_route, APIRoute):
                return None
            dependant: Dependant | None = route.dependant
            return dependant
    return None


def security_requirements(dependant: Dependant) -> dict[str, frozenset[str]]:
    """The security schemes among an operation's dependencies, each with the OAuth scopes it
    is required with (what OpenAPI lists as the operation's `security`)."""
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
