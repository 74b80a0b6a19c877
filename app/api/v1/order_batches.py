"""Open API: many order operations — notes, cancellations, shipments — in one request.

The product batch's rules (`batches.py`, whose `run_items` runs this one too): each item in its
own savepoint inside the request's one transaction, so a failing item leaves nothing behind
(its stock release, refund, audit entry and events go with it) and the others commit together.
Each item calls the same `order_actions` as its single route, so its result — status, body,
problem — is the one the single call would have given.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import status

from app.api.deps import ContainerDep, UoW
from app.api.errors import problem_responses
from app.api.provider import PROVIDER_WRITE_ERRORS, OrdersWrite, ShopAccess
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.order_batches import (
    CancelOrderOperation,
    OrderBatch,
    OrderBatchItemResult,
    OrderBatchResult,
    SetMerchantNoteOperation,
    ShipOrderOperation,
)
from app.api.schemas.orders import Order, Shipment
from app.api.v1 import order_actions as actions
from app.api.v1.batches import item_problem, op_name, run_items
from app.domain.orders.ports import OrdersUnitOfWork

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: orders"])

#: An item's own error is in its result (a 200); the request's are the bearer token's and
#: the body's.
_BATCH_ERRORS = problem_responses(*PROVIDER_WRITE_ERRORS, 400, 413, 415, 422)

Outcome = tuple[Order, Shipment | None]


@router.post(
    "/orders/batch",
    operation_id="batchOrders",
    summary="Run up to 100 order operations, each with its own result",
    description="Scope `orders:write`. Operations, chosen by `op`: `set_merchant_note` (as "
    "`PUT /v1/orders/{order_id}/merchant-note`, `expected_version` standing for `If-Match`), "
    "`cancel` (as `POST /v1/orders/{order_id}/cancellation`: stock back, a paid order "
    "refunded) and `ship` (as `POST /v1/orders/{order_id}/shipments`) — each answers with its "
    "single endpoint's status and, in `data[i]`, the order after it (and the `shipment` a "
    "`ship` made), or that endpoint's problem. They run in order, each in its own savepoint: "
    "a failing operation (404, 409, 412, 422 — also an item that does not match its schema) "
    "changes nothing and writes no event, the others are all committed together with their "
    "events. The batch itself answers 200 once it ran; only a request that is not a list of "
    "1 to 100 objects is refused as a whole (422, nothing changed). Another shop's orders "
    "answer 404 `order_not_found`, as single calls do.",
    response_model=OrderBatchResult,
    responses=_BATCH_ERRORS,
)
async def batch_orders(
    body: OrderBatch, access: OrdersWrite, uow: UoW, container: ContainerDep
) -> OrderBatchResult:
    auto_confirm_after = timedelta(days=container.settings.order_auto_confirm_days)

    async def perform(op: Any) -> tuple[int, Outcome]:
        return await _order_operation(uow, access, op, auto_confirm_after=auto_confirm_after)

    results = await run_items(uow, body.operations, perform)
    return OrderBatchResult(
        data=[
            OrderBatchItemResult(
                index=r.index,
                op=op_name(body.operations[r.index]),
                status=r.status,
                order=r.result[0] if r.result is not None else None,
                shipment=r.result[1] if r.result is not None else None,
                problem=item_problem(r),
            )
            for r in results
        ]
    )


async def _order_operation(
    uow: OrdersUnitOfWork, access: ShopAccess, op: Any, *, auto_confirm_after: timedelta
) -> tuple[int, Outcome]:
    if isinstance(op, SetMerchantNoteOperation):
        order = await actions.set_merchant_note(
            uow, access, op.order_id, op.note, op.expected_version
        )
        return 200, (order, None)
    if isinstance(op, CancelOrderOperation):
        return 200, (await actions.cancel(uow, access, op.order_id, op.reason), None)
    assert isinstance(op, ShipOrderOperation)
    shipped, shipment = await actions.ship(
        uow, access, op.order_id, op, auto_confirm_after=auto_confirm_after
    )
    return status.HTTP_201_CREATED, (await actions.full(uow, shipped), Shipment.of(shipment))
