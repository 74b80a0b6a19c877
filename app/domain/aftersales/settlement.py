"""Settling an order: its money becomes the shop's.

The order's settlement timer (`orders.SETTLE`, scheduled when it completes, or closes without
having completed) fires `SettlementTerms.delay` later. What the order still holds in
`pending` (its payments less its refunds and any premium) moves to `available`, less the
platform's fee (`SettlementTerms.fee`, half up, once per order), and `order.settled` is
sent. While an after-sale of the order is open its money stays held: the timer looks again
a day later. A refund after settlement comes out of `available` (`refunding.settle`).
"""

from __future__ import annotations

from datetime import timedelta

from app.domain.aftersales.ports import AfterSalesUnitOfWork
from app.domain.clock import utcnow
from app.domain.funds.ledger import settlement
from app.domain.orders import services as orders

#: An order with an after-sale still open is looked at again this much later.
RECHECK = timedelta(days=1)


async def settle(uow: AfterSalesUnitOfWork, shop_id: str, order_id: str) -> bool:
    """The settlement timer; False when there was nothing to settle yet (an after-sale is
    open: asked again `RECHECK` later) or any more (settled already, or not done with)."""
    order = await uow.orders.get(shop_id, order_id, lock=True)
    if order is None or not order.settleable:
        return False
    if any(a.is_open for a in await uow.aftersales.of_order(shop_id, order.id)):
        await uow.timers.schedule(
            orders.SETTLE, order.id, utcnow() + RECHECK, {"shop_id": shop_id}, shop_id=shop_id
        )
        return False
    held = await uow.ledger.held(shop_id, order.id)
    fee = uow.settlement.fee(held)
    if held:
        await uow.ledger.post(settlement(shop_id, order.id, held, fee))
    order.settle()
    await orders.order_event(
        uow, "order.settled", order, settled_amount=held - fee, platform_fee=fee
    )
    await uow.flush()
    return True
