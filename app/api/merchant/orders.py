"""Merchant: the shop's orders, read by its members (`orders.read`): owners, admins, operators
and customer service see them in full; finance reads the amounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.api.deps import SESSION_ERRORS, CurrentAccount, UoW, set_etag
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import ShopIdPath
from app.api.routing import StrictRoute
from app.api.schemas.order_documents import member_document
from app.api.schemas.orders import ORDER_EXAMPLE, MerchantOrder
from app.api.schemas.product_documents import json_response
from app.domain.orders import services
from app.domain.orders.errors import OrderNotFound
from app.domain.orders.model import OrderFilter, OrderStatus
from app.domain.shops.errors import PermissionDenied, ShopNotFound

router = APIRouter(
    route_class=StrictRoute, prefix="/merchant/shops/{shop_id}", tags=["Merchant: orders"]
)

OrderId = Annotated[
    str, Path(max_length=40, description="The order's id.", examples=[ORDER_EXAMPLE])
]
_READ = (*SESSION_ERRORS, 422, ShopNotFound, PermissionDenied)


@router.get(
    "/orders",
    operation_id="listShopOrders",
    summary="The shop's orders",
    description="Permission `orders.read`. Newest first; `status` repeats. Finance members "
    "read amounts: the buyer's address and the notes come back null.",
    response_model=ListResponse[MerchantOrder],
    responses=problem_responses(*_READ, *PAGE_ERRORS),
)
async def list_shop_orders(
    shop_id: ShopIdPath,
    ctx: CurrentAccount,
    uow: UoW,
    page: PageParams,
    response: Response,
    status_: Annotated[
        list[OrderStatus] | None,
        Query(alias="status", description="Only in these statuses (repeat it).", examples=[[20]]),
    ] = None,
) -> Response:
    view = await services.member_view(uow, ctx.actor.id, shop_id)
    result = await services.read_page(
        uow, shop_id, page, OrderFilter(statuses=frozenset(status_ or ()))
    )
    return json_response(
        {
            "data": [member_document(o, personal=view.personal) for o in result.items],
            "next_cursor": encode_cursor(result.next_after),
        },
        response,
    )


@router.get(
    "/orders/{order_id}",
    operation_id="getShopOrder",
    summary="One of the shop's orders",
    description="Permission `orders.read`; as the list shows it.",
    response_model=MerchantOrder,
    responses=problem_responses(*_READ, OrderNotFound),
)
async def get_shop_order(
    shop_id: ShopIdPath, order_id: OrderId, ctx: CurrentAccount, uow: UoW, response: Response
) -> Response:
    view = await services.member_view(uow, ctx.actor.id, shop_id)
    order = await services.read_one(uow, shop_id, order_id)
    set_etag(response, order["version"])
    return json_response(member_document(order, personal=view.personal), response)
