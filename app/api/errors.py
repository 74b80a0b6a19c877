"""RFC 9457 problem details for every error the service returns."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from app.api.route_table import allowed_methods
from app.container import DatabaseError, is_bad_data, request_id_var
from app.domain.errors import DomainError

log = logging.getLogger("minishop.errors")

PROBLEM_JSON = "application/problem+json"
#: `request.state` attribute holding headers every response to the request carries, errors
#: included (the provider rate-limit headers).
STATE_HEADERS = "response_headers"
TYPE_BASE = "https://minishop.dev/problems/"
#: A problem lists at most this many field errors, each part of a `loc` and each `msg` at most
#: this long: a body of a million unknown keys must not make a response of many megabytes.
MAX_ERRORS = 50
MAX_LOC_PART = 100
MAX_MSG = 300


class FieldError(BaseModel):
    """One invalid field of the request."""

    loc: list[str | int] = Field(
        description="Where the error is: `body`, `query`, `path` or `header`, then the field.",
        examples=[["body", "name"]],
    )
    msg: str = Field(description="What is wrong, for a person.", examples=["Field required"])
    type: str = Field(description="A machine-readable error type.", examples=["missing"])


class Problem(BaseModel):
    """An RFC 9457 problem document. `code` is stable; branch on it, not on `title`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="A URI naming the problem type.",
        examples=["https://minishop.dev/problems/validation_error"],
    )
    title: str = Field(description="A short summary of the problem type.", examples=["Not valid"])
    status: int = Field(description="The HTTP status code.", examples=[422])
    detail: str = Field(description="What went wrong this time.", examples=["name: too short"])
    code: str = Field(description="A stable machine code.", examples=["validation_error"])
    request_id: str | None = Field(
        default=None, description="Quote it when you contact support.", examples=["req_01j..."]
    )
    errors: list[FieldError] = Field(
        default_factory=list,
        max_length=MAX_ERRORS,
        description=f"Per-field errors, when there are any: the first {MAX_ERRORS}.",
    )
    # Left out of the document, not written as null, when there is nothing to say.
    errors_truncated: bool | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description=f"Present (true) when there were more than {MAX_ERRORS} errors and "
        "`errors` holds only the first ones; fix those and send again.",
        examples=[True],
    )
    error_count: int | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="How many errors there were in all; present with `errors_truncated`.",
        examples=[1200],
    )


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
        "errors": [dict(e) for e in errors[:MAX_ERRORS]],
    }
    if len(errors) > MAX_ERRORS:
        body["errors_truncated"] = True
        body["error_count"] = len(errors)
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return body


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(
        status=status, code=code, title=title, detail=detail, errors=errors, extra=extra
    )
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


def domain_problem(exc: DomainError) -> dict[str, Any]:
    return problem_body(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        extra=exc.extra,
    )


def validation_problem(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """422 `validation_error` for schema errors already shaped by `field_errors`."""
    summary = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in errors[:5]
    )
    return problem_body(
        status=422,
        code="validation_error",
        title="The request is not valid",
        detail=summary or "The request is not valid.",
        errors=errors,
    )


def bad_data_problem() -> dict[str, Any]:
    """A value the database refused (the safety net behind input validation): 422."""
    return problem_body(
        status=422,
        code="invalid_data",
        title="A value cannot be stored",
        detail="A value in the request is not acceptable (for example a NUL character or a "
        "number or time out of range).",
    )


_HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Resource not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "The request body is too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("rate_limited", "Too many requests"),
}


def client_problem(exc: Exception) -> dict[str, Any] | None:
    """The problem document the handlers below render for an error the client caused (a
    domain error, a value the database refused); None for anything else, which is a 500."""
    if isinstance(exc, DomainError):
        return domain_problem(exc)
    if isinstance(exc, DatabaseError) and is_bad_data(exc):
        return bad_data_problem()
    return None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean_loc(loc: Sequence[Any]) -> list[str | int]:
    # A part can be a key the client sent, of any length.
    return [x if isinstance(x, int) else _clip(str(x), MAX_LOC_PART) for x in loc]


def field_errors(
    raw: Sequence[Mapping[str, Any]], *, prefix: Sequence[str | int] = ()
) -> list[dict[str, Any]]:
    """pydantic's errors as the `errors` of a problem: `loc`, `msg`, `type` only."""
    out = []
    for err in raw:
        out.append(
            {
                "loc": _clean_loc([*prefix, *err.get("loc", ())]),
                "msg": _clip(str(err.get("msg", "")), MAX_MSG),
                "type": str(err.get("type", "invalid")),
            }
        )
    return out


def _carried(request: Request, own: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**getattr(request.state, STATE_HEADERS, {}), **(own or {})}


def domain_error_response(request: Request, exc: DomainError) -> JSONResponse:
    """The problem a raised `exc` is answered with, for an endpoint that returns it instead
    (`deps.keep_writes_on_error`)."""
    return JSONResponse(
        domain_problem(exc),
        status_code=exc.status,
        headers=_carried(request, exc.headers),
        media_type=PROBLEM_JSON,
    )


def install_error_handlers(app: FastAPI) -> None:
    carried = _carried

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return domain_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                status=400,
                code="malformed_json",
                title="The body is not valid JSON",
                detail="The request body could not be parsed as JSON.",
                errors=errors,
                headers=carried(request),
            )
        return JSONResponse(
            validation_problem(errors),
            status_code=422,
            headers=carried(request),
            media_type=PROBLEM_JSON,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _HTTP_CODES.get(exc.status_code, ("error", "Request failed"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such route."
        if exc.status_code == 405:
            # The router names the methods of one route; a path has a route per method.
            methods = allowed_methods(request.app.router.routes, request.scope)
            if methods:
                headers["Allow"] = ", ".join(methods)
        return problem_response(
            status=exc.status_code, code=code, title=title, detail=detail, headers=headers
        )

    @app.exception_handler(DatabaseError)
    async def _database(_: Request, exc: DatabaseError) -> JSONResponse:
        # A safety net: input validation should refuse such values first, but a value the
        # database cannot store is still the client's mistake, never a 500.
        if is_bad_data(exc):
            log.warning("the database refused a value", extra={"error": type(exc.orig).__name__})
            return JSONResponse(bad_data_problem(), status_code=422, media_type=PROBLEM_JSON)
        log.exception("database error", exc_info=exc)
        return _internal_error()

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _internal_error()


def _internal_error() -> JSONResponse:
    return problem_response(
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="Something went wrong on our side; quote the request_id to support.",
    )


def problem_responses(*raised: int | type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` a route declares so its errors appear in the docs: statuses the edge
    answers (authentication, a malformed body...) and the domain errors the route raises,
    whose status each carries and whose codes the description lists."""
    descriptions = {
        400: "Malformed request",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        408: "The body did not arrive in time",
        409: "Conflicts with the current state",
        412: "`If-Match` does not match the current version",
        413: "Body too large",
        415: "Body is not JSON",
        422: "Validation failed",
        429: "Rate limited",
        503: "Busy: retry after `Retry-After` seconds",
    }
    codes: dict[int, list[str]] = {}
    for item in raised:
        status, code = (item, None) if isinstance(item, int) else (item.status, item.code)
        listed = codes.setdefault(status, [])
        if code is not None and code not in listed:
            listed.append(code)
    return {
        s: {
            "model": Problem,
            "description": with_codes(descriptions.get(s, "Error"), listed),
            "content": {PROBLEM_JSON: {}},
        }
        for s, listed in sorted(codes.items())
    }


#: The codes a response description lists, at its end: "Not found (`a_not_found`, `b`)".
_LISTED_CODES = re.compile(r" \((`[a-z0-9_]+`(?:, `[a-z0-9_]+`)*)\)$")


def listed_codes(description: str) -> set[str]:
    """The codes a response description lists (as `with_codes` writes them)."""
    m = _LISTED_CODES.search(description)
    return set(re.findall(r"`([a-z0-9_]+)`", m[1])) if m else set()


def with_codes(description: str, codes: Iterable[str]) -> str:
    """`description` listing `codes` too, after those it lists already, sorted."""
    m = _LISTED_CODES.search(description)
    base = description[: m.start()] if m else description
    every = sorted(listed_codes(description) | set(codes))
    return f"{base} ({', '.join(f'`{c}`' for c in every)})" if every else base
