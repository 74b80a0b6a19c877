"""An after-sale's events, numbered with its order's."""

from __future__ import annotations

from app.domain.aftersales.model import AfterSale
from app.domain.events.catalog import AfterSaleEventData
from app.domain.events.model import Event
from app.domain.orders.ports import OrdersUnitOfWork


async def aftersale_event(uow: OrdersUnitOfWork, type_: str, aftersale: AfterSale) -> None:
    """`type_` of `aftersale`, numbered with its order's events."""
    data = AfterSaleEventData(
        shop_id=aftersale.shop_id,
        order_id=aftersale.order_id,
        aftersale_id=aftersale.id,
        type=aftersale.type.value,
        status=aftersale.status.value,
        amount=aftersale.amount,
    )
    await uow.outbox.add_in_sequence(Event(type_, data, resource_id=aftersale.order_id))
