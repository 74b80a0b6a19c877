"""Operational endpoints: liveness, readiness, metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from app.api.deps import ContainerDep
from app.api.routing import StrictRoute
from app.infra import metrics

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


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition"}},
)
async def prometheus_metrics() -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
