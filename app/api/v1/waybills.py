"""Open API: electronic waybills. Issue one for an order through a bound carrier account
(and ship the order under it), read and list them, cancel before the carrier collects, and
print the label. Another shop's ids are not found (404)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Header, Path, Query, Response, status
from starlette.concurrency import run_in_threadpool

from app.api.deps import ContainerDep, UoW, set_etag
from app.api.errors import problem_responses
from app.api.openapi import sets_headers
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.provider import (
    PROVIDER_ERRORS,
    PROVIDER_WRITE_ERRORS,
    LogisticsRead,
    LogisticsWrite,
    OrdersRead,
    require_scope,
)
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.orders import ORDER_EXAMPLE, SHIPMENT_EXAMPLE
from app.api.schemas.waybills import (
    WAYBILL_ID_EXAMPLE,
    ShipmentTracking,
    TrackingStep,
    Waybill,
    WaybillCreate,
)
from app.api.v1.order_actions import line_quantities
from app.domain.authz.scopes import Scope
from app.domain.logistics import tracking
from app.domain.logistics import waybill_services as services
from app.domain.logistics.errors import (
    CarrierNotSupported,
    CarrierResponseInvalid,
    CarrierTimeout,
    CarrierUnavailable,
    DefaultSenderMissing,
    LogisticsAccountNotFound,
    ParcelWeightRequired,
    SenderAddressNotFound,
    WaybillCancelled,
    WaybillInUse,
    WaybillNotCancellable,
    WaybillNotFound,
    WaybillUnknown,
)
from app.domain.logistics.ports import WaybillFilter
from app.domain.logistics.waybills import EWaybill, WaybillStatus
from app.domain.orders.errors import (
    InvalidOrderTransition,
    OrderNotFound,
    QuantityInvalid,
    ShipmentNotFound,
)

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: logistics"])

_BODY = (400, 413, 415, 422)
_CARRIER = (CarrierUnavailable, CarrierTimeout, CarrierResponseInvalid)

OrderId = Annotated[
    str, Path(min_length=1, max_length=64, description="The order's id.", examples=[ORDER_EXAMPLE])
]
ShipmentId = Annotated[
    str,
    Path(
        min_length=1, max_length=64, description="The shipment's id.", examples=[SHIPMENT_EXAMPLE]
    ),
]
WaybillId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The waybill's id (`wb_…`).",
        examples=[WAYBILL_ID_EXAMPLE],
    ),
]


async def _out(uow: UoW, waybill: EWaybill) -> Waybill:
    used = await services.shipments_under(uow, [waybill])
    return Waybill.of(waybill, used.get(waybill.id))


@router.post(
    "/orders/{order_id}/waybills",
    operation_id="createOrderWaybill",
    summary="Issue an electronic waybill for an order",
    description="Scope `logistics:write` (and `orders:write` with `ship: true`). The bound "
    "carrier account asks its carrier for a waybill number: the sender from the shop's "
    "address book, the receiver from the order, the units of its lines (all not yet "
    "shipped by default) and the weight. The order must be paid and not fully shipped "
    "(status 20 or 21). With `ship: true` the units ship under the new number in the same "
    "transaction (`order.shipped`, the shipment in `shipment_id`). A carrier failure is a "
    "503/504/502 and changes nothing; retry with the same `Idempotency-Key` and the carrier "
    "is asked the same request, so it never issues a second waybill for it.",
    status_code=status.HTTP_201_CREATED,
    response_model=Waybill,
    responses={
        **sets_headers(201, location=True),
        **problem_responses(
            *PROVIDER_WRITE_ERRORS,
            *_BODY,
            OrderNotFound,
            LogisticsAccountNotFound,
            SenderAddressNotFound,
            DefaultSenderMissing,
            InvalidOrderTransition,
            QuantityInvalid,
            ParcelWeightRequired,
            CarrierNotSupported,
            *_CARRIER,
        ),
    },
)
async def create_waybill(
    order_id: OrderId,
    body: WaybillCreate,
    access: LogisticsWrite,
    uow: UoW,
    container: ContainerDep,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", include_in_schema=False)
    ] = None,
) -> Waybill:
    if body.ship:
        require_scope(access, Scope.ORDERS_WRITE)
    issued = await services.issue(
        uow,
        container.cipher,
        access.actor,
        access.shop_id,
        order_id,
        account_id=body.logistics_account_id,
        sender_address_id=body.sender_address_id,
        quantities=line_quantities(body.lines),
        weight_grams=body.weight_grams,
        ship=body.ship,
        request_key=idempotency_key,
        auto_confirm_after=timedelta(days=container.settings.order_auto_confirm_days),
    )
    response.headers["Location"] = f"/v1/waybills/{issued.waybill.id}"
    set_etag(response, issued.waybill.version)
    return Waybill.of(issued.waybill, issued.shipment.id if issued.shipment else None)


@router.get(
    "/orders/{order_id}/shipments/{shipment_id}/tracking",
    operation_id="getShipmentTracking",
    summary="Where a shipment's parcel is",
    description="Scope `orders:read`. The carrier's steps (collected, in transit, out for "
    "delivery, delivered, with locations), as the worker polled them, oldest first. Each "
    "poll that finds new steps also sends `shipment.tracking_updated`; the last shipment "
    "delivered sends `order.delivered`. Shipments under numbers the platform did not issue "
    "are not tracked (`tracked` false).",
    response_model=ShipmentTracking,
    responses=problem_responses(*PROVIDER_ERRORS, 422, OrderNotFound, ShipmentNotFound),
)
async def get_shipment_tracking(
    order_id: OrderId, shipment_id: ShipmentId, access: OrdersRead, uow: UoW
) -> ShipmentTracking:
    t = await tracking.of_shipment(uow, access.shop_id, order_id, shipment_id)
    w = t.waybill
    return ShipmentTracking(
        shipment_id=t.shipment.id,
        carrier=t.shipment.carrier,
        waybill_no=t.shipment.waybill_no,
        tracked=w is not None,
        waybill_id=w.id if w else None,
        stage=w.tracking_stage.value if w and w.tracking_stage else None,
        delivered_at=w.delivered_at if w else None,
        polled_at=w.tracked_at if w else None,
        events=[
            TrackingStep(
                stage=e.stage.value, at=e.at, location=e.location, description=e.description
            )
            for e in t.events
        ],
    )


@router.get(
    "/waybills",
    operation_id="listWaybills",
    summary="The shop's electronic waybills",
    description="Scope `logistics:read`. Oldest first; filter by order, status or issue time.",
    response_model=ListResponse[Waybill],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_waybills(
    access: LogisticsRead,
    uow: UoW,
    page: PageParams,
    order_id: Annotated[
        str | None,
        Query(max_length=64, description="Only this order's.", examples=[ORDER_EXAMPLE]),
    ] = None,
    waybill_status: Annotated[
        WaybillStatus | None,
        Query(alias="status", description="`issued` or `cancelled`.", examples=["issued"]),
    ] = None,
    created_from: Annotated[
        datetime | None,
        Query(description="Issued at or after (RFC 3339).", examples=["2026-11-25T00:00:00Z"]),
    ] = None,
    created_to: Annotated[
        datetime | None,
        Query(description="Issued before (RFC 3339).", examples=["2026-11-26T00:00:00Z"]),
    ] = None,
) -> ListResponse[Waybill]:
    f = WaybillFilter(order_id, waybill_status, created_from, created_to)
    result = await services.list_page(uow, access.shop_id, page, f)
    used = await services.shipments_under(uow, result.items)
    return ListResponse[Waybill](
        data=[Waybill.of(w, used.get(w.id)) for w in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/waybills/{waybill_id}",
    operation_id="getWaybill",
    summary="One electronic waybill",
    description="Scope `logistics:read`. The receiver's phone is masked as on the label.",
    response_model=Waybill,
    responses=problem_responses(*PROVIDER_ERRORS, 422, WaybillNotFound),
)
async def get_waybill(waybill_id: WaybillId, access: LogisticsRead, uow: UoW) -> Waybill:
    return await _out(uow, await services.get(uow, access.shop_id, waybill_id))


@router.post(
    "/waybills/{waybill_id}/cancellation",
    operation_id="cancelWaybill",
    summary="Cancel a waybill before the carrier collects the parcel",
    description="Scope `logistics:write`. The carrier cancels the number (409 "
    "`waybill_not_cancellable` once it collected the parcel). A waybill a shipment of the "
    "order travels under is not cancelled (409 `waybill_in_use`): change that shipment's "
    "waybill first. Cancelling twice is a 409 `waybill_cancelled`.",
    response_model=Waybill,
    responses=problem_responses(
        *PROVIDER_WRITE_ERRORS,
        422,
        WaybillNotFound,
        WaybillCancelled,
        WaybillInUse,
        WaybillNotCancellable,
        WaybillUnknown,
        LogisticsAccountNotFound,
        *_CARRIER,
    ),
)
async def cancel_waybill(
    waybill_id: WaybillId, access: LogisticsWrite, uow: UoW, container: ContainerDep
) -> Waybill:
    waybill = await services.cancel(uow, container.cipher, access.actor, access.shop_id, waybill_id)
    return Waybill.of(waybill, None)


@router.get(
    "/waybills/{waybill_id}/label.pdf",
    operation_id="getWaybillLabel",
    summary="The waybill's label (PDF)",
    description="Scope `logistics:read`. One 100 × 150 mm page: the carrier, a Code 128 "
    "barcode of the number, the receiver (phone masked in the middle) and the sender as the "
    "carrier was told, the order id and what is in the parcel. A cancelled waybill prints "
    "none (409 `waybill_cancelled`).",
    response_class=Response,
    responses={
        200: {
            "description": "The label.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(*PROVIDER_ERRORS, 422, WaybillNotFound, WaybillCancelled),
    },
)
async def get_waybill_label(
    waybill_id: WaybillId,
    access: LogisticsRead,
    uow: UoW,
    container: ContainerDep,
    response: Response,
) -> Response:
    waybill = await services.get(uow, access.shop_id, waybill_id)
    waybill.require_issued()
    pdf = await run_in_threadpool(container.label_pdf, waybill)
    headers = dict(response.headers)
    headers["Content-Disposition"] = f'inline; filename="{waybill.number}.pdf"'
    headers["Cache-Control"] = "private, no-cache"
    return Response(pdf, media_type="application/pdf", headers=headers)
