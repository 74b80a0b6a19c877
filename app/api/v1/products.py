"""Open API: the shop's products and SKUs, their stock, and their review and sale lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Query, Response, status

from app.api.deps import ContainerDep, IfMatch, UoW, set_etag
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import ProductId
from app.api.provider import (
    PROVIDER_ERRORS,
    PROVIDER_WRITE_ERRORS,
    ProductsRead,
    ProductsWrite,
    ShopAccess,
)
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.product_documents import View, json_response, product_document, sku_out
from app.api.schemas.products import (
    SKU_EXAMPLE,
    Product,
    ProductCreate,
    ProductUpdate,
    Sku,
    SkuCreate,
    SkuUpdate,
    StockAdjustment,
    StockLevel,
    StockSet,
    sku_fields,
)
from app.api.v1 import product_actions as actions
from app.container import ConcurrentUpdate
from app.domain.catalog import product_services as services
from app.domain.catalog import products as model
from app.domain.catalog import stock
from app.domain.catalog.errors import (
    NoPendingRevision,
    NotListable,
    OutOfStock,
    OutProductIdTaken,
    ProductNotFound,
    ProductWasListed,
    SkuNotFound,
)
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.errors import InvalidTransition, PreconditionFailed, ValidationFailed
from app.domain.shops import services as shop_services

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: products"])

SkuId = Annotated[str, Path(max_length=40, description="The SKU's id.", examples=[SKU_EXAMPLE])]
OutSkuId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="Your own id for the SKU.",
        examples=["erp-sku-10086-red-m"],
    ),
]
OutProductId = Annotated[
    str,
    Path(min_length=1, max_length=64, description="Your own product id.", examples=["erp-10086"]),
]

ViewQuery = Annotated[
    View,
    Query(
        alias="version",
        description="`live` (default): the content on sale. `pending`: the pending revision "
        "applied over it, as it will read once approved (the same as live when there is none).",
        examples=["pending"],
    ),
]

#: Every operation validates its parameters (422); one that writes may lose a race for a row
#: (409 `concurrent_update`); one with a body may refuse it as malformed, too large or not
#: JSON. Each lists, besides, the domain errors it raises.
_READ = (*PROVIDER_ERRORS, 422)
#: Every write: a suspended shop's apps may only read (403 `shop_suspended`).
_CHANGE = (*PROVIDER_WRITE_ERRORS, 422, ConcurrentUpdate)
_WRITE = (*_CHANGE, 400, 413, 415)
_WRITE_LIVE = (*_WRITE, InvalidTransition)


# The hottest route first: the router tries routes in order.
@router.get(
    "/products/{product_id}",
    operation_id="getProduct",
    summary="One product with its SKUs",
    response_model=Product,
    responses=problem_responses(*_READ, ProductNotFound),
)
async def get_product(
    product_id: ProductId,
    access: ProductsRead,
    uow: UoW,
    response: Response,
    view: ViewQuery = "live",
) -> Response:
    record = await services.read_for_shop(uow, access.shop_id, product_id)
    set_etag(response, record["version"])
    return json_response(product_document(record, view), response)


@router.post(
    "/products",
    operation_id="createProduct",
    summary="Create a draft product with its SKUs",
    description="Scope `products:write`. The category must be a leaf the shop can use (open to "
    "its type, every required qualification held); the condition must be one the category "
    "allows; each SKU needs its own sale-attribute combination. Every rule answers a "
    "field-level 422.",
    status_code=status.HTTP_201_CREATED,
    response_model=Product,
    responses=problem_responses(*_WRITE, OutProductIdTaken),
)
async def create_product(
    body: ProductCreate, access: ProductsWrite, uow: UoW, response: Response
) -> Product:
    out = await actions.create(uow, access, body)
    response.headers["Location"] = f"/v1/products/{out.id}"
    set_etag(response, out.version)
    return out


@router.get(
    "/products",
    operation_id="listProducts",
    summary="The shop's products, oldest change first",
    description="Scope `products:read`. Ordered by `(updated_at, id)`, so `updated_since` "
    "plus the cursor is an incremental sync. Each product comes with its SKUs.",
    response_model=ListResponse[Product],
    responses=problem_responses(*_READ, *PAGE_ERRORS),
)
async def list_products(
    access: ProductsRead,
    uow: UoW,
    page: PageParams,
    response: Response,
    status: Annotated[
        model.ProductStatus | None, Query(description="Only in this status.", examples=["listed"])
    ] = None,
    category_id: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Only in this category, or in any leaf below it.",
            examples=["cat_apparel"],
        ),
    ] = None,
    updated_since: Annotated[
        datetime | None,
        Query(
            description="Only changed at or after this time (RFC 3339 with a zone).",
            examples=["2026-11-25T08:00:00Z"],
        ),
    ] = None,
    out_product_id: Annotated[
        str | None,
        Query(max_length=64, description="Only the product with your id.", examples=["erp-1"]),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=60,
            description="Title contains this text (case-insensitive).",
            examples=["linen"],
        ),
    ] = None,
    view: ViewQuery = "live",
) -> Response:
    if updated_since is not None and updated_since.tzinfo is None:
        raise ValidationFailed.field(
            "query.updated_since", "Give a time zone, e.g. 2026-11-25T08:00:00Z."
        )
    result = await services.read_page(
        uow,
        access.shop_id,
        page,
        model.ProductFilter(
            status=status,
            category_id=category_id,
            updated_since=updated_since,
            out_product_id=out_product_id,
            query=q,
        ),
    )
    return json_response(
        {
            "data": [product_document(p, view) for p in result.items],
            "next_cursor": encode_cursor(result.next_after),
        },
        response,
    )


@router.get(
    "/products/by-out-id/{out_product_id}",
    operation_id="getProductByOutId",
    summary="One product, by your own id",
    response_model=Product,
    responses=problem_responses(*_READ, ProductNotFound),
)
async def get_product_by_out_id(
    out_product_id: OutProductId,
    access: ProductsRead,
    uow: UoW,
    response: Response,
    view: ViewQuery = "live",
) -> Response:
    record = await services.read_by_out_id(uow, access.shop_id, out_product_id)
    set_etag(response, record["version"])
    return json_response(product_document(record, view), response)


@router.patch(
    "/products/by-out-id/{out_product_id}",
    operation_id="updateProductByOutId",
    summary="Edit a product, by your own id",
    description="The same as `PATCH /v1/products/{product_id}`, for providers that keep only "
    "their own ids.",
    response_model=Product,
    responses=problem_responses(
        *_WRITE_LIVE, ProductNotFound, OutProductIdTaken, PreconditionFailed
    ),
)
async def update_product_by_out_id(
    out_product_id: OutProductId,
    body: ProductUpdate,
    access: ProductsWrite,
    uow: UoW,
    response: Response,
    expected: IfMatch,
    container: ContainerDep,
) -> Product:
    product = await services.get_by_out_id(uow, access.shop_id, out_product_id)
    out = await actions.update(
        uow,
        access,
        product.id,
        body,
        expected,
        auto_approve=container.settings.auto_approve_reviews,
    )
    set_etag(response, out.version)
    return out


@router.get(
    "/skus/by-out-id/{out_sku_id}",
    operation_id="getSkuByOutId",
    summary="One SKU, by your own id",
    description="Scope `products:read`. `out_sku_id` is unique in the shop.",
    response_model=Sku,
    responses=problem_responses(*_READ, SkuNotFound),
)
async def get_sku_by_out_id(out_sku_id: OutSkuId, access: ProductsRead, uow: UoW) -> Sku:
    return sku_out(await stock.find_sku(uow, access.shop_id, out_sku_id=out_sku_id))


@router.patch(
    "/skus/by-out-id/{out_sku_id}",
    operation_id="updateSkuByOutId",
    summary="Change a SKU's price or your ids for it, by your own id",
    description="The same as `PATCH /v1/products/{product_id}/skus/{sku_id}`.",
    response_model=Sku,
    responses=problem_responses(*_WRITE_LIVE, ProductNotFound, SkuNotFound),
)
async def update_sku_by_out_id(
    out_sku_id: OutSkuId, body: SkuUpdate, access: ProductsWrite, uow: UoW
) -> Sku:
    found = await stock.find_sku(uow, access.shop_id, out_sku_id=out_sku_id)
    return await _update_sku(uow, access, found.product_id, found.id, body)


@router.patch(
    "/products/{product_id}",
    operation_id="updateProduct",
    summary="Edit a product",
    description="Scope `products:write`. In `draft`, `rejected`, `approved` and `delisted` "
    "the edit applies at once, and a change of reviewed content (every field but "
    "`out_product_id`) sends an approved or delisted product back to `draft`. A `listed` "
    "product keeps selling: reviewed changes go into its `pending_revision`, which the "
    "platform reviews on its own; approval swaps it in at once (`product.review_passed` with "
    "`revision: true`, then `product.updated`), rejection leaves the live version as it was "
    "(`product.review_rejected`). Further edits merge into the pending revision and resubmit "
    "it. Read it with `?version=pending`. Price and stock are SKU fields and never wait for "
    "review. In review or banned: 409 with `current_status`. Honours `If-Match`.",
    response_model=Product,
    responses=problem_responses(
        *_WRITE_LIVE, ProductNotFound, OutProductIdTaken, PreconditionFailed
    ),
)
async def update_product(
    product_id: ProductId,
    body: ProductUpdate,
    access: ProductsWrite,
    uow: UoW,
    response: Response,
    expected: IfMatch,
    container: ContainerDep,
) -> Product:
    out = await actions.update(
        uow,
        access,
        product_id,
        body,
        expected,
        auto_approve=container.settings.auto_approve_reviews,
    )
    set_etag(response, out.version)
    return out


@router.delete(
    "/products/{product_id}",
    operation_id="deleteProduct",
    summary="Delete a product that was never listed",
    description="Scope `products:write`. Deletes its SKUs too. A product that was ever "
    "listed stays (409 `product_was_listed`): delist it instead.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_CHANGE, ProductNotFound, ProductWasListed),
)
async def delete_product(product_id: ProductId, access: ProductsWrite, uow: UoW) -> None:
    # No Response of our own: the injected one carries the rate-limit headers.
    await actions.delete(uow, access, product_id)


@router.delete(
    "/products/{product_id}/pending-revision",
    operation_id="discardProductRevision",
    summary="Withdraw a live product's pending revision",
    description="Scope `products:write`. The live version stays as it is. 404 "
    "`no_pending_revision` when there is none.",
    response_model=Product,
    responses=problem_responses(*_CHANGE, ProductNotFound, NoPendingRevision),
)
async def discard_revision(
    product_id: ProductId, access: ProductsWrite, uow: UoW, response: Response
) -> Product:
    out = await actions.discard_revision(uow, access, product_id)
    set_etag(response, out.version)
    return out


@router.post(
    "/products/{product_id}/skus",
    operation_id="addSku",
    summary="Add a SKU to a product",
    status_code=status.HTTP_201_CREATED,
    response_model=Sku,
    responses=problem_responses(*_WRITE_LIVE, ProductNotFound),
)
async def add_sku(product_id: ProductId, body: SkuCreate, access: ProductsWrite, uow: UoW) -> Sku:
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    _, sku = await services.add_sku(uow, access.actor, shop, product_id, sku_fields(body))
    return sku_out(sku)


@router.patch(
    "/products/{product_id}/skus/{sku_id}",
    operation_id="updateSku",
    summary="Change a SKU's price or your ids for it",
    description="Scope `products:write`. Applies at once in every state but `banned`: price "
    "changes need no review.",
    response_model=Sku,
    responses=problem_responses(*_WRITE_LIVE, ProductNotFound, SkuNotFound),
)
async def update_sku(
    product_id: ProductId, sku_id: SkuId, body: SkuUpdate, access: ProductsWrite, uow: UoW
) -> Sku:
    return await _update_sku(uow, access, product_id, sku_id, body)


async def _update_sku(
    uow: CatalogUnitOfWork, access: ShopAccess, product_id: str, sku_id: str, body: SkuUpdate
) -> Sku:
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    if "price" in body.model_fields_set and body.price is None:
        raise ValidationFailed.field("body.price", "The price cannot be null.", type_="null")
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    sku = await services.update_sku(uow, access.actor, shop, product_id, sku_id, changes)
    return sku_out(sku)


@router.put(
    "/products/{product_id}/skus/{sku_id}/stock",
    operation_id="setSkuStock",
    summary="Set a SKU's stock",
    response_model=StockLevel,
    responses=problem_responses(*_WRITE, ProductNotFound, SkuNotFound),
)
async def set_stock(
    product_id: ProductId, sku_id: SkuId, body: StockSet, access: ProductsWrite, uow: UoW
) -> StockLevel:
    out = await actions.change_stock(uow, access, product_id, sku_id, absolute=body.stock)
    return out


@router.post(
    "/products/{product_id}/skus/{sku_id}/stock-adjustments",
    operation_id="adjustSkuStock",
    summary="Add to or take from a SKU's stock, atomically",
    description="Scope `products:write`. One conditional update: concurrent adjustments all "
    "count, and a result below zero is refused with 409 `insufficient_stock`.",
    response_model=StockLevel,
    responses=problem_responses(*_WRITE, ProductNotFound, SkuNotFound, OutOfStock),
)
async def adjust_stock(
    product_id: ProductId,
    sku_id: SkuId,
    body: StockAdjustment,
    access: ProductsWrite,
    uow: UoW,
) -> StockLevel:
    out = await actions.change_stock(uow, access, product_id, sku_id, delta=body.delta)
    return out


@router.post(
    "/products/{product_id}/submit",
    operation_id="submitProduct",
    summary="Submit a draft or rejected product for review",
    response_model=Product,
    responses=problem_responses(*_CHANGE, ProductNotFound, InvalidTransition),
)
async def submit_product(
    product_id: ProductId,
    access: ProductsWrite,
    uow: UoW,
    container: ContainerDep,
    response: Response,
) -> Product:
    out = await actions.submit(
        uow, access, product_id, auto_approve=container.settings.auto_approve_reviews
    )
    set_etag(response, out.version)
    return out


@router.post(
    "/products/{product_id}/listing",
    operation_id="listProduct",
    summary="Put an approved or delisted product on sale",
    description="Scope `products:write`. Needs a SKU with stock and a category the shop can "
    "still use, else 409 `not_listable` with the `reasons`.",
    response_model=Product,
    responses=problem_responses(*_CHANGE, ProductNotFound, NotListable, InvalidTransition),
)
async def list_product(
    product_id: ProductId, access: ProductsWrite, uow: UoW, response: Response
) -> Product:
    out = await actions.list_for_sale(uow, access, product_id)
    set_etag(response, out.version)
    return out


@router.post(
    "/products/{product_id}/delisting",
    operation_id="delistProduct",
    summary="Take a listed product off sale",
    response_model=Product,
    responses=problem_responses(*_CHANGE, ProductNotFound, InvalidTransition),
)
async def delist_product(
    product_id: ProductId, access: ProductsWrite, uow: UoW, response: Response
) -> Product:
    out = await actions.delist(uow, access, product_id)
    set_etag(response, out.version)
    return out
