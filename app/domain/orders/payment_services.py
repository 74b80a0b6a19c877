"""Paying an order through a gateway, settling what the gateway reports, refunding.

Every settlement takes the order's row lock first, the lock the close timer takes too: a
payment's notification and the close timer of its order run one after the other, whichever
comes first, and the second sees what the first did. So an order ends either paid (the timer
then leaves it alone) or cancelled with the payment refunded, never both, never neither. The
amount is checked under that lock as well: a payment pays its order only at the total it
was made for, so a re-priced order is never paid at another total.
"""

from __future__ import annotations

from datetime import timedelta

from app.domain.audit.model import Actor, AuditEntry
from app.domain.clock import utcnow
from app.domain.funds.ledger import payment_received, refund_paid
from app.domain.orders import pickup_services, services
from app.domain.orders.errors import NoPaymentToRefund, PaymentNotFound
from app.domain.orders.model import CancelReason, Order, OrderStatus
from app.domain.orders.payments import (
    ChargeState,
    GatewayCharge,
    Payment,
    PaymentNotification,
    PaymentStatus,
    RefundReason,
    SettleOutcome,
)
from app.domain.orders.ports import OrdersUnitOfWork
from app.domain.shops.permissions import Permission
from app.domain.shops.services import access as shop_access

#: The durable timer that asks the gateway about a payment whose notification has not come
#: (key: the payment id), the fallback real gateways require.
PAYMENT_QUERY = "payment.query"
#: Asked again this long after a query found the payment still pending, this many times.
QUERY_RETRY = timedelta(minutes=5)
QUERY_ATTEMPTS = 6


async def create(
    uow: OrdersUnitOfWork, buyer_id: str, order_id: str, *, query_after: timedelta
) -> Payment:
    """A payment of the buyer's unpaid order, for its total now, opened at the gateway; the
    gateway is queried after `query_after` unless its notification settles it first."""
    found = await services.get_for_buyer(uow, buyer_id, order_id)
    order = await services.get(uow, found.shop_id, order_id, lock=True)
    order.require_payable()
    payment = Payment(
        shop_id=order.shop_id,
        order_id=order.id,
        buyer_id=buyer_id,
        amount=order.total,
        gateway=uow.gateway.name,
    )
    payment.gateway_reference = await uow.gateway.create(payment)
    uow.payments.add(payment)
    await uow.timers.schedule(
        PAYMENT_QUERY,
        payment.id,
        payment.created_at + query_after,
        {"shop_id": payment.shop_id, "attempt": 1},
        shop_id=payment.shop_id,
    )
    await uow.flush()
    return payment


async def _locked(uow: OrdersUnitOfWork, payment: Payment) -> tuple[Order, Payment]:
    """The payment's order and the payment, both locked and read afresh: the order first, as
    every change of an order takes it."""
    order = await services.get(uow, payment.shop_id, payment.order_id, lock=True)
    locked = await uow.payments.get(payment.shop_id, payment.id, lock=True)
    assert locked is not None
    return order, locked


async def _refund(
    uow: OrdersUnitOfWork, order: Order, payment: Payment, reason: RefundReason
) -> None:
    reference = await uow.gateway.refund(payment)
    payment.refunded(reference, reason)
    # A cancelled order, or one paid twice: never settled, so out of `pending`.
    await uow.ledger.post(
        refund_paid(order.shop_id, order.id, payment.amount, payment_id=payment.id)
    )
    await services.order_event(
        uow,
        "payment.refunded",
        order,
        payment_id=payment.id,
        refund_reason=reason.value,
        refund_amount=payment.amount,
    )


async def _apply(
    uow: OrdersUnitOfWork, order: Order, payment: Payment, charge: GatewayCharge
) -> SettleOutcome:
    """The gateway says `payment` was paid (`charge`); order and payment are locked. A
    payment the gateway had closed unpaid is settled as a pending one: the money came late."""
    if not payment.settleable:
        return SettleOutcome.ALREADY_SETTLED
    if charge.amount != payment.amount:
        payment.refuse(charge)
        await uow.timers.cancel(PAYMENT_QUERY, payment.id)
        return SettleOutcome.REFUSED
    payment.succeed(charge)
    await uow.timers.cancel(PAYMENT_QUERY, payment.id)
    # The money came in, whatever the order does with it next.
    await uow.ledger.post(payment_received(order.shop_id, order.id, payment.id, payment.amount))
    if order.status is OrderStatus.PENDING_PAYMENT and order.total == payment.amount:
        order.pay()
        if order.for_pickup:
            await pickup_services.assign_code(uow, order)
        await uow.timers.cancel(services.CLOSE_UNPAID, order.id)
        await services.order_event(uow, "order.paid", order, payment_id=payment.id)
        return SettleOutcome.PAID
    if order.status is OrderStatus.PENDING_PAYMENT:
        reason = RefundReason.TOTAL_CHANGED
    elif order.status is OrderStatus.CANCELLED and not order.paid:
        reason = RefundReason.ORDER_CANCELLED
    else:
        reason = RefundReason.ORDER_ALREADY_PAID
    await _refund(uow, order, payment, reason)
    return SettleOutcome.REFUNDED


async def settle(
    uow: OrdersUnitOfWork, shop_id: str, gateway: str, charge: GatewayCharge
) -> tuple[Payment, SettleOutcome]:
    """A gateway's (verified) notification that a payment was paid. Idempotent by the
    gateway's transaction id: a repeat is answered as the first one was, changing nothing."""
    payment = await uow.payments.by_reference(shop_id, gateway, charge.reference)
    if payment is None or charge.transaction_id is None:
        raise PaymentNotFound(f"No {gateway} payment {charge.reference}.")
    order, payment = await _locked(uow, payment)
    seen = await uow.payments.notification(shop_id, gateway, charge.transaction_id)
    if seen is not None:
        return payment, seen.outcome
    outcome = await _apply(uow, order, payment, charge)
    uow.payments.add_notification(
        PaymentNotification(
            shop_id=shop_id,
            payment_id=payment.id,
            gateway=gateway,
            transaction_id=charge.transaction_id,
            amount=charge.amount,
            outcome=outcome,
            source="notification",
        )
    )
    await uow.flush()
    return payment, outcome


async def check_pending(
    uow: OrdersUnitOfWork, shop_id: str, payment_id: str, attempt: int = 1
) -> SettleOutcome | None:
    """The query timer: a payment still pending is asked about at the gateway, and settled
    by its answer as by a notification. None when there was nothing to settle: asked again
    later while the gateway says pending, up to `QUERY_ATTEMPTS` times; closed when the
    gateway closed it unpaid (the order decides alone: it stays pending payment until paid
    by another payment or closed by its timer)."""
    payment = await uow.payments.get(shop_id, payment_id)
    if payment is None or not payment.pending:
        return None
    order, payment = await _locked(uow, payment)
    if not payment.pending:
        return None
    charge = await uow.gateway.query(payment)
    if charge.state is ChargeState.PENDING:
        if attempt < QUERY_ATTEMPTS:
            await uow.timers.schedule(
                PAYMENT_QUERY,
                payment.id,
                utcnow() + QUERY_RETRY,
                {"shop_id": shop_id, "attempt": attempt + 1},
                shop_id=shop_id,
            )
        return None
    if charge.state is ChargeState.CLOSED:
        payment.close()
        await uow.flush()
        return None
    if charge.state is not ChargeState.PAID or charge.transaction_id is None:
        return None
    seen = await uow.payments.notification(shop_id, payment.gateway, charge.transaction_id)
    if seen is not None:
        return None
    outcome = await _apply(uow, order, payment, charge)
    uow.payments.add_notification(
        PaymentNotification(
            shop_id=shop_id,
            payment_id=payment.id,
            gateway=payment.gateway,
            transaction_id=charge.transaction_id,
            amount=charge.amount,
            outcome=outcome,
            source="query",
        )
    )
    await uow.flush()
    return outcome


async def of_order(uow: OrdersUnitOfWork, order: Order) -> list[Payment]:
    return await uow.payments.of_order(order.shop_id, order.id)


async def cancel_by_shop(
    uow: OrdersUnitOfWork,
    actor: Actor,
    shop_id: str,
    order_id: str,
    *,
    by: CancelReason,
    reason: str,
) -> Order:
    """The shop's side (merchant or provider) cancels an order before it ships, `reason`
    kept on the order (`cancel_note`) and in the audit log: the stock goes back, and a paid
    order's payment is refunded through its gateway."""
    order = await services.get(uow, shop_id, order_id, lock=True)
    status_before = int(order.status)
    was_paid = order.cancel(by, note=reason)
    await services.release(uow, order)
    await uow.timers.cancel(services.CLOSE_UNPAID, order.id)
    uow.audit.add(
        AuditEntry.record(
            actor,
            "order.cancelled",
            target_type="order",
            target_id=order.id,
            shop_id=shop_id,
            before={"status": status_before},
            after={"status": int(order.status), "by": by.value, "reason": reason},
        )
    )
    await services.order_event(uow, "order.cancelled", order, reason=by.value)
    if was_paid:
        paid = [
            p
            for p in await uow.payments.of_order(shop_id, order.id)
            if p.status is PaymentStatus.SUCCEEDED
        ]
        if not paid:
            raise NoPaymentToRefund(
                f"Order {order.id} is paid but no succeeded payment of it is on record."
            )
        payment = await uow.payments.get(shop_id, paid[-1].id, lock=True)
        assert payment is not None
        await _refund(uow, order, payment, RefundReason.CANCELLED_BY_SHOP)
    await uow.flush()
    return order


async def cancel_by_member(
    uow: OrdersUnitOfWork, actor: Actor, shop_id: str, order_id: str, *, reason: str
) -> Order:
    """A shop member whose role manages orders cancels one (`cancel_by_shop`, reason
    `merchant`); not while the shop is suspended, as no other write of it is allowed then."""
    acc = await shop_access(uow, actor.id, shop_id, Permission.ORDERS_MANAGE)
    acc.shop.ensure_active()
    return await cancel_by_shop(
        uow, actor, shop_id, order_id, by=CancelReason.MERCHANT, reason=reason
    )
