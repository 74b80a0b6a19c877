"""Open API: in-store pickup — the shop's pickup points (scopes `logistics:read` /
`logistics:write`) and the verification of a buyer's pickup code (`orders:write`). Another
shop's ids are not found (404); another shop's code is as wrong as any."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response, status

from app.api.deps import IfMatch, UoW, keep_writes_on_error, set_etag
from app.api.errors import domain_error_response, problem_responses
from app.api.openapi import sets_headers
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.provider import (
    PROVIDER_ERRORS,
    PROVIDER_WRITE_ERRORS,
    LogisticsRead,
    LogisticsWrite,
    OrdersWrite,
)
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.orders import Order
from app.api.schemas.pickup import (
    PICKUP_POINT_ID_EXAMPLE,
    PickupPoint,
    PickupPointCreate,
    PickupPointUpdate,
    PickupVerification,
)
from app.api.v1 import order_actions as actions
from app.container import ConcurrentUpdate
from app.domain.errors import PreconditionFailed
from app.domain.orders import pickup_services as pickup
from app.domain.orders.errors import (
    PhoneInvalid,
    PickupCodeInvalid,
    PickupCodeThrottled,
    PickupPointLimitReached,
    PickupPointNotFound,
    RegionUnknown,
)
from app.domain.orders.pickup import MAX_PICKUP_POINTS, WRONG_CODES_PER_WINDOW, PickupPointChanges

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: pickup"])

POINTS = "/v1/pickup-points"
_BODY = (400, 413, 415, 422)

PointId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The pickup point's id (`pkp_…`).",
        examples=[PICKUP_POINT_ID_EXAMPLE],
    ),
]


@router.get(
    "/pickup-points",
    operation_id="listPickupPoints",
    summary="The shop's pickup points",
    description="Scope `logistics:read`. Oldest first, enabled or not.",
    response_model=ListResponse[PickupPoint],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_pickup_points(
    access: LogisticsRead, uow: UoW, page: PageParams
) -> ListResponse[PickupPoint]:
    result = await pickup.list_points(uow, access.shop_id, page)
    return ListResponse[PickupPoint](
        data=[PickupPoint.of(p) for p in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.post(
    "/pickup-points",
    operation_id="createPickupPoint",
    summary="Add a pickup point",
    description="Scope `logistics:write`. A store where buyers collect pickup orders: "
    "address (GB/T 2260 district code), opening hours, a contact. `enabled: false` keeps it "
    f"from buyers until enabled. At most {MAX_PICKUP_POINTS} points; audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=PickupPoint,
    responses={
        **sets_headers(201, etag=True, location=True),
        **problem_responses(
            *PROVIDER_WRITE_ERRORS,
            *_BODY,
            PhoneInvalid,
            RegionUnknown,
            PickupPointLimitReached,
        ),
    },
)
async def create_pickup_point(
    body: PickupPointCreate, access: LogisticsWrite, uow: UoW, response: Response
) -> PickupPoint:
    point = await pickup.create_point(
        uow,
        access.actor,
        access.shop_id,
        name=body.name,
        region_code=body.region_code,
        detail=body.detail,
        hours=body.hours,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        enabled=body.enabled,
    )
    set_etag(response, point.version)
    response.headers["Location"] = f"{POINTS}/{point.id}"
    return PickupPoint.of(point)


@router.get(
    "/pickup-points/{pickup_point_id}",
    operation_id="getPickupPoint",
    summary="One pickup point",
    description="Scope `logistics:read`.",
    response_model=PickupPoint,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(*PROVIDER_ERRORS, 422, PickupPointNotFound),
    },
)
async def get_pickup_point(
    pickup_point_id: PointId, access: LogisticsRead, uow: UoW, response: Response
) -> PickupPoint:
    point = await pickup.get_point(uow, access.shop_id, pickup_point_id)
    set_etag(response, point.version)
    return PickupPoint.of(point)


@router.patch(
    "/pickup-points/{pickup_point_id}",
    operation_id="updatePickupPoint",
    summary="Change a pickup point, or turn it on or off",
    description="Scope `logistics:write`. Send the `ETag` you read as `If-Match` (412 if the "
    "point changed since). Orders already placed keep the point as it was; `enabled: false` "
    "stops offering it for new orders (those placed for it are collected as before).",
    response_model=PickupPoint,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(
            *PROVIDER_WRITE_ERRORS,
            *_BODY,
            PickupPointNotFound,
            PhoneInvalid,
            RegionUnknown,
            PreconditionFailed,
            ConcurrentUpdate,
        ),
    },
)
async def update_pickup_point(
    pickup_point_id: PointId,
    body: PickupPointUpdate,
    access: LogisticsWrite,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> PickupPoint:
    point = await pickup.update_point(
        uow,
        access.actor,
        access.shop_id,
        pickup_point_id,
        PickupPointChanges(
            name=body.name,
            region_code=body.region_code,
            detail=body.detail,
            hours=body.hours,
            contact_name=body.contact_name,
            contact_phone=body.contact_phone,
            enabled=body.enabled,
        ),
        expected_version=expected,
    )
    set_etag(response, point.version)
    return PickupPoint.of(point)


@router.delete(
    "/pickup-points/{pickup_point_id}",
    operation_id="deletePickupPoint",
    summary="Delete a pickup point",
    description="Scope `logistics:write`. Orders placed for it keep it (their `pickup_point`) "
    "and are collected as before.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*PROVIDER_WRITE_ERRORS, 422, PickupPointNotFound),
)
async def delete_pickup_point(pickup_point_id: PointId, access: LogisticsWrite, uow: UoW) -> None:
    # No Response of our own: the injected one carries the rate-limit headers.
    await pickup.delete_point(uow, access.actor, access.shop_id, pickup_point_id)


VERIFY_DESCRIPTION = (
    "The pickup code the buyer shows completes its pickup order once the shop marked it "
    "ready: status 100, `order.received` (`received_by: pickup`) then `order.completed`; "
    "the order is settled as after a confirmed receipt. Any other code — unknown, another "
    "shop's, an order not ready yet, collected or cancelled — is one answer, 422 "
    "`pickup_code_invalid`, that says nothing of which; each is counted against the shop and "
    f"audited. After {WRONG_CODES_PER_WINDOW} wrong codes within a minute every code, right "
    "ones too, is refused with 429 `pickup_code_throttled` and `Retry-After` until the "
    "minute ends (the count is the shop's, whoever enters the codes)."
)


@router.post(
    "/pickup-verifications",
    operation_id="verifyPickupCode",
    summary="Verify a buyer's pickup code: the order is collected",
    description=f"Scope `orders:write`. {VERIFY_DESCRIPTION}",
    response_model=Order,
    responses=problem_responses(
        *PROVIDER_WRITE_ERRORS, *_BODY, ConcurrentUpdate, PickupCodeInvalid, PickupCodeThrottled
    ),
)
async def verify_pickup_code(
    body: PickupVerification,
    access: OrdersWrite,
    uow: UoW,
    request: Request,
    response: Response,
) -> Order | Response:
    try:
        order = await pickup.verify_code(uow, access.actor, access.shop_id, body.code)
    except PickupCodeInvalid as e:
        keep_writes_on_error(request)  # the wrong code stays counted
        return domain_error_response(request, e)
    set_etag(response, order.version)
    return await actions.full(uow, order)
