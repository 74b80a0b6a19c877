"""Merchant: the shop's orders, read by its members (`orders.read`): owners, admins, operators
and customer service see them in full; finance reads the amounts. Members whose role manages
orders (`orders.manage`) cancel them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response

from app.api.deps import (
    MERCHANT_ERRORS,
    SESSION_ERRORS,
    CurrentAccount,
    MerchantSession,
    UoW,
    keep_writes_on_error,
    set_etag,
)
from app.api.errors import domain_error_response, problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import ShopIdPath
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.order_documents import member_document
from app.api.schemas.orders import ORDER_EXAMPLE, MerchantOrder
from app.api.schemas.payments import OrderCancellation
from app.api.schemas.pickup import PickupVerification
from app.api.schemas.product_documents import json_response
from app.domain.orders import payment_services as payments
from app.domain.orders import pickup_services, services
from app.domain.orders.errors import (
    InvalidOrderTransition,
    NoPaymentToRefund,
    OrderNotFound,
    PickupCodeInvalid,
    PickupCodeThrottled,
)
from app.domain.orders.model import OrderFilter, OrderStatus
from app.domain.orders.pickup import WRONG_CODES_PER_WINDOW
from app.domain.shops.errors import PermissionDenied, ShopNotFound, ShopSuspended

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/merchant/shops/{shop_id}", tags=["Merchant: orders"]
)

OrderId = Annotated[
    str, Path(max_length=40, description="The order's id.", examples=[ORDER_EXAMPLE])
]
_READ = (*SESSION_ERRORS, 422, ShopNotFound, PermissionDenied)
_WRITE = (*MERCHANT_ERRORS, 400, 413, 415, 422, ShopNotFound, PermissionDenied, ShopSuspended)


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


@router.post(
    "/orders/{order_id}/cancellation",
    operation_id="cancelShopOrder",
    summary="Cancel one of the shop's orders before it ships",
    description="Permission `orders.manage`; CSRF token required. Status 10 or 20 (409 "
    "`invalid_order_transition` once anything shipped): the stock goes back and, if the "
    "order was paid, its payment is refunded in full through its gateway "
    "(`payment.refunded`). Emits `order.cancelled` with reason `merchant`; the `reason` is "
    "kept on the order (`cancel_note`) and in the shop's audit log. Not while the shop is "
    "suspended (403 `shop_suspended`).",
    response_model=MerchantOrder,
    responses=problem_responses(*_WRITE, OrderNotFound, InvalidOrderTransition, NoPaymentToRefund),
)
async def cancel_shop_order(
    shop_id: ShopIdPath,
    order_id: OrderId,
    body: OrderCancellation,
    ctx: MerchantSession,
    uow: UoW,
    response: Response,
) -> MerchantOrder:
    order = await payments.cancel_by_member(uow, ctx.actor, shop_id, order_id, reason=body.reason)
    set_etag(response, order.version)
    return MerchantOrder.for_member(order, await services.shipments_of(uow, order), personal=True)


@router.post(
    "/orders/{order_id}/pickup-ready",
    operation_id="markShopOrderReadyForPickup",
    summary="Mark a paid pickup order ready at its pickup point",
    description="Permission `orders.manage`; CSRF token required. As "
    "`POST /v1/orders/{order_id}/pickup-ready`: a pickup order in status 20 only (409 "
    "`invalid_order_transition` otherwise); emits `order.ready_for_pickup`. Not while the "
    "shop is suspended.",
    response_model=MerchantOrder,
    responses=problem_responses(*_WRITE, OrderNotFound, InvalidOrderTransition),
)
async def mark_shop_order_ready_for_pickup(
    shop_id: ShopIdPath, order_id: OrderId, ctx: MerchantSession, uow: UoW, response: Response
) -> MerchantOrder:
    order = await pickup_services.mark_ready_by_member(uow, ctx.actor, shop_id, order_id)
    set_etag(response, order.version)
    return MerchantOrder.for_member(order, await services.shipments_of(uow, order), personal=True)


@router.post(
    "/pickup-verifications",
    operation_id="verifyShopPickupCode",
    summary="Verify a buyer's pickup code: the order is collected",
    description="Permission `orders.manage`; CSRF token required; not while the shop is "
    "suspended. As `POST /v1/pickup-verifications`: the code of a ready pickup order "
    "completes it; any other code is 422 `pickup_code_invalid`, counted against the shop "
    f"and audited; past {WRONG_CODES_PER_WINDOW} wrong codes within a minute (the shop's "
    "count, whoever enters them) every code is a 429 `pickup_code_throttled` with "
    "`Retry-After`.",
    response_model=MerchantOrder,
    responses=problem_responses(*_WRITE, PickupCodeInvalid, PickupCodeThrottled),
)
async def verify_shop_pickup_code(
    shop_id: ShopIdPath,
    body: PickupVerification,
    ctx: MerchantSession,
    uow: UoW,
    request: Request,
    response: Response,
) -> MerchantOrder | Response:
    try:
        order = await pickup_services.verify_code_by_member(uow, ctx.actor, shop_id, body.code)
    except PickupCodeInvalid as e:
        keep_writes_on_error(request)  # the wrong code stays counted
        return domain_error_response(request, e)
    set_etag(response, order.version)
    return MerchantOrder.for_member(order, await services.shipments_of(uow, order), personal=True)
