"""The storefront's public reads: a shop's profile and its products on sale, no credential.

A shop whose storefront is not open (in review, rejected, suspended) is not found, as one
that does not exist; so is a product that is not listed, or is another shop's. Every answer
is cacheable (`app.api.caching`): a digest `ETag`, `If-None-Match` → 304, a short
`Cache-Control`. No route here reads a credential: a stray `Authorization` header is ignored.
"""

from __future__ import annotations

from fastapi import Response

from app.api.caching import IfNoneMatch, cacheable_json
from app.api.deps import UoW
from app.api.errors import problem_responses
from app.api.openapi import cacheable
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import ProductId, ShopIdPath
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.pickup import StorefrontPickupPoint, StorefrontPickupPointList
from app.api.schemas.storefront import (
    StorefrontProduct,
    StorefrontShop,
    product_document,
    shop_document,
)
from app.domain.catalog import storefront
from app.domain.catalog.errors import ProductNotFound
from app.domain.orders import pickup_services
from app.domain.shops.errors import ShopNotFound
from app.domain.shops.services import storefront_shop

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/v1/storefront", tags=["Storefront: public reads"]
)


@router.get(
    "/shops/{shop_id}/products/{product_id}",
    operation_id="getStorefrontProduct",
    summary="One product on sale, with its SKUs' prices and availability",
    description="No credential. The live version only: an edit waiting for review shows "
    "once approved. 404 `product_not_found` for a product that is not listed or is another "
    "shop's; 404 `shop_not_found` when the shop's storefront is not open.",
    response_model=StorefrontProduct,
    responses={**cacheable(), **problem_responses(422, ShopNotFound, ProductNotFound)},
)
async def get_storefront_product(
    shop_id: ShopIdPath,
    product_id: ProductId,
    uow: UoW,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> Response:
    record = await storefront.listed_product(uow, shop_id, product_id)
    return cacheable_json(product_document(record), if_none_match, response)


@router.get(
    "/shops/{shop_id}/products",
    operation_id="listStorefrontProducts",
    summary="A shop's products on sale, the latest listed first",
    description="No credential. Listed products only, each as it is live, with its SKUs' "
    "prices and availability. Ordered by `(listed_at, id)`, newest first. 404 "
    "`shop_not_found` when the shop's storefront is not open.",
    response_model=ListResponse[StorefrontProduct],
    responses={**cacheable(), **problem_responses(422, *PAGE_ERRORS, ShopNotFound)},
)
async def list_storefront_products(
    shop_id: ShopIdPath,
    uow: UoW,
    page: PageParams,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> Response:
    result = await storefront.listed_page(uow, shop_id, page)
    content = {
        "data": [product_document(r) for r in result.items],
        "next_cursor": encode_cursor(result.next_after),
    }
    return cacheable_json(content, if_none_match, response)


@router.get(
    "/shops/{shop_id}",
    operation_id="getStorefrontShop",
    summary="A shop's public profile",
    description="No credential. Name, logo, subject type and opening time; nothing of its "
    "qualification or members. 404 `shop_not_found` when the shop's storefront is not open "
    "(in review, rejected or suspended).",
    response_model=StorefrontShop,
    responses={**cacheable(), **problem_responses(422, ShopNotFound)},
)
async def get_storefront_shop(
    shop_id: ShopIdPath, uow: UoW, response: Response, if_none_match: IfNoneMatch = None
) -> Response:
    shop = await storefront_shop(uow, shop_id)
    return cacheable_json(shop_document(shop), if_none_match, response)


@router.get(
    "/shops/{shop_id}/pickup-points",
    operation_id="listStorefrontPickupPoints",
    summary="A shop's pickup points open to buyers",
    description="No credential. The enabled points, oldest first: where a buyer may collect "
    "an order placed with `delivery_method: pickup` and the point's `id` as "
    "`pickup_point_id`. Empty when the shop offers no pickup. 404 `shop_not_found` when the "
    "shop's storefront is not open.",
    response_model=StorefrontPickupPointList,
    responses={**cacheable(), **problem_responses(422, ShopNotFound)},
)
async def list_storefront_pickup_points(
    shop_id: ShopIdPath, uow: UoW, response: Response, if_none_match: IfNoneMatch = None
) -> Response:
    points = await pickup_services.storefront_points(uow, shop_id)
    content = StorefrontPickupPointList(data=[StorefrontPickupPoint.of(p) for p in points])
    return cacheable_json(content.model_dump(mode="json"), if_none_match, response)
