"""Storefront: a buyer pays an order through the payment gateway."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Header, Path, status

from app.api.deps import ContainerDep, UoW
from app.api.errors import problem_responses
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.orders import ORDER_EXAMPLE
from app.api.schemas.payments import Payment
from app.api.storefront.auth import BUYER_ERRORS, BuyerAuth
from app.domain.orders import payment_services as payments
from app.domain.orders import services
from app.domain.orders.errors import (
    IdempotencyKeyRequired,
    InvalidOrderTransition,
    OrderNotFound,
)

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/v1/storefront/orders", tags=["Storefront: orders"]
)

OrderId = Annotated[
    str, Path(min_length=1, max_length=64, description="The order's id.", examples=[ORDER_EXAMPLE])
]


@router.post(
    "/{order_id}/payment",
    operation_id="payMyOrder",
    summary="Pay an order",
    description="Requires `Idempotency-Key`: a retry after a lost answer gets the same "
    "payment, never a second charge. Status 10 only (409 `invalid_order_transition` "
    "otherwise). The payment is for the order's total now, opened at the payment gateway "
    "(the sandbox one): pay its `gateway_reference` in the wallet. The order is paid when the "
    "gateway's notification arrives (`order.paid`); if it never does, the platform asks the "
    "gateway a few minutes later, and a payment the gateway closed unpaid ends `closed`: "
    "pay the order again with a new one. A payment that arrives after the order was "
    "cancelled or paid by another payment, or for a total the shop has changed since, is "
    "refunded.",
    status_code=status.HTTP_201_CREATED,
    response_model=Payment,
    responses=problem_responses(
        *BUYER_ERRORS, 400, 422, IdempotencyKeyRequired, OrderNotFound, InvalidOrderTransition
    ),
)
async def pay_my_order(
    order_id: OrderId,
    buyer: BuyerAuth,
    uow: UoW,
    container: ContainerDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", include_in_schema=False)
    ] = None,
) -> Payment:
    # Someone else's order is not found, key or no key: the key is asked of its buyer only.
    await services.get_for_buyer(uow, buyer.account_id, order_id)
    if not idempotency_key:
        raise IdempotencyKeyRequired(
            "Send an Idempotency-Key header (a unique string per payment, e.g. a UUID)."
        )
    payment = await payments.create(
        uow,
        buyer.account_id,
        order_id,
        query_after=timedelta(seconds=container.settings.payment_query_after_seconds),
    )
    return Payment.of(payment)
