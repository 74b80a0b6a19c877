"""Merchant surface: the apps a shop has authorized, and revocation."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status

from app.api.deps import MERCHANT_ERRORS, SESSION_ERRORS, CurrentAccount, MerchantSession, UoW
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import AppId
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.apps import AuthorizedApp
from app.api.schemas.shops import SHOP_ID_EXAMPLE
from app.domain.authz import grants as services
from app.domain.authz.errors import GrantNotFound
from app.domain.authz.model import App, Grant
from app.domain.authz.scopes import Scope
from app.domain.shops.errors import PermissionDenied, ShopNotFound

router = PrefixedRouter(
    route_class=StrictRoute,
    prefix="/merchant/shops/{shop_id}/apps",
    tags=["Merchant: authorized apps"],
)

ShopId = Annotated[
    str, Path(max_length=40, description="The shop's id.", examples=[SHOP_ID_EXAMPLE])
]


def authorized_out(grant: Grant, app: App) -> AuthorizedApp:
    return AuthorizedApp(
        grant_id=grant.id,
        app_id=app.id,
        client_id=app.client_id,
        name=app.name,
        logo_url=app.logo_url,
        app_status=app.status,
        scopes=[s for s in Scope if s in grant.granted_scopes],
        granted_at=grant.created_at,
        updated_at=grant.updated_at,
        last_used_at=grant.last_used_at,
    )


@router.get(
    "",
    operation_id="listAuthorizedApps",
    summary="Apps authorized for the shop",
    description="Owners and admins see every app holding a grant, its scopes, when it was "
    "granted and when it last called the API.",
    response_model=ListResponse[AuthorizedApp],
    responses=problem_responses(*SESSION_ERRORS, *PAGE_ERRORS, ShopNotFound, PermissionDenied),
)
async def list_authorized_apps(
    shop_id: ShopId, ctx: CurrentAccount, uow: UoW, page: PageParams
) -> ListResponse[AuthorizedApp]:
    result = await services.list_grants(uow, ctx.actor, shop_id, page)
    return ListResponse[AuthorizedApp](
        data=[authorized_out(g, a) for g, a in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.delete(
    "/{app_id}",
    operation_id="revokeAppAuthorization",
    summary="Revoke an app's authorization",
    description="Every token of the grant fails on its next request. To switch providers, "
    "authorize the new app on the consent page, then revoke the old one here.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(
        *MERCHANT_ERRORS, 422, ShopNotFound, PermissionDenied, GrantNotFound
    ),
)
async def revoke_authorization(
    shop_id: ShopId, app_id: AppId, ctx: MerchantSession, uow: UoW
) -> Response:
    await services.revoke_grant(uow, ctx.actor, shop_id, app_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
