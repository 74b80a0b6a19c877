"""The storefront's freight quote: what an order of some lines would pay for delivery to a
region, before there is an order (no credential: a product page shows it to anyone)."""

from __future__ import annotations

from fastapi import Response

from app.api.deps import UoW
from app.api.errors import problem_responses
from app.api.params import ShopIdPath
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.freight import FreightQuote, FreightQuoteRequest, quote_out
from app.api.schemas.product_documents import json_response
from app.domain.orders import services
from app.domain.orders.errors import (
    OrderSkuNotFound,
    ProductNotListed,
    QuantityInvalid,
    RegionUnknown,
)
from app.domain.shops.errors import ShopNotFound

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/v1/storefront", tags=["Storefront: public reads"]
)


@router.post(
    "/shops/{shop_id}/freight-quote",
    operation_id="quoteFreight",
    summary="The freight of some lines to a region",
    description="No credential; nothing is written. The same read and rules as placing an "
    "order: each line's product's freight template (else the shop's default template, else "
    "the shop's flat freight), each template charging its own lines, summed. A region a "
    "product is not sold to, or its template does not deliver to, is an answer: "
    "`deliverable: false` naming the SKUs (an order there is a 409 `region_not_sellable`). "
    "Unknown SKUs are 404 `sku_not_found`, products not on sale 409 `product_not_listed`; "
    "a shop whose storefront is not open is 404 `shop_not_found`.",
    response_model=FreightQuote,
    responses=problem_responses(
        400,
        413,
        415,
        422,
        ShopNotFound,
        OrderSkuNotFound,
        ProductNotListed,
        RegionUnknown,
        QuantityInvalid,
    ),
)
async def quote_freight(
    shop_id: ShopIdPath, body: FreightQuoteRequest, uow: UoW, response: Response
) -> Response:
    answer = await services.quote(
        uow,
        shop_id=shop_id,
        items=[services.Item(i.sku_id, i.quantity) for i in body.items],
        region_code=body.region_code,
    )
    return json_response(quote_out(answer), response)
