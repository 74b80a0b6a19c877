"""The public service market: published apps, by service type or name."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.api.deps import ContainerDep, UoW
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import AppId
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.apps import MarketApp, MarketAppDetail, ScopeInfo
from app.domain.authz import model
from app.domain.authz.errors import AppNotFound
from app.domain.authz.model import ServiceType
from app.domain.authz.scopes import DESCRIPTIONS

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1/market", tags=["Service market"])


def _market_fields(app: model.App, developer: str) -> dict[str, object]:
    return {
        "id": app.id,
        "client_id": app.client_id,
        "name": app.name,
        "description": app.description,
        "logo_url": app.logo_url,
        "homepage_url": app.homepage_url,
        "developer": developer,
        "service_types": app.service_types,
        "published_at": app.published_at,
    }


@router.get(
    "/apps",
    operation_id="listMarketApps",
    summary="Published apps",
    response_model=ListResponse[MarketApp],
    responses=problem_responses(*PAGE_ERRORS),
)
async def list_market_apps(
    uow: UoW,
    page: PageParams,
    service_type: Annotated[
        ServiceType | None,
        Query(description="Only apps offering this service.", examples=["batch_order"]),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="Search in app names (case-insensitive).",
            examples=["order"],
        ),
    ] = None,
) -> ListResponse[MarketApp]:
    result = await uow.apps.list_published(
        page, service_type=service_type.value if service_type else None, query=q
    )
    names = await uow.apps.developer_names([a.developer_id for a in result.items])
    return ListResponse[MarketApp](
        data=[
            MarketApp.model_validate(_market_fields(a, names.get(a.developer_id, "")))
            for a in result.items
        ],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/apps/{app_id}",
    operation_id="getMarketApp",
    summary="A published app, with the scopes it asks for",
    response_model=MarketAppDetail,
    responses=problem_responses(422, AppNotFound),
)
async def get_market_app(app_id: AppId, uow: UoW, container: ContainerDep) -> MarketAppDetail:
    app = await uow.apps.get(app_id)
    if app is None or not app.usable:
        raise AppNotFound(f"No published app {app_id}.")
    names = await uow.apps.developer_names([app.developer_id])
    return MarketAppDetail.model_validate(
        {
            **_market_fields(app, names.get(app.developer_id, "")),
            "support_email": app.support_email,
            "scopes": [
                ScopeInfo(scope=s, description=DESCRIPTIONS[s])
                for s in sorted(app.requested_scopes, key=list(DESCRIPTIONS).index)
            ],
            "install_url": app.install_url,
            "authorization_endpoint": f"{container.oauth.issuer}/oauth/authorize",
        }
    )
