"""Platform operator surface: the product review queue, decisions and bans."""

from __future__ import annotations

from app.api.deps import (
    OPERATOR_READ_ERRORS,
    OPERATOR_WRITE_ERRORS,
    OperatorRead,
    OperatorWrite,
    UoW,
)
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import ProductId
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.product_documents import product_out
from app.api.schemas.products import Product
from app.api.schemas.shops import ReasonInput
from app.domain.catalog import product_lifecycle as lifecycle
from app.domain.catalog import product_services as services
from app.domain.catalog.errors import ProductNotFound
from app.domain.errors import InvalidTransition

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1/platform", tags=["Platform: review"])

_ERRORS = problem_responses(
    *OPERATOR_WRITE_ERRORS, 400, 413, 415, 422, ProductNotFound, InvalidTransition
)


@router.get(
    "/review-queue/products",
    operation_id="listProductReviewQueue",
    summary="Products waiting for review, oldest submission first",
    response_model=ListResponse[Product],
    responses=problem_responses(*OPERATOR_READ_ERRORS, *PAGE_ERRORS),
)
async def queue(ctx: OperatorRead, uow: UoW, page: PageParams) -> ListResponse[Product]:
    result = await lifecycle.review_queue(uow, page)
    skus = await services.skus_of(uow, result.items)
    return ListResponse[Product](
        data=[product_out(p, skus[p.id]) for p in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


async def _decide(
    uow: UoW, ctx: OperatorWrite, product_id: str, action: str, reason: str | None
) -> Product:
    product = await lifecycle.review(uow, ctx.actor, product_id, action, reason=reason)
    skus = await services.skus_of(uow, [product])
    return product_out(product, skus[product.id])


@router.post(
    "/products/{product_id}/approve",
    operation_id="approveProduct",
    summary="Pass a product's review",
    response_model=Product,
    responses=_ERRORS,
)
async def approve(product_id: ProductId, ctx: OperatorWrite, uow: UoW) -> Product:
    return await _decide(uow, ctx, product_id, "approve", None)


@router.post(
    "/products/{product_id}/reject",
    operation_id="rejectProduct",
    summary="Reject a product in review, with a reason",
    response_model=Product,
    responses=_ERRORS,
)
async def reject(product_id: ProductId, body: ReasonInput, ctx: OperatorWrite, uow: UoW) -> Product:
    return await _decide(uow, ctx, product_id, "reject", body.reason)


@router.post(
    "/products/{product_id}/ban",
    operation_id="banProduct",
    summary="Ban a product: taken off sale and never listed again",
    response_model=Product,
    responses=_ERRORS,
)
async def ban(product_id: ProductId, body: ReasonInput, ctx: OperatorWrite, uow: UoW) -> Product:
    return await _decide(uow, ctx, product_id, "ban", body.reason)
