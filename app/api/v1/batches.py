"""Open API batches: many product operations, or many stock changes, in one request.

Each item runs in its own savepoint inside the request's one transaction: an item that fails
leaves nothing behind (its audit entry and outbox events go with it), the others commit
together when the batch ends. Each item calls the same `product_actions` as its single route,
so its result — status, body, problem — is the one the single call would have given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import status

from app.api.deps import ContainerDep, UoW
from app.api.errors import (
    Problem,
    client_problem,
    field_errors,
    problem_responses,
    validation_problem,
)
from app.api.provider import PROVIDER_WRITE_ERRORS, ProductsWrite, ShopAccess
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.batches import (
    ActionOperation,
    AdjustStockOperation,
    CreateOperation,
    InvalidItem,
    ProductBatch,
    ProductBatchItemResult,
    ProductBatchResult,
    SetStockOperation,
    StockBatch,
    StockBatchItemResult,
    StockBatchResult,
    StockChangeItem,
    UpdateOperation,
)
from app.api.schemas.products import Product, StockLevel
from app.api.v1 import product_actions as actions
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.uow import Transaction

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: products"])

#: An item's own error is in its result (a 200); the request's are the bearer token's and
#: the body's.
_BATCH_ERRORS = problem_responses(*PROVIDER_WRITE_ERRORS, 400, 413, 415, 422)

Outcome = Product | StockLevel | None

#: What an item's operation answers with (the body of its single call).
T = TypeVar("T")


@dataclass
class ItemResult(Generic[T]):
    index: int
    status: int
    result: T | None = None
    problem: dict[str, Any] | None = None


async def run_items(
    uow: Transaction,
    items: Sequence[object],
    perform: Callable[[Any], Awaitable[tuple[int, T]]],
) -> list[ItemResult[T]]:
    """Each item in its own savepoint; a failure becomes that item's problem document. Any
    batch's: `uow` is the request's one unit of work, whatever ports its operations use."""
    results: list[ItemResult[T]] = []
    for index, item in enumerate(items):
        if isinstance(item, InvalidItem):
            invalid = validation_problem(field_errors(item.errors, prefix=("body",)))
            results.append(ItemResult(index, 422, problem=invalid))
            continue
        try:
            async with uow.savepoint():
                code, out = await perform(item)
        except Exception as e:
            # What the single call would have answered; the savepoint has undone the item.
            problem = client_problem(e)
            if problem is None:
                raise
            results.append(ItemResult(index, problem["status"], problem=problem))
        else:
            results.append(ItemResult(index, code, result=out))
    return results


def item_problem(r: ItemResult[Any]) -> Problem | None:
    return None if r.problem is None else Problem.model_validate(r.problem)


@router.post(
    "/products/batch",
    operation_id="batchProducts",
    summary="Run up to 100 product operations, each with its own result",
    description="Scope `products:write`. Operations, chosen by `op`: `create`, `update`, "
    "`submit`, `list`, `delist`, `delete`, `set_stock`, `adjust_stock` — each does what its "
    "single endpoint does and answers with that endpoint's status and body (or problem) in "
    "`data[i]`. They run in order, each in its own savepoint: a failing operation (404, 409, "
    "412, 422 — also an item that does not match its schema) changes nothing, the others are "
    "all committed together. The batch itself answers 200 once it ran; only a request that "
    "is not a list of 1 to 100 objects is refused as a whole (422, nothing changed). "
    "Operations on another shop's products answer 404, as single calls do.",
    response_model=ProductBatchResult,
    responses=_BATCH_ERRORS,
)
async def batch_products(
    body: ProductBatch, access: ProductsWrite, uow: UoW, container: ContainerDep
) -> ProductBatchResult:
    auto_approve = container.settings.auto_approve_reviews

    async def perform(op: Any) -> tuple[int, Outcome]:
        return await _product_operation(uow, access, op, auto_approve=auto_approve)

    results = await run_items(uow, body.operations, perform)
    return ProductBatchResult(
        data=[
            ProductBatchItemResult(
                index=r.index,
                op=op_name(body.operations[r.index]),
                status=r.status,
                product=r.result if isinstance(r.result, Product) else None,
                stock=r.result if isinstance(r.result, StockLevel) else None,
                problem=item_problem(r),
            )
            for r in results
        ]
    )


def op_name(item: object) -> str | None:
    op = getattr(item, "op", None)
    return op if isinstance(op, str) else None


async def _product_operation(
    uow: CatalogUnitOfWork, access: ShopAccess, op: Any, *, auto_approve: bool
) -> tuple[int, Outcome]:
    if isinstance(op, CreateOperation):
        return status.HTTP_201_CREATED, await actions.create(uow, access, op)
    if isinstance(op, UpdateOperation):
        return 200, await actions.update(
            uow, access, op.product_id, op, op.expected_version, auto_approve=auto_approve
        )
    if isinstance(op, SetStockOperation):
        return 200, await actions.change_stock(
            uow, access, op.product_id, op.sku_id, absolute=op.stock
        )
    if isinstance(op, AdjustStockOperation):
        return 200, await actions.change_stock(
            uow, access, op.product_id, op.sku_id, delta=op.delta
        )
    assert isinstance(op, ActionOperation)
    if op.op == "submit":
        return 200, await actions.submit(uow, access, op.product_id, auto_approve=auto_approve)
    if op.op == "list":
        return 200, await actions.list_for_sale(uow, access, op.product_id)
    if op.op == "delist":
        return 200, await actions.delist(uow, access, op.product_id)
    await actions.delete(uow, access, op.product_id)
    return status.HTTP_204_NO_CONTENT, None


@router.post(
    "/stock/batch",
    operation_id="batchChangeStock",
    summary="Set or adjust the stock of up to 100 SKUs, each with its own result",
    description="Scope `products:write`. Addressed by SKU, not by product — `sku_id` or your "
    "own `out_sku_id` — because that is what a warehouse or ERP syncing stock knows; that is "
    "why it lives at `/v1/stock` rather than under one product. Each item gives `stock` (the "
    "new level) or `delta` (units to add or, negative, take away) and is one conditional "
    "update of its own: concurrent changes all count, and a delta that would take the stock "
    "below zero fails that item alone with 409 `insufficient_stock`. Items run in order, each "
    "in its own savepoint, and the successful ones commit together; a SKU of another shop is "
    "404 `sku_not_found`. A change that takes a SKU to or below its `low_stock_threshold` "
    "writes `product.stock_low`, as the single stock endpoints do.",
    response_model=StockBatchResult,
    responses=_BATCH_ERRORS,
)
async def batch_change_stock(body: StockBatch, access: ProductsWrite, uow: UoW) -> StockBatchResult:
    async def perform(item: StockChangeItem) -> tuple[int, Outcome]:
        return 200, await actions.change_stock_by_ref(
            uow,
            access,
            sku_id=item.sku_id,
            out_sku_id=item.out_sku_id,
            delta=item.delta,
            absolute=item.stock,
        )

    results = await run_items(uow, body.items, perform)
    return StockBatchResult(
        data=[
            StockBatchItemResult(
                index=r.index,
                status=r.status,
                stock=r.result if isinstance(r.result, StockLevel) else None,
                problem=item_problem(r),
            )
            for r in results
        ]
    )
