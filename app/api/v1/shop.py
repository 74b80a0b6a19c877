"""Open API: the shop the access token is bound to."""

from __future__ import annotations

from fastapi import Response

from app.api.deps import IfMatch, UoW, set_etag
from app.api.errors import problem_responses
from app.api.provider import PROVIDER_ERRORS, PROVIDER_WRITE_ERRORS, ShopRead, ShopWrite
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.shops import Shop, ShopUpdate, shop_out
from app.domain.errors import InvalidTransition, PreconditionFailed
from app.domain.shops import services
from app.domain.shops.errors import ShopNotFound

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: shop"])


@router.get(
    "/shop",
    operation_id="getShop",
    summary="The authorized shop",
    description="The shop the access token is bound to. Scope `shop:read`.",
    response_model=Shop,
    responses=problem_responses(*PROVIDER_ERRORS, ShopNotFound),
)
async def get_shop(access: ShopRead, uow: UoW, response: Response) -> Shop:
    shop = await services.shop_or_404(uow, access.shop_id)
    set_etag(response, shop.version)
    return shop_out(shop)


@router.patch(
    "/shop",
    operation_id="updateShop",
    summary="Change the shop's name or logo",
    description="Scope `shop:write`. Same rules as the merchant's own change: name length and "
    "characters, not while in review, not while suspended. Honours `If-Match`.",
    response_model=Shop,
    responses=problem_responses(
        *PROVIDER_WRITE_ERRORS,
        400,
        413,
        415,
        422,
        ShopNotFound,
        InvalidTransition,
        PreconditionFailed,
    ),
)
async def update_shop(
    body: ShopUpdate, access: ShopWrite, uow: UoW, response: Response, expected: IfMatch
) -> Shop:
    shop = await services.update_shop_as_app(
        uow,
        access.actor,
        access.shop_id,
        name=body.name,
        logo_url=str(body.logo_url) if body.logo_url else None,
        logo_given="logo_url" in body.model_fields_set,
        expected_version=expected,
    )
    set_etag(response, shop.version)
    return shop_out(shop)
