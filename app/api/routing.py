"""The route classes every router uses.

`AutoCommitRoute`: the request's unit of work is committed when the endpoint has returned,
before the response is sent (`deps.commit_request`, the one commit point), as polar's
`AutoCommitAPIRoute`. `StrictRoute` adds: an operation that takes no body refuses one.

FastAPI ignores a body sent to an operation that declares none, so `{bad json` posted to
`.../reinstate` would reinstate the shop with a 200 and the client would believe its payload
meant something. Refusing it (and changing nothing) makes such mistakes visible.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

from app.api.deps import commit_request
from app.api.errors import problem_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class PrefixedRouter(APIRouter):
    """A router that is not asked about paths outside its prefix.

    FastAPI matches a request against every route of every included router in turn, each
    with its regular expression and scope bookkeeping: with some 200 operations that was
    2 ms of CPU per request, most of a hot storefront call's. A router whose routes all
    start with its prefix answers "no match" at once for any other path, so a request is
    matched against the routes of the routers whose prefix it has only.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # The literal head of the prefix (`/merchant/shops/{shop_id}/members`: up to the
        # first parameter).
        head = self.prefix.split("{", 1)[0]
        if head and not get_route_path(scope).startswith(head):
            return Match.NONE, {}
        return super().matches(scope)


class AutoCommitRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def commit_after(request: Request) -> Response:
            response = await handler(request)
            await commit_request(request, response)
            return response

        return commit_after


class StrictRoute(AutoCommitRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_raw_body = "requestBody" in (self.openapi_extra or {})  # a file upload
        if (
            self.body_field is not None
            or takes_raw_body
            or not ((self.methods or set()) & WRITE_METHODS)
        ):
            return handler

        async def refuse_body(request: Request) -> Response:
            # Runs before any dependency: nothing is authenticated, read or written yet.
            if await request.body():
                return problem_response(
                    status=400,
                    code="unexpected_body",
                    title="This operation takes no request body",
                    detail=f"{request.method} {self.path} takes no body; send the request "
                    "without one.",
                )
            return await handler(request)

        return refuse_body
