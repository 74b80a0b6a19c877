"""Platform operator surface for provider apps: list, suspend, reinstate, rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.api.deps import (
    OPERATOR_READ_ERRORS,
    OPERATOR_WRITE_ERRORS,
    OperatorRead,
    OperatorWrite,
    UoW,
)
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import AppId
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.apps import App, AppSuspend, RateLimitUpdate, app_out
from app.domain.authz import apps as services
from app.domain.authz.errors import AppNotFound
from app.domain.authz.model import AppStatus
from app.domain.errors import InvalidTransition

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/v1/platform/apps", tags=["Platform: apps"]
)

_ERRORS = problem_responses(
    *OPERATOR_WRITE_ERRORS, 400, 413, 415, 422, AppNotFound, InvalidTransition
)


@router.get(
    "",
    operation_id="platformListApps",
    summary="Every provider app, optionally by status",
    response_model=ListResponse[App],
    responses=problem_responses(*OPERATOR_READ_ERRORS, *PAGE_ERRORS),
)
async def list_apps(
    ctx: OperatorRead,
    uow: UoW,
    page: PageParams,
    status: Annotated[
        AppStatus | None, Query(description="Only apps in this status.", examples=["published"])
    ] = None,
) -> ListResponse[App]:
    result = await services.operator_list_apps(uow, page, status)
    return ListResponse[App](
        data=[app_out(a) for a in result.items], next_cursor=encode_cursor(result.next_after)
    )


@router.get(
    "/{app_id}",
    operation_id="platformGetApp",
    summary="Any provider app",
    response_model=App,
    responses=problem_responses(*OPERATOR_READ_ERRORS, 422, AppNotFound),
)
async def get_app(app_id: AppId, ctx: OperatorRead, uow: UoW) -> App:
    return app_out(await services.operator_get_app(uow, app_id))


@router.post(
    "/{app_id}/suspend",
    operation_id="suspendApp",
    summary="Suspend an app",
    description="Takes effect at once: every access token of the app fails on its next "
    "request, and the token endpoint refuses it.",
    response_model=App,
    responses=_ERRORS,
)
async def suspend(app_id: AppId, body: AppSuspend, ctx: OperatorWrite, uow: UoW) -> App:
    app = await services.operator_action(uow, ctx.actor, app_id, "suspend", reason=body.reason)
    return app_out(app)


@router.post(
    "/{app_id}/reinstate",
    operation_id="reinstateApp",
    summary="Lift an app's suspension",
    response_model=App,
    responses=_ERRORS,
)
async def reinstate(app_id: AppId, ctx: OperatorWrite, uow: UoW) -> App:
    app = await services.operator_action(uow, ctx.actor, app_id, "reinstate")
    return app_out(app)


@router.put(
    "/{app_id}/rate-limit",
    operation_id="setAppRateLimit",
    summary="Override an app's rate limit",
    description="Per (app, shop) leaky bucket: `burst` requests, drained at `per_second`. "
    "Null restores the platform default (80 and 4/s).",
    response_model=App,
    responses=_ERRORS,
)
async def set_rate_limit(app_id: AppId, body: RateLimitUpdate, ctx: OperatorWrite, uow: UoW) -> App:
    app = await services.set_rate_limit(
        uow, ctx.actor, app_id, burst=body.burst, per_second=body.per_second
    )
    return app_out(app)
