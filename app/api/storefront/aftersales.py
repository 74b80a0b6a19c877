"""Storefront: a buyer asks for a refund or a return on a paid order, follows it, withdraws
it, and sends the goods of an accepted return back. Another buyer's after-sale (or order) is
not found (404), like an id that does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, status

from app.api.deps import ContainerDep, UoW
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.aftersales import (
    AFTERSALE_EXAMPLE,
    AfterSale,
    AfterSaleCreate,
    ReturnShipmentIn,
)
from app.api.schemas.orders import ORDER_EXAMPLE
from app.api.storefront.auth import BUYER_ERRORS, BuyerAuth
from app.domain.aftersales import services
from app.domain.aftersales.errors import (
    AfterSaleLinesInvalid,
    AfterSaleNotFound,
    FreightNotRefundable,
    InvalidAfterSaleTransition,
    OrderNotRefundable,
    RefundAmountExceeded,
)
from app.domain.aftersales.model import AfterSaleReason, AfterSaleType
from app.domain.aftersales.refundable import Ask
from app.domain.orders.errors import CarrierUnknown, OrderNotFound, WaybillInvalid

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/v1/storefront", tags=["Storefront: after-sales"]
)

OrderId = Annotated[
    str, Path(min_length=1, max_length=64, description="The order's id.", examples=[ORDER_EXAMPLE])
]
AfterSaleId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The after-sale's id.",
        examples=[AFTERSALE_EXAMPLE],
    ),
]
_BODY = (400, 413, 415, 422)


@router.post(
    "/orders/{order_id}/aftersales",
    operation_id="requestAftersale",
    summary="Ask for a refund or a return",
    description="On lines of a paid order (20, 21, 30 or 100; 409 `order_not_refundable` "
    "otherwise): units not claimed by another after-sale that still counts, and for a "
    "return only units that shipped (422 `aftersale_lines_invalid`). The amount is at most "
    "what remains refundable on those units (409 `refund_amount_exceeded` names it); the "
    "freight only while nothing has shipped (409 `freight_not_refundable`). The shop then "
    "accepts or rejects it; a shop silent for `MINISHOP_AFTERSALE_RESPONSE_DAYS` (2) has the "
    "platform accept it (a return, once the shop has a return address). Emits "
    "`aftersale.created`.",
    status_code=status.HTTP_201_CREATED,
    response_model=AfterSale,
    responses=problem_responses(
        *BUYER_ERRORS,
        *_BODY,
        OrderNotFound,
        OrderNotRefundable,
        AfterSaleLinesInvalid,
        RefundAmountExceeded,
        FreightNotRefundable,
    ),
)
async def request_aftersale(
    order_id: OrderId,
    body: AfterSaleCreate,
    buyer: BuyerAuth,
    uow: UoW,
    container: ContainerDep,
) -> AfterSale:
    aftersale = await services.request(
        uow,
        buyer.account_id,
        order_id,
        type_=AfterSaleType(body.type),
        reason=AfterSaleReason(body.reason),
        asks=[Ask(x.line_id, x.quantity) for x in body.lines],
        amount=body.amount,
        refund_freight=body.refund_freight,
        description=body.description,
        images=[str(u) for u in body.images],
        times=container.settings.aftersale_times,
    )
    return AfterSale.of(aftersale)


@router.get(
    "/aftersales",
    operation_id="listMyAftersales",
    summary="The buyer's after-sales",
    description="Newest first, from every shop.",
    response_model=ListResponse[AfterSale],
    responses=problem_responses(*BUYER_ERRORS, *PAGE_ERRORS),
)
async def list_my_aftersales(
    buyer: BuyerAuth, uow: UoW, page: PageParams
) -> ListResponse[AfterSale]:
    result = await services.list_for_buyer(uow, buyer.account_id, page)
    return ListResponse[AfterSale](
        data=[AfterSale.of(a) for a in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/aftersales/{aftersale_id}",
    operation_id="getMyAftersale",
    summary="One of the buyer's after-sales",
    response_model=AfterSale,
    responses=problem_responses(*BUYER_ERRORS, 422, AfterSaleNotFound),
)
async def get_my_aftersale(aftersale_id: AfterSaleId, buyer: BuyerAuth, uow: UoW) -> AfterSale:
    return AfterSale.of(await services.get_for_buyer(uow, buyer.account_id, aftersale_id))


@router.post(
    "/aftersales/{aftersale_id}/cancellation",
    operation_id="cancelMyAftersale",
    summary="Withdraw an after-sale",
    description="While the shop has not decided, or an accepted return has not been sent "
    "back (409 `invalid_aftersale_transition` otherwise); its units may be asked for again. "
    "Emits `aftersale.updated`.",
    response_model=AfterSale,
    responses=problem_responses(
        *BUYER_ERRORS, 400, 422, AfterSaleNotFound, InvalidAfterSaleTransition
    ),
)
async def cancel_my_aftersale(aftersale_id: AfterSaleId, buyer: BuyerAuth, uow: UoW) -> AfterSale:
    return AfterSale.of(await services.cancel_by_buyer(uow, buyer.account_id, aftersale_id))


@router.post(
    "/aftersales/{aftersale_id}/return-shipment",
    operation_id="shipMyAftersaleBack",
    summary="Send the goods of an accepted return back",
    description="With the carrier and its waybill number (checked against the carrier's "
    "published format), to the shop's return address; the shop then confirms receipt (or, "
    "after `MINISHOP_AFTERSALE_RECEIPT_DAYS` (10) without it, the platform refunds). An "
    "accepted return not sent back within `MINISHOP_AFTERSALE_RETURN_DAYS` (7) closes. "
    "Emits `aftersale.updated`.",
    response_model=AfterSale,
    responses=problem_responses(
        *BUYER_ERRORS,
        *_BODY,
        AfterSaleNotFound,
        InvalidAfterSaleTransition,
        CarrierUnknown,
        WaybillInvalid,
    ),
)
async def ship_my_aftersale_back(
    aftersale_id: AfterSaleId,
    body: ReturnShipmentIn,
    buyer: BuyerAuth,
    uow: UoW,
    container: ContainerDep,
) -> AfterSale:
    aftersale = await services.ship_back(
        uow,
        buyer.account_id,
        aftersale_id,
        carrier_code=body.carrier,
        waybill_no=body.waybill_no,
        times=container.settings.aftersale_times,
    )
    return AfterSale.of(aftersale)
