"""Paying an after-sale's money back: a refund through the gateway that took the order's
payment, asked for when the after-sale reaches `platform_refunding`, and settled when the
gateway reports it (its notification).

Settling takes the order's lock first, as every change of an order does: when the last
refund of an order that gives back every unit lands, the order closes (200), once.
"""

from __future__ import annotations

from app.domain.aftersales import insurance
from app.domain.aftersales.errors import RefundAmountMismatch, RefundNotFound
from app.domain.aftersales.events import aftersale_event
from app.domain.aftersales.model import AfterSale, AfterSaleStatus
from app.domain.aftersales.ports import AfterSalesUnitOfWork
from app.domain.aftersales.refunds import RETRY_AFTER, Refund
from app.domain.clock import utcnow
from app.domain.funds.ledger import refund_paid
from app.domain.orders import services as orders
from app.domain.orders.errors import NoPaymentToRefund
from app.domain.orders.model import Order
from app.domain.orders.payments import PaymentStatus

#: The durable timer that asks the gateway again for a refund that failed (key: its id).
RETRY = "refund.retry"


async def start(uow: AfterSalesUnitOfWork, order: Order, aftersale: AfterSale) -> Refund:
    """Ask the gateway of the order's payment to refund `aftersale.amount` (the after-sale is
    `platform_refunding`; the order is locked)."""
    paid = [
        p
        for p in await uow.payments.of_order(order.shop_id, order.id)
        if p.status is PaymentStatus.SUCCEEDED
    ]
    if not paid:
        raise NoPaymentToRefund(
            f"Order {order.id} is paid but no succeeded payment of it is on record."
        )
    payment = paid[-1]
    refund = Refund(
        shop_id=order.shop_id,
        order_id=order.id,
        aftersale_id=aftersale.id,
        payment_id=payment.id,
        amount=aftersale.amount,
        gateway=payment.gateway,
    )
    refund.gateway_reference = await uow.gateway.refund_part(payment, refund.id, refund.amount)
    uow.refunds.add(refund)
    return refund


def _fully_refunded(order: Order, aftersales: list[AfterSale]) -> bool:
    refunded: dict[str, int] = {}
    for a in aftersales:
        if a.status is AfterSaleStatus.REFUNDED:
            for line in a.line_items():
                refunded[line.line_id] = refunded.get(line.line_id, 0) + line.quantity
    return all(refunded.get(line.id, 0) >= line.quantity for line in order.lines)


async def settle(
    uow: AfterSalesUnitOfWork, shop_id: str, refund_id: str, *, succeeded: bool, amount: int
) -> Refund:
    """The gateway's (verified) word on a refund. Idempotent: a refund already settled is
    answered as it is. An amount other than the refund's is refused (nothing changes)."""
    found = await uow.refunds.get(shop_id, refund_id)
    if found is None:
        raise RefundNotFound(f"No refund {refund_id}.")
    order = await orders.get(uow, shop_id, found.order_id, lock=True)
    refund = await uow.refunds.get(shop_id, refund_id, lock=True)
    assert refund is not None
    if not refund.pending:
        return refund
    if amount != refund.amount:
        raise RefundAmountMismatch(
            f"Refund {refund.id} is of {refund.amount} fen, not {amount}.",
            extra={"refund_amount": refund.amount},
        )
    aftersale = await uow.aftersales.get(shop_id, refund.aftersale_id, lock=True)
    assert aftersale is not None
    if succeeded:
        refund.succeed()
        # Out of `pending`, or of `available` once the order was settled.
        await uow.ledger.post(
            refund_paid(
                shop_id,
                order.id,
                refund.amount,
                refund_id=refund.id,
                settled=order.settled_at is not None,
            )
        )
        aftersale.refunded()
        await aftersale_event(uow, "aftersale.refunded", aftersale)
        await insurance.claim_for_return(uow, order, aftersale)
        if _fully_refunded(order, await uow.aftersales.of_order(shop_id, order.id)):
            order.close()
            await orders.order_event(uow, "order.closed", order)
            if order.completed_at is None:  # a completed one is to be settled already
                assert order.closed_at is not None
                await orders.schedule_settlement(uow, order, order.closed_at)
    elif refund.retryable:
        # Asked again later by the worker (`retry`), with the same refund id.
        await uow.timers.schedule(
            RETRY,
            refund.id,
            utcnow() + RETRY_AFTER * refund.attempts,
            {"shop_id": shop_id},
            shop_id=shop_id,
        )
    else:
        refund.fail()
        aftersale.refund_failed()
        await aftersale_event(uow, "aftersale.updated", aftersale)
    await uow.flush()
    return refund


async def retry(uow: AfterSalesUnitOfWork, shop_id: str, refund_id: str) -> bool:
    """The worker asks the gateway again for a refund whose last attempt failed; False when
    it is no longer pending (a late success settled it)."""
    found = await uow.refunds.get(shop_id, refund_id)
    if found is None or not found.pending:
        return False
    await orders.get(uow, shop_id, found.order_id, lock=True)
    refund = await uow.refunds.get(shop_id, refund_id, lock=True)
    assert refund is not None
    if not refund.pending:
        return False
    payment = await uow.payments.get(shop_id, refund.payment_id)
    assert payment is not None
    refund.attempts += 1
    refund.updated_at = utcnow()
    refund.gateway_reference = await uow.gateway.refund_part(
        payment, refund.id, refund.amount, attempt=refund.attempts
    )
    await uow.flush()
    return True
