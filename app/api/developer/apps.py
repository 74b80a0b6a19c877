"""Developer surface: register and manage provider apps (session cookie of the developer)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Response, status

from app.api.deps import (
    MERCHANT_ERRORS,
    SESSION_ERRORS,
    ContainerDep,
    CurrentAccount,
    IfMatch,
    MerchantSession,
    UoW,
    set_etag,
)
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import AppId
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.apps import App, AppCreate, AppUpdate, AppWithSecret, app_out
from app.domain.authz import apps as services
from app.domain.authz import model
from app.domain.authz.errors import AppNotFound
from app.domain.errors import InvalidTransition, PreconditionFailed

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1/apps", tags=["Developer: apps"])


def with_secret(app: model.App, secret: str) -> AppWithSecret:
    return AppWithSecret.model_validate(
        {**App.model_validate(app).model_dump(), "client_secret": secret}
    )


@router.post(
    "",
    operation_id="createApp",
    summary="Register an app",
    description="Returns the `client_secret` once; only its hash is stored.",
    status_code=status.HTTP_201_CREATED,
    response_model=AppWithSecret,
    responses=problem_responses(*MERCHANT_ERRORS, 400, 413, 415, 422),
)
async def create_app(
    body: AppCreate, ctx: MerchantSession, uow: UoW, response: Response
) -> AppWithSecret:
    app, secret = await services.register_app(
        uow,
        ctx.actor,
        services.AppFields(
            name=body.name,
            description=body.description,
            logo_url=str(body.logo_url) if body.logo_url else None,
            homepage_url=str(body.homepage_url) if body.homepage_url else None,
            install_url=str(body.install_url) if body.install_url else None,
            support_email=body.support_email,
            service_types=[s.value for s in body.service_types],
            redirect_uris=body.redirect_uris,
            scopes=body.scopes,
        ),
    )
    set_etag(response, app.version)
    response.headers["Location"] = f"/v1/apps/{app.id}"
    return with_secret(app, secret)


@router.get(
    "",
    operation_id="listApps",
    summary="Your apps",
    response_model=ListResponse[App],
    responses=problem_responses(*SESSION_ERRORS, *PAGE_ERRORS),
)
async def list_apps(ctx: CurrentAccount, uow: UoW, page: PageParams) -> ListResponse[App]:
    result = await services.list_own_apps(uow, ctx.actor, page)
    return ListResponse[App](
        data=[app_out(a) for a in result.items], next_cursor=encode_cursor(result.next_after)
    )


@router.get(
    "/{app_id}",
    operation_id="getApp",
    summary="One of your apps",
    response_model=App,
    responses=problem_responses(*SESSION_ERRORS, 422, AppNotFound),
)
async def get_app(app_id: AppId, ctx: CurrentAccount, uow: UoW, response: Response) -> App:
    app = await services.own_app(uow, ctx.actor, app_id)
    set_etag(response, app.version)
    return app_out(app)


@router.patch(
    "/{app_id}",
    operation_id="updateApp",
    summary="Change an app",
    response_model=App,
    responses=problem_responses(
        *MERCHANT_ERRORS, 400, 413, 415, 422, AppNotFound, PreconditionFailed
    ),
)
async def update_app(
    app_id: AppId,
    body: AppUpdate,
    ctx: MerchantSession,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> App:
    changes: dict[str, object] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name in ("name", "description", "service_types", "redirect_uris", "scopes") and (
            value is None
        ):
            continue  # these cannot be cleared
        if name == "service_types":
            value = [s.value for s in value]
        elif name in ("logo_url", "homepage_url", "install_url") and value is not None:
            value = str(value)
        changes[name] = value
    app = await services.update_app(uow, ctx.actor, app_id, changes, expected_version=expected)
    set_etag(response, app.version)
    return app_out(app)


@router.post(
    "/{app_id}/publish",
    operation_id="publishApp",
    summary="Publish an app to the service market",
    response_model=App,
    responses=problem_responses(*MERCHANT_ERRORS, 422, AppNotFound, InvalidTransition),
)
async def publish_app(app_id: AppId, ctx: MerchantSession, uow: UoW, response: Response) -> App:
    app = await services.publish_app(uow, ctx.actor, app_id)
    set_etag(response, app.version)
    return app_out(app)


@router.post(
    "/{app_id}/secret",
    operation_id="rotateAppSecret",
    summary="Rotate the client secret",
    description="Returns the new `client_secret` once. The previous secret keeps working for "
    "the grace period (24 h by default; `previous_secret_expires_at`), then is rejected.",
    response_model=AppWithSecret,
    responses=problem_responses(*MERCHANT_ERRORS, 422, AppNotFound),
)
async def rotate_secret(
    app_id: AppId, ctx: MerchantSession, uow: UoW, container: ContainerDep, response: Response
) -> AppWithSecret:
    grace = timedelta(seconds=container.settings.client_secret_grace_seconds)
    app, secret = await services.rotate_secret(uow, ctx.actor, app_id, grace=grace)
    set_etag(response, app.version)
    return with_secret(app, secret)
