"""Open API: the shop's after-sales — read and sync them, accept or reject them, confirm the
goods of a return came back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Query

from app.api.deps import ContainerDep, UoW
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import require_zone
from app.api.provider import (
    PROVIDER_ERRORS,
    PROVIDER_WRITE_ERRORS,
    AftersalesRead,
    AftersalesWrite,
)
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.aftersales import (
    AFTERSALE_EXAMPLE,
    AfterSale,
    AfterSaleAcceptance,
    AfterSaleOrderQuery,
    AfterSaleRejection,
    AfterSaleSettingsIn,
    AfterSaleSettingsOut,
    AfterSaleStatusQuery,
    address_of,
)
from app.container import ConcurrentUpdate
from app.domain.aftersales import services
from app.domain.aftersales.errors import (
    AfterSaleNotFound,
    InvalidAfterSaleTransition,
    ReturnAddressRequired,
)
from app.domain.aftersales.model import AfterSaleStatus
from app.domain.aftersales.ports import AfterSaleFilter
from app.domain.orders.errors import PhoneInvalid, RegionUnknown

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: after-sales"])

AfterSaleId = Annotated[
    str, Path(max_length=40, description="The after-sale's id.", examples=[AFTERSALE_EXAMPLE])
]
_READ = (*PROVIDER_ERRORS, 422)
_WRITE = (*PROVIDER_WRITE_ERRORS, 400, 413, 415, 422, ConcurrentUpdate)


@router.get(
    "/aftersales",
    operation_id="listAftersales",
    summary="The shop's after-sales",
    description="Scope `aftersales:read`. Newest first; with `updated_since`, oldest change "
    "first by `(updated_at, id)`, so `updated_since` plus the cursor is an incremental sync. "
    "`created_from` is included, `created_to` excluded.",
    response_model=ListResponse[AfterSale],
    responses=problem_responses(*_READ, *PAGE_ERRORS),
)
async def list_aftersales(
    access: AftersalesRead,
    uow: UoW,
    page: PageParams,
    status_: AfterSaleStatusQuery = None,
    order_id: AfterSaleOrderQuery = None,
    created_from: Annotated[
        datetime | None,
        Query(description="Created at or after.", examples=["2026-11-25T08:00:00Z"]),
    ] = None,
    created_to: Annotated[
        datetime | None, Query(description="Created before.", examples=["2026-11-26T08:00:00Z"])
    ] = None,
    updated_since: Annotated[
        datetime | None,
        Query(
            description="Changed at or after this time, oldest change first (sync).",
            examples=["2026-11-25T08:00:00Z"],
        ),
    ] = None,
) -> ListResponse[AfterSale]:
    require_zone(created_from=created_from, created_to=created_to, updated_since=updated_since)
    f = AfterSaleFilter(
        statuses=frozenset(AfterSaleStatus(s) for s in status_ or ()),
        order_id=order_id,
        created_from=created_from,
        created_to=created_to,
        updated_since=updated_since,
    )
    result = await services.list_for_shop(uow, access.shop_id, page, f)
    return ListResponse[AfterSale](
        data=[AfterSale.of(a) for a in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/aftersales/settings",
    operation_id="getAftersaleSettings",
    summary="The shop's after-sales settings",
    description="Scope `aftersales:read`. The defaults until the shop sets them: no return "
    "address, returned goods back into stock, no shipping insurance.",
    response_model=AfterSaleSettingsOut,
    responses=problem_responses(*_READ),
)
async def get_aftersale_settings(access: AftersalesRead, uow: UoW) -> AfterSaleSettingsOut:
    return AfterSaleSettingsOut.of(await services.settings_of(uow, access.shop_id))


@router.put(
    "/aftersales/settings",
    operation_id="setAftersaleSettings",
    summary="Set the shop's after-sales settings",
    description="Scope `aftersales:write`. `return_address`: where returns go back to when "
    "an acceptance names none, and for those the platform accepts when the shop does not "
    "answer (without it, a return waits for the shop); `restock_returns`: whether goods the "
    "shop confirms it got back go back into stock; `shipping_insurance`: whether the shop "
    "insures its orders' return shipping (the premium, `MINISHOP_INSURANCE_PREMIUM` fen, "
    "is paid out of each order when its goods first leave; a completed return of an "
    "insured order is compensated to the buyer by the platform).",
    response_model=AfterSaleSettingsOut,
    responses=problem_responses(*_WRITE, PhoneInvalid, RegionUnknown),
)
async def set_aftersale_settings(
    body: AfterSaleSettingsIn, access: AftersalesWrite, uow: UoW
) -> AfterSaleSettingsOut:
    address = address_of(body.return_address)
    settings = await services.update_settings(
        uow,
        access.actor,
        access.shop_id,
        return_address=address,
        restock_returns=body.restock_returns,
        shipping_insurance=body.shipping_insurance,
    )
    return AfterSaleSettingsOut.of(settings)


@router.get(
    "/aftersales/{aftersale_id}",
    operation_id="getAftersale",
    summary="One after-sale",
    description="Scope `aftersales:read`.",
    response_model=AfterSale,
    responses=problem_responses(*_READ, AfterSaleNotFound),
)
async def get_aftersale(aftersale_id: AfterSaleId, access: AftersalesRead, uow: UoW) -> AfterSale:
    return AfterSale.of(await services.get(uow, access.shop_id, aftersale_id))


@router.post(
    "/aftersales/{aftersale_id}/acceptance",
    operation_id="acceptAftersale",
    summary="Accept an after-sale",
    description="Scope `aftersales:write`. While the shop has not decided (409 "
    "`invalid_aftersale_transition` otherwise). A `refund` goes to the platform to pay "
    "(`platform_refunding`), its refund asked of the payment gateway; a `return_refund` "
    "needs `return_address` (or the shop's, from `PUT /v1/aftersales/settings`) and waits for "
    "the buyer to send the goods (`user_wait_return`). Emits `aftersale.updated`.",
    response_model=AfterSale,
    responses=problem_responses(
        *_WRITE,
        AfterSaleNotFound,
        InvalidAfterSaleTransition,
        ReturnAddressRequired,
        PhoneInvalid,
        RegionUnknown,
    ),
)
async def accept_aftersale(
    aftersale_id: AfterSaleId,
    body: AfterSaleAcceptance,
    access: AftersalesWrite,
    uow: UoW,
    container: ContainerDep,
) -> AfterSale:
    address = address_of(body.return_address)
    aftersale = await services.accept(
        uow,
        access.actor,
        access.shop_id,
        aftersale_id,
        address=address,
        times=container.settings.aftersale_times,
    )
    return AfterSale.of(aftersale)


@router.post(
    "/aftersales/{aftersale_id}/rejection",
    operation_id="rejectAftersale",
    summary="Reject an after-sale",
    description="Scope `aftersales:write`. While the shop has not decided, with the reason "
    "the buyer reads; its units may be asked for again. Emits `aftersale.updated`.",
    response_model=AfterSale,
    responses=problem_responses(*_WRITE, AfterSaleNotFound, InvalidAfterSaleTransition),
)
async def reject_aftersale(
    aftersale_id: AfterSaleId, body: AfterSaleRejection, access: AftersalesWrite, uow: UoW
) -> AfterSale:
    aftersale = await services.reject(
        uow, access.actor, access.shop_id, aftersale_id, reason=body.reason
    )
    return AfterSale.of(aftersale)


@router.post(
    "/aftersales/{aftersale_id}/return-receipt",
    operation_id="confirmAftersaleReturn",
    summary="Confirm the goods of a return came back",
    description="Scope `aftersales:write`. Once the buyer sent them (`merchant_wait_receipt`; "
    "409 `invalid_aftersale_transition` otherwise): the goods go back into stock (unless the "
    "shop's settings say not to) and the refund is asked of the payment gateway. "
    "Emits `aftersale.updated`.",
    response_model=AfterSale,
    responses=problem_responses(
        *PROVIDER_WRITE_ERRORS,
        400,
        422,
        ConcurrentUpdate,
        AfterSaleNotFound,
        InvalidAfterSaleTransition,
    ),
)
async def confirm_aftersale_return(
    aftersale_id: AfterSaleId, access: AftersalesWrite, uow: UoW
) -> AfterSale:
    aftersale = await services.confirm_receipt(uow, access.actor, access.shop_id, aftersale_id)
    return AfterSale.of(aftersale)
