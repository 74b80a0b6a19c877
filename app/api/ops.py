"""Operational endpoints: liveness, readiness, metrics.

`/metrics` takes a bearer token (`MINISHOP_METRICS_TOKEN`) rather than a bind address of its
own: one process, one port and one server to run and secure, and Prometheus sends the token
with `authorization: {credentials: ...}` in its scrape config. Without a token, production
does not serve `/metrics` at all (404), so nothing is exposed by forgetting to set one.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from app.api.deps import ContainerDep, same_token
from app.api.errors import problem_responses
from app.api.routing import StrictRoute
from app.container import metrics
from app.domain.errors import DomainError, NotFound
from app.settings import Settings

router = APIRouter(route_class=StrictRoute, tags=["Operations"])


class Health(BaseModel):
    """A health or readiness answer."""

    status: str = Field(description="`ok` when healthy.", examples=["ok"])


@router.get("/healthz", operation_id="healthz", summary="Process liveness", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Readiness: the database answers",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database is not reachable"}},
)
async def readyz(container: ContainerDep) -> Response:
    try:
        async with container.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


metrics_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="metricsToken",
    description="`MINISHOP_METRICS_TOKEN`, for `/metrics`: required whenever it is set. In "
    "production `/metrics` is not served without one; elsewhere it is open without one.",
)


class MetricsTokenRequired(DomainError):
    code = "metrics_token_required"
    status = 401
    title = "The metrics token is required"


async def metrics_access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(metrics_bearer)],
) -> None:
    settings: Settings = request.app.state.settings
    if settings.metrics_token is None:
        if settings.is_production:
            raise NotFound("No such route.")
        return
    expected = settings.metrics_token.get_secret_value()
    if credentials is None or not same_token(credentials.credentials, expected):
        raise MetricsTokenRequired(
            "Send the metrics token as `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    description="Requests and latency by route template, requests in flight, the database "
    "pool. Takes `Authorization: Bearer <MINISHOP_METRICS_TOKEN>` when that is set; in "
    "production it is not served without it (404).",
    response_class=Response,
    dependencies=[Depends(metrics_access)],
    # The token is optional where none is configured: OpenAPI's empty requirement says so.
    openapi_extra={"security": [{}]},
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition"},
        **problem_responses(MetricsTokenRequired, 404),
    },
)
async def prometheus_metrics() -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
