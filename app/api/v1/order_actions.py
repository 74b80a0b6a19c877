"""The order operations as the open API runs them: the request's conversion into the domain's
terms, the use case, and the response body. The single routes (`orders.py`) and the batch
(`order_batches.py`) both call these, so a batch item answers exactly what its single call
would. None of them commits: the route does, once.
"""

from __future__ import annotations

from datetime import timedelta

from app.api.provider import ShopAccess
from app.api.schemas.orders import Order, ShipmentCreate, ShipmentLineIn
from app.domain.orders import model, services
from app.domain.orders import payment_services as payments
from app.domain.orders.errors import QuantityInvalid
from app.domain.orders.model import CancelReason
from app.domain.orders.ports import OrdersUnitOfWork


async def full(uow: OrdersUnitOfWork, order: model.Order) -> Order:
    """The order as the open API shows it, with its shipments."""
    return Order.of(order, await services.shipments_of(uow, order))


async def set_merchant_note(
    uow: OrdersUnitOfWork,
    access: ShopAccess,
    order_id: str,
    note: str | None,
    expected_version: int | None,
) -> Order:
    order = await services.set_merchant_note(
        uow, access.actor, access.shop_id, order_id, note, expected_version
    )
    return await full(uow, order)


async def cancel(uow: OrdersUnitOfWork, access: ShopAccess, order_id: str, reason: str) -> Order:
    """The provider cancels: stock back, a paid order refunded, `order.cancelled` with reason
    `provider` (its own `reason` kept on the order as `cancel_note` and in the audit log)."""
    order = await payments.cancel_by_shop(
        uow, access.actor, access.shop_id, order_id, by=CancelReason.PROVIDER, reason=reason
    )
    return await full(uow, order)


def line_quantities(lines: list[ShipmentLineIn] | None) -> dict[str, int] | None:
    """Line id → units of a shipment or parcel; None: everything not yet shipped."""
    if lines is None:
        return None
    quantities: dict[str, int] = {}
    for line in lines:
        if line.line_id in quantities:
            raise QuantityInvalid(f"Line {line.line_id} is named twice.")
        quantities[line.line_id] = line.quantity
    return quantities


async def ship(
    uow: OrdersUnitOfWork,
    access: ShopAccess,
    order_id: str,
    body: ShipmentCreate,
    *,
    auto_confirm_after: timedelta,
) -> tuple[model.Order, model.Shipment]:
    """A shipment of the order: the order after it, and the shipment."""
    return await services.ship(
        uow,
        access.actor,
        access.shop_id,
        order_id,
        carrier_code=body.carrier,
        waybill_no=body.waybill_no,
        quantities=line_quantities(body.lines),
        auto_confirm_after=auto_confirm_after,
    )
