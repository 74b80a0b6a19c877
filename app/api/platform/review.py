"""Platform operator surface: the review queue, approvals, suspensions."""

from __future__ import annotations

from app.api.deps import (
    OPERATOR_READ_ERRORS,
    OPERATOR_WRITE_ERRORS,
    ContainerDep,
    OperatorRead,
    OperatorWrite,
    UoW,
)
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import ShopIdPath
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.shops import ReasonInput, Shop, ShopQualification, qualification_out, shop_out
from app.domain.errors import InvalidTransition
from app.domain.shops import services
from app.domain.shops.errors import ShopNotFound

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1/platform", tags=["Platform: review"])

_ERRORS = problem_responses(
    *OPERATOR_WRITE_ERRORS, 400, 413, 415, 422, ShopNotFound, InvalidTransition
)


@router.get(
    "/review-queue/shops",
    operation_id="listShopReviewQueue",
    summary="Shops waiting for qualification review, oldest first",
    response_model=ListResponse[Shop],
    responses=problem_responses(*OPERATOR_READ_ERRORS, *PAGE_ERRORS),
)
async def shop_queue(ctx: OperatorRead, uow: UoW, page: PageParams) -> ListResponse[Shop]:
    result = await services.review_queue(uow, page)
    return ListResponse[Shop](
        data=[shop_out(s) for s in result.items], next_cursor=encode_cursor(result.next_after)
    )


@router.get(
    "/shops/{shop_id}",
    operation_id="platformGetShop",
    summary="Any shop, as the platform sees it",
    response_model=Shop,
    responses=problem_responses(*OPERATOR_READ_ERRORS, 422, ShopNotFound),
)
async def get_shop(shop_id: ShopIdPath, ctx: OperatorRead, uow: UoW) -> Shop:
    shop = await services.shop_or_404(uow, shop_id)
    return shop_out(shop)


@router.get(
    "/shops/{shop_id}/qualification",
    operation_id="platformGetShopQualification",
    summary="A shop's submitted qualification, masked",
    description="What the operator reviews before approving or rejecting. Identity and bank "
    "numbers are masked as on the merchant's own read.",
    response_model=ShopQualification,
    responses=problem_responses(*OPERATOR_READ_ERRORS, 422, ShopNotFound, 404),
)
async def get_qualification(
    shop_id: ShopIdPath, ctx: OperatorRead, uow: UoW, container: ContainerDep
) -> ShopQualification:
    shop, q = await services.qualification_for_review(uow, shop_id)
    return qualification_out(shop, q, container.cipher)


@router.post(
    "/shops/{shop_id}/approve",
    operation_id="approveShop",
    summary="Approve a shop's qualifications",
    response_model=Shop,
    responses=_ERRORS,
)
async def approve(shop_id: ShopIdPath, ctx: OperatorWrite, uow: UoW) -> Shop:
    shop = await services.operator_action(uow, ctx.actor, shop_id, "approve")
    return shop_out(shop)


@router.post(
    "/shops/{shop_id}/reject",
    operation_id="rejectShop",
    summary="Reject a shop's qualifications with a reason",
    response_model=Shop,
    responses=_ERRORS,
)
async def reject(shop_id: ShopIdPath, body: ReasonInput, ctx: OperatorWrite, uow: UoW) -> Shop:
    shop = await services.operator_action(uow, ctx.actor, shop_id, "reject", reason=body.reason)
    return shop_out(shop)


@router.post(
    "/shops/{shop_id}/suspend",
    operation_id="suspendShop",
    summary="Suspend a shop",
    response_model=Shop,
    responses=_ERRORS,
)
async def suspend(shop_id: ShopIdPath, body: ReasonInput, ctx: OperatorWrite, uow: UoW) -> Shop:
    shop = await services.operator_action(uow, ctx.actor, shop_id, "suspend", reason=body.reason)
    return shop_out(shop)


@router.post(
    "/shops/{shop_id}/reinstate",
    operation_id="reinstateShop",
    summary="Lift a suspension",
    response_model=Shop,
    responses=_ERRORS,
)
async def reinstate(shop_id: ShopIdPath, ctx: OperatorWrite, uow: UoW) -> Shop:
    shop = await services.operator_action(uow, ctx.actor, shop_id, "reinstate")
    return shop_out(shop)
