"""Open API: the shop's orders — read and sync them, annotate, re-price unpaid ones, ship —
and the carriers a shipment names."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Path, Query, Response, status

from app.api.deps import ContainerDep, IfMatch, UoW, set_etag
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import require_zone
from app.api.provider import PROVIDER_ERRORS, PROVIDER_WRITE_ERRORS, OrdersRead, OrdersWrite
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.order_documents import order_document
from app.api.schemas.orders import (
    ORDER_EXAMPLE,
    SHIPMENT_EXAMPLE,
    Carrier,
    CarrierList,
    MerchantNote,
    Order,
    PriceChange,
    Shipment,
    ShipmentCreate,
    ShipmentUpdate,
)
from app.api.schemas.payments import OrderCancellation, Payment, PaymentList
from app.api.schemas.product_documents import json_response
from app.api.v1 import order_actions as actions
from app.container import ConcurrentUpdate
from app.domain.aftersales import services as aftersales
from app.domain.errors import PreconditionFailed, ValidationFailed
from app.domain.orders import payment_services as payments
from app.domain.orders import pickup_services, services
from app.domain.orders.carriers import CARRIERS
from app.domain.orders.errors import (
    CarrierUnknown,
    InvalidOrderTransition,
    NoPaymentToRefund,
    OrderNotFound,
    QuantityInvalid,
    ShipmentNotFound,
    WaybillInvalid,
)
from app.domain.orders.model import OrderFilter, OrderStatus

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: orders"])

OrderId = Annotated[
    str, Path(max_length=40, description="The order's id.", examples=[ORDER_EXAMPLE])
]
ShipmentId = Annotated[
    str, Path(max_length=40, description="The shipment's id.", examples=[SHIPMENT_EXAMPLE])
]

_READ = (*PROVIDER_ERRORS, 422)
_WRITE = (*PROVIDER_WRITE_ERRORS, 400, 413, 415, 422, ConcurrentUpdate)


def _time(name: str, description: str) -> object:
    return Query(alias=name, description=description, examples=["2026-11-25T08:00:00Z"])


@router.get(
    "/orders",
    operation_id="listOrders",
    summary="The shop's orders",
    description="Scope `orders:read`. Newest first; with `updated_since` (or "
    "`sort=updated_at`) oldest change first by `(updated_at, id)`, so `updated_since` plus "
    "the cursor is an incremental sync. Each order comes with its lines and shipments. Time "
    "ranges include `*_from` and exclude `*_to`.",
    response_model=ListResponse[Order],
    responses=problem_responses(*_READ, *PAGE_ERRORS),
)
async def list_orders(
    access: OrdersRead,
    uow: UoW,
    page: PageParams,
    response: Response,
    status_: Annotated[
        list[OrderStatus] | None,
        Query(alias="status", description="Only in these statuses (repeat it).", examples=[[20]]),
    ] = None,
    created_from: Annotated[datetime | None, _time("created_from", "Created at or after.")] = None,
    created_to: Annotated[datetime | None, _time("created_to", "Created before.")] = None,
    updated_from: Annotated[datetime | None, _time("updated_from", "Changed at or after.")] = None,
    updated_to: Annotated[datetime | None, _time("updated_to", "Changed before.")] = None,
    paid_from: Annotated[datetime | None, _time("paid_from", "Paid at or after.")] = None,
    paid_to: Annotated[datetime | None, _time("paid_to", "Paid before.")] = None,
    updated_since: Annotated[
        datetime | None,
        _time("updated_since", "Changed at or after this time, oldest change first (sync)."),
    ] = None,
    sort: Annotated[
        str,
        Query(
            pattern="^(created_at|updated_at)$",
            description="`created_at` (newest first, the default) or `updated_at` (oldest "
            "change first).",
            examples=["updated_at"],
        ),
    ] = "created_at",
) -> Response:
    require_zone(
        created_from=created_from,
        created_to=created_to,
        updated_from=updated_from,
        updated_to=updated_to,
        paid_from=paid_from,
        paid_to=paid_to,
        updated_since=updated_since,
    )
    if updated_since is not None and updated_from is not None:
        raise ValidationFailed.field("query.updated_since", "Give updated_since or updated_from.")
    f = OrderFilter(
        statuses=frozenset(status_ or ()),
        created_from=created_from,
        created_to=created_to,
        updated_from=updated_since or updated_from,
        updated_to=updated_to,
        paid_from=paid_from,
        paid_to=paid_to,
        by_updated=updated_since is not None or sort == "updated_at",
    )
    result = await services.read_page(uow, access.shop_id, page, f)
    return json_response(
        {
            "data": [order_document(o) for o in result.items],
            "next_cursor": encode_cursor(result.next_after),
        },
        response,
    )


@router.get(
    "/orders/{order_id}",
    operation_id="getOrder",
    summary="One order",
    description="Scope `orders:read`: its lines with the snapshot taken at order time, "
    "amounts (fen), the buyer's address and notes, shipments, its after-sales in brief, its "
    "shipping insurance and timestamps.",
    response_model=Order,
    responses=problem_responses(*_READ, OrderNotFound),
)
async def get_order(
    order_id: OrderId, access: OrdersRead, uow: UoW, response: Response
) -> Response:
    order = await services.read_one(uow, access.shop_id, order_id)
    order["aftersales"] = [
        {
            "id": a.id,
            "type": a.type.value,
            "status": a.status.value,
            "amount": a.amount,
            "created_at": a.created_at,
        }
        for a in await aftersales.of_order(uow, access.shop_id, order_id)
    ]
    order["insurance"] = await services.insurance_of(uow, access.shop_id, order_id)
    set_etag(response, order["version"])
    return json_response(order_document(order), response)


@router.get(
    "/orders/{order_id}/payments",
    operation_id="listOrderPayments",
    summary="An order's payments",
    description="Scope `orders:read`: every payment made for the order, oldest first, with "
    "its status (`succeeded` paid the order; `refunded` went back and why, "
    "`refund_reason`), the gateway's reference and transaction, and when it was paid or "
    "refunded.",
    response_model=PaymentList,
    responses=problem_responses(*_READ, OrderNotFound),
)
async def list_order_payments(order_id: OrderId, access: OrdersRead, uow: UoW) -> PaymentList:
    order = await services.get(uow, access.shop_id, order_id)
    return PaymentList(data=[Payment.of(p) for p in await payments.of_order(uow, order)])


@router.put(
    "/orders/{order_id}/merchant-note",
    operation_id="setOrderMerchantNote",
    summary="Set the shop's note on an order",
    description="Scope `orders:write`. Honours `If-Match`.",
    response_model=Order,
    responses=problem_responses(*_WRITE, 412, PreconditionFailed, OrderNotFound),
)
async def set_merchant_note(
    order_id: OrderId,
    body: MerchantNote,
    access: OrdersWrite,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> Order:
    order = await actions.set_merchant_note(uow, access, order_id, body.note, expected)
    set_etag(response, order.version)
    return order


@router.post(
    "/orders/{order_id}/price",
    operation_id="changeOrderPrice",
    summary="Change line prices or the freight of an unpaid order",
    description="Scope `orders:write`. Status 10 only (409 `invalid_order_transition` "
    "otherwise); `If-Match` with the order's `ETag` makes sure the buyer has not paid the "
    "price you read in between. Emits `order.price_changed`.",
    response_model=Order,
    responses=problem_responses(
        *_WRITE, 412, PreconditionFailed, OrderNotFound, InvalidOrderTransition
    ),
)
async def change_price(
    order_id: OrderId,
    body: PriceChange,
    access: OrdersWrite,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> Order:
    if not body.lines and body.freight is None:
        raise ValidationFailed.field("body", "Give new line prices, a new freight, or both.")
    order = await services.reprice(
        uow,
        access.actor,
        access.shop_id,
        order_id,
        unit_prices={x.line_id: x.unit_price for x in body.lines},
        freight=body.freight,
        expected_version=expected,
    )
    set_etag(response, order.version)
    return Order.of(order, await services.shipments_of(uow, order))


@router.post(
    "/orders/{order_id}/cancellation",
    operation_id="cancelOrder",
    summary="Cancel an order before it ships",
    description="Scope `orders:write`. Status 10 or 20 (409 `invalid_order_transition` once "
    "anything shipped): the stock goes back and, if the order was paid, its payment is "
    "refunded in full through its gateway (`payment.refunded`). Emits `order.cancelled` "
    "with reason `provider`; your `reason` is kept on the order (`cancel_note`) and in "
    "the shop's audit log.",
    response_model=Order,
    responses=problem_responses(*_WRITE, OrderNotFound, InvalidOrderTransition, NoPaymentToRefund),
)
async def cancel_order(
    order_id: OrderId,
    body: OrderCancellation,
    access: OrdersWrite,
    uow: UoW,
    response: Response,
) -> Order:
    order = await actions.cancel(uow, access, order_id, body.reason)
    set_etag(response, order.version)
    return order


@router.post(
    "/orders/{order_id}/pickup-ready",
    operation_id="markOrderReadyForPickup",
    summary="Mark a paid pickup order ready at its pickup point",
    description="Scope `orders:write`. A pickup order (`delivery_method: pickup`) in status 20 "
    "only (409 `invalid_order_transition` otherwise, express orders included): "
    "`ready_for_pickup_at` is set (the status stays 20) and `order.ready_for_pickup` emitted; "
    "the buyer's pickup code now completes it (`POST /v1/pickup-verifications`). Saying it "
    "again changes nothing.",
    response_model=Order,
    responses=problem_responses(*_WRITE, OrderNotFound, InvalidOrderTransition),
)
async def mark_ready_for_pickup(
    order_id: OrderId, access: OrdersWrite, uow: UoW, response: Response
) -> Order:
    order = await pickup_services.mark_ready(uow, access.actor, access.shop_id, order_id)
    set_etag(response, order.version)
    return await actions.full(uow, order)


@router.post(
    "/orders/{order_id}/shipments",
    operation_id="createOrderShipment",
    summary="Ship units of an order",
    description="Scope `orders:write`. The Mini Shop's `delivery/send`: a carrier code, its "
    "waybill number (checked against the carrier's published format) and the units of each "
    "line that left (none: everything not yet shipped). Status 20 or 21; some units left → "
    "21 partially shipped, all → 30 awaiting receipt. Emits `order.shipped`. A pickup order "
    "is never shipped (409 `invalid_order_transition`).",
    status_code=status.HTTP_201_CREATED,
    response_model=Shipment,
    responses=problem_responses(
        *_WRITE,
        OrderNotFound,
        InvalidOrderTransition,
        QuantityInvalid,
        WaybillInvalid,
        CarrierUnknown,
    ),
)
async def create_shipment(
    order_id: OrderId,
    body: ShipmentCreate,
    access: OrdersWrite,
    uow: UoW,
    container: ContainerDep,
) -> Shipment:
    _, shipment = await actions.ship(
        uow,
        access,
        order_id,
        body,
        auto_confirm_after=timedelta(days=container.settings.order_auto_confirm_days),
    )
    return Shipment.of(shipment)


@router.patch(
    "/orders/{order_id}/shipments/{shipment_id}",
    operation_id="updateOrderShipment",
    summary="Correct a shipment's waybill",
    description="Scope `orders:write`. Until the order is received (status 21 or 30).",
    response_model=Shipment,
    responses=problem_responses(
        *_WRITE,
        OrderNotFound,
        ShipmentNotFound,
        InvalidOrderTransition,
        WaybillInvalid,
        CarrierUnknown,
    ),
)
async def update_shipment(
    order_id: OrderId,
    shipment_id: ShipmentId,
    body: ShipmentUpdate,
    access: OrdersWrite,
    uow: UoW,
) -> Shipment:
    shipment = await services.change_waybill(
        uow,
        access.actor,
        access.shop_id,
        order_id,
        shipment_id,
        carrier_code=body.carrier,
        waybill_no=body.waybill_no,
    )
    return Shipment.of(shipment)


@router.get(
    "/logistics/carriers",
    operation_id="listCarriers",
    summary="The carriers a shipment may name",
    description="Public, no credential. Stable codes, names, and each carrier's published "
    "waybill format where there is one.",
    response_model=CarrierList,
    responses=problem_responses(),
)
async def list_carriers(response: Response) -> CarrierList:
    response.headers["Cache-Control"] = "public, max-age=3600"
    return CarrierList(data=[Carrier.of(c) for c in CARRIERS])
