"""Storefront: a buyer places orders, reads their own, cancels one before paying and confirms
receipt. Another buyer's order id is not found (404), like an id that does not exist."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Path, Query, Request, Response, status

from app.api.deps import UoW, set_etag
from app.api.errors import problem_responses
from app.api.idempotency import planned_once
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.order_documents import entity_document
from app.api.schemas.orders import ORDER_EXAMPLE, BuyerOrder, OrderCreate
from app.api.schemas.product_documents import json_response
from app.api.storefront.auth import BUYER_ERRORS, BuyerAuth
from app.domain.errors import ValidationFailed
from app.domain.orders import cart, services
from app.domain.orders.errors import (
    AddressNotFound,
    IdempotencyKeyRequired,
    InvalidOrderTransition,
    OrderNotFound,
    OrderSkuNotFound,
    OutOfStock,
    PickupPointNotFound,
    ProductNotListed,
    QuantityInvalid,
    RegionNotSellable,
    RegionUnknown,
    ShopNotOpen,
)
from app.domain.orders.model import BookAddress
from app.domain.orders.pickup import PickupDelivery

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/v1/storefront/orders", tags=["Storefront: orders"]
)

OrderId = Annotated[
    str, Path(min_length=1, max_length=64, description="The order's id.", examples=[ORDER_EXAMPLE])
]
_BODY = (400, 413, 415, 422)


@router.post(
    "",
    operation_id="placeOrder",
    summary="Place an order",
    description="Requires `Idempotency-Key`: a retry after a lost answer gets the same order, "
    "never a second one. Checks each SKU (`sku_not_found`), that its product is on sale "
    "(`product_not_listed`) and sold to the address's province (`region_not_sellable`), and "
    "reserves the stock of every line or none (`out_of_stock` names the SKU). The price is "
    "the SKUs' current prices plus the shop's freight. The order is pending payment (10) and "
    "is cancelled, its stock released, if unpaid after the payment timeout. "
    "`delivery_method: pickup` with `pickup_point_id` (an enabled point of the shop, else 404 "
    "`pickup_point_not_found`) instead of an address: no freight, the products sold in the "
    "point's province; once paid the order shows its `pickup_code`, for the buyer alone.",
    status_code=status.HTTP_201_CREATED,
    response_model=BuyerOrder,
    responses=problem_responses(
        *BUYER_ERRORS,
        *_BODY,
        IdempotencyKeyRequired,
        AddressNotFound,
        PickupPointNotFound,
        ShopNotOpen,
        OrderSkuNotFound,
        ProductNotListed,
        RegionNotSellable,
        RegionUnknown,
        OutOfStock,
        QuantityInvalid,
    ),
)
@planned_once
async def place_order(
    body: OrderCreate, buyer: BuyerAuth, uow: UoW, request: Request, response: Response
) -> Response:
    # The key (claimed by the idempotency middleware) and the settings are read off the
    # request: a `Header` parameter and `ContainerDep` would each cost a resolution more.
    if not request.headers.get("idempotency-key"):
        raise IdempotencyKeyRequired(
            "Send an Idempotency-Key header (a unique string per order, e.g. a UUID)."
        )
    if body.from_cart and body.items:
        raise ValidationFailed.field("body.items", "Give items, or from_cart: true (not both).")
    delivery: BookAddress | PickupDelivery
    if body.delivery_method == "pickup":
        if body.pickup_point_id is None:
            raise ValidationFailed.field(
                "body.pickup_point_id", "A pickup order names its pickup_point_id."
            )
        if body.address_id is not None:
            raise ValidationFailed.field(
                "body.address_id", "A pickup order has no address: leave address_id out."
            )
        delivery = PickupDelivery(body.pickup_point_id)
    else:
        if body.pickup_point_id is not None:
            raise ValidationFailed.field(
                "body.pickup_point_id", "Only with delivery_method: pickup."
            )
        delivery = BookAddress(buyer.account_id, body.address_id)
    if body.from_cart:
        wanted = await cart.take(uow, buyer.account_id, body.shop_id)
        items = [services.Item(sku_id, quantity) for sku_id, quantity in wanted.items()]
    else:
        items = [services.Item(x.sku_id, x.quantity) for x in body.items]
    order = await services.place(
        uow,
        shop_id=body.shop_id,
        buyer_id=buyer.account_id,
        items=items,
        address=delivery,
        buyer_note=body.buyer_note,
        payment_timeout=timedelta(seconds=request.app.state.settings.order_payment_timeout_seconds),
    )
    set_etag(response, order.version)
    return json_response(entity_document(order, [], buyer=True), response, status.HTTP_201_CREATED)


@router.get(
    "",
    operation_id="listMyOrders",
    summary="The buyer's orders",
    description="Newest first, from every shop or from `shop_id`.",
    response_model=ListResponse[BuyerOrder],
    responses=problem_responses(*BUYER_ERRORS, *PAGE_ERRORS),
)
async def list_my_orders(
    buyer: BuyerAuth,
    uow: UoW,
    page: PageParams,
    shop_id: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only from this shop.",
            examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"],
        ),
    ] = None,
) -> ListResponse[BuyerOrder]:
    result, shipments = await services.list_for_buyer(uow, buyer.account_id, page, shop_id)
    return ListResponse[BuyerOrder](
        data=[BuyerOrder.for_buyer(o, shipments.get(o.id, [])) for o in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/{order_id}",
    operation_id="getMyOrder",
    summary="One of the buyer's orders",
    response_model=BuyerOrder,
    responses=problem_responses(*BUYER_ERRORS, 422, OrderNotFound),
)
async def get_my_order(
    order_id: OrderId, buyer: BuyerAuth, uow: UoW, response: Response
) -> BuyerOrder:
    order = await services.get_for_buyer(uow, buyer.account_id, order_id)
    set_etag(response, order.version)
    return BuyerOrder.for_buyer(order, await services.shipments_of(uow, order))


@router.post(
    "/{order_id}/cancellation",
    operation_id="cancelMyOrder",
    summary="Cancel an unpaid order",
    description="Before paying only (409 `invalid_order_transition` after); the stock goes "
    "back. Emits `order.cancelled` with reason `buyer`.",
    response_model=BuyerOrder,
    responses=problem_responses(*BUYER_ERRORS, 400, 422, OrderNotFound, InvalidOrderTransition),
)
async def cancel_my_order(order_id: OrderId, buyer: BuyerAuth, uow: UoW) -> BuyerOrder:
    order = await services.cancel_by_buyer(uow, buyer.account_id, order_id)
    return BuyerOrder.for_buyer(order, [])


@router.post(
    "/{order_id}/receipt",
    operation_id="confirmMyOrderReceipt",
    summary="Confirm receipt",
    description="Once everything shipped (status 30): the order completes. Emits "
    "`order.received` and `order.completed`.",
    response_model=BuyerOrder,
    responses=problem_responses(*BUYER_ERRORS, 400, 422, OrderNotFound, InvalidOrderTransition),
)
async def confirm_receipt(order_id: OrderId, buyer: BuyerAuth, uow: UoW) -> BuyerOrder:
    order = await services.confirm_receipt_by_buyer(uow, buyer.account_id, order_id)
    return BuyerOrder.for_buyer(order, await services.shipments_of(uow, order))
