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

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.api.deps import commit_request
from app.api.errors import problem_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
