"""Merchant: the shop's after-sales, read by its members (`orders.read`) and decided by those
whose role handles them (`aftersales.manage`: owners, admins, customer service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.api.deps import (
    MERCHANT_ERRORS,
    SESSION_ERRORS,
    ContainerDep,
    CurrentAccount,
    MerchantSession,
    UoW,
)
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import ShopIdPath
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.aftersales import (
    AFTERSALE_EXAMPLE,
    AfterSale,
    AfterSaleAcceptance,
    AfterSaleOrderQuery,
    AfterSaleRejection,
    AfterSaleStatusQuery,
    address_of,
)
from app.domain.aftersales import services
from app.domain.aftersales.errors import (
    AfterSaleNotFound,
    InvalidAfterSaleTransition,
    ReturnAddressRequired,
)
from app.domain.aftersales.model import AfterSaleStatus
from app.domain.aftersales.ports import AfterSaleFilter
from app.domain.orders.errors import NoPaymentToRefund, PhoneInvalid, RegionUnknown
from app.domain.shops.errors import PermissionDenied, ShopNotFound, ShopSuspended

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/merchant/shops/{shop_id}", tags=["Merchant: orders"]
)

AfterSaleId = Annotated[
    str, Path(max_length=40, description="The after-sale's id.", examples=[AFTERSALE_EXAMPLE])
]
_READ = (*SESSION_ERRORS, 422, ShopNotFound, PermissionDenied)
_WRITE = (*MERCHANT_ERRORS, 400, 413, 415, 422, ShopNotFound, PermissionDenied, ShopSuspended)


@router.get(
    "/aftersales",
    operation_id="listShopAftersales",
    summary="The shop's after-sales",
    description="Permission `orders.read`. Newest first; `status` repeats.",
    response_model=ListResponse[AfterSale],
    responses=problem_responses(*_READ, *PAGE_ERRORS),
)
async def list_shop_aftersales(
    shop_id: ShopIdPath,
    ctx: CurrentAccount,
    uow: UoW,
    page: PageParams,
    status_: AfterSaleStatusQuery = None,
    order_id: AfterSaleOrderQuery = None,
) -> ListResponse[AfterSale]:
    await services.member_reads(uow, ctx.actor.id, shop_id)
    f = AfterSaleFilter(
        statuses=frozenset(AfterSaleStatus(s) for s in status_ or ()), order_id=order_id
    )
    result = await services.list_for_shop(uow, shop_id, page, f)
    return ListResponse[AfterSale](
        data=[AfterSale.of(a) for a in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/aftersales/{aftersale_id}",
    operation_id="getShopAftersale",
    summary="One of the shop's after-sales",
    description="Permission `orders.read`.",
    response_model=AfterSale,
    responses=problem_responses(*_READ, AfterSaleNotFound),
)
async def get_shop_aftersale(
    shop_id: ShopIdPath, aftersale_id: AfterSaleId, ctx: CurrentAccount, uow: UoW
) -> AfterSale:
    await services.member_reads(uow, ctx.actor.id, shop_id)
    return AfterSale.of(await services.get(uow, shop_id, aftersale_id))


@router.post(
    "/aftersales/{aftersale_id}/acceptance",
    operation_id="acceptShopAftersale",
    summary="Accept one of the shop's after-sales",
    description="Permission `aftersales.manage`; CSRF token required. As "
    "`POST /v1/aftersales/{aftersale_id}/acceptance`: a refund goes to the payment gateway, a "
    "return waits for the goods (its address given, or the shop's). Not while the shop is "
    "suspended.",
    response_model=AfterSale,
    responses=problem_responses(
        *_WRITE,
        AfterSaleNotFound,
        InvalidAfterSaleTransition,
        ReturnAddressRequired,
        PhoneInvalid,
        RegionUnknown,
        NoPaymentToRefund,
    ),
)
async def accept_shop_aftersale(
    shop_id: ShopIdPath,
    aftersale_id: AfterSaleId,
    body: AfterSaleAcceptance,
    ctx: MerchantSession,
    uow: UoW,
    container: ContainerDep,
) -> AfterSale:
    await services.member_decides(uow, ctx.actor.id, shop_id)
    address = address_of(body.return_address)
    aftersale = await services.accept(
        uow,
        ctx.actor,
        shop_id,
        aftersale_id,
        address=address,
        times=container.settings.aftersale_times,
    )
    return AfterSale.of(aftersale)


@router.post(
    "/aftersales/{aftersale_id}/rejection",
    operation_id="rejectShopAftersale",
    summary="Reject one of the shop's after-sales",
    description="Permission `aftersales.manage`; CSRF token required. While the shop has not "
    "decided, with the reason the buyer reads.",
    response_model=AfterSale,
    responses=problem_responses(*_WRITE, AfterSaleNotFound, InvalidAfterSaleTransition),
)
async def reject_shop_aftersale(
    shop_id: ShopIdPath,
    aftersale_id: AfterSaleId,
    body: AfterSaleRejection,
    ctx: MerchantSession,
    uow: UoW,
) -> AfterSale:
    await services.member_decides(uow, ctx.actor.id, shop_id)
    aftersale = await services.reject(uow, ctx.actor, shop_id, aftersale_id, reason=body.reason)
    return AfterSale.of(aftersale)


@router.post(
    "/aftersales/{aftersale_id}/return-receipt",
    operation_id="confirmShopAftersaleReturn",
    summary="Confirm the goods of a return came back",
    description="Permission `aftersales.manage`; CSRF token required. Once the buyer sent "
    "them: back into stock (unless the shop's settings say not to), the refund to the "
    "payment gateway.",
    response_model=AfterSale,
    responses=problem_responses(
        *MERCHANT_ERRORS,
        400,
        422,
        ShopNotFound,
        PermissionDenied,
        ShopSuspended,
        AfterSaleNotFound,
        InvalidAfterSaleTransition,
        NoPaymentToRefund,
    ),
)
async def confirm_shop_aftersale_return(
    shop_id: ShopIdPath, aftersale_id: AfterSaleId, ctx: MerchantSession, uow: UoW
) -> AfterSale:
    await services.member_decides(uow, ctx.actor.id, shop_id)
    aftersale = await services.confirm_receipt(uow, ctx.actor, shop_id, aftersale_id)
    return AfterSale.of(aftersale)
