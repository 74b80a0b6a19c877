"""An order's payments: what the buyer was asked to pay through a gateway, and what came of it.

A payment is made for the order's total at that moment, on a gateway (the sandbox one for
now), and stays pending until the gateway says it was paid: by its notification, or by the
answer to the platform's query when no notification came. What happens then depends on the
order, locked, at that moment (`payment_services.settle`):

    pending ──paid, the order still pending at that total──> succeeded (the order is paid)
       │  └──paid, but the order was cancelled, paid by another payment, or re-priced──>
       │        refunded through the gateway (the order is left as it is)
       ├──the gateway reports another amount than was asked──> refused (recorded, nothing else)
       └──the gateway's query answers closed unpaid──> closed (the buyer may pay anew)
    closed ──the gateway reports it paid after all──> as pending: succeeded or refunded
    succeeded ──the order is cancelled by the shop──> refunded

A closed payment ends the wait (no more queries), but the money may still come: a gateway
that closed a charge can report it paid later (the buyer's wallet had already taken it), and
that notification is settled as a late one, by the order as it is then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.domain.clock import utcnow
from app.domain.ids import new_id


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    #: The gateway reported another amount than the payment asked for: nothing was paid.
    REFUSED = "refused"
    REFUNDED = "refunded"
    #: The gateway closed it unpaid (its query said so): nothing was paid, the buyer may
    #: start another payment. A later notification that it was paid is still settled.
    CLOSED = "closed"


#: What the gateway may still report paid: a payment waiting for it, or one it closed unpaid.
SETTLEABLE = frozenset({PaymentStatus.PENDING, PaymentStatus.CLOSED})


class RefundReason(StrEnum):
    """Why a payment's money went back."""

    #: Its notification came after the order was cancelled (by the close timer, say).
    ORDER_CANCELLED = "order_cancelled"
    #: The order had been paid by another payment.
    ORDER_ALREADY_PAID = "order_already_paid"
    #: The order's total changed after the payment was made for the old one.
    TOTAL_CHANGED = "total_changed"
    #: The shop (merchant or provider) cancelled the paid order.
    CANCELLED_BY_SHOP = "cancelled_by_shop"


class ChargeState(StrEnum):
    """A payment as the gateway sees it."""

    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    #: The gateway closed it unpaid.
    CLOSED = "closed"


class SettleOutcome(StrEnum):
    """What a payment's notification (or query answer) did."""

    PAID = "paid"
    REFUNDED = "refunded"
    REFUSED = "refused"
    #: The payment had already been settled (by the query, or another notification).
    ALREADY_SETTLED = "already_settled"


@dataclass(frozen=True)
class GatewayCharge:
    """The gateway's own record of a payment, as its notification or its query tells it."""

    reference: str
    state: ChargeState
    amount: int
    transaction_id: str | None = None
    paid_at: datetime | None = None


@dataclass(eq=False)
class Payment:
    shop_id: str
    order_id: str
    buyer_id: str
    amount: int
    gateway: str
    currency: str = "CNY"
    status: PaymentStatus = PaymentStatus.PENDING
    #: The gateway's id of this payment (its reference for the buyer's wallet).
    gateway_reference: str | None = None
    #: The gateway's transaction, once paid.
    transaction_id: str | None = None
    #: What the gateway said was paid, when it said so.
    reported_amount: int | None = None
    refund_reference: str | None = None
    refund_reason: RefundReason | None = None
    paid_at: datetime | None = None
    refunded_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("pay"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def pending(self) -> bool:
        return self.status is PaymentStatus.PENDING

    @property
    def settleable(self) -> bool:
        """The gateway's word that it was paid still decides what it does."""
        return self.status in SETTLEABLE

    def _require_settleable(self) -> None:
        if not self.settleable:
            raise ValueError(f"payment {self.id} is {self.status}, not pending or closed")

    def _paid(self, charge: GatewayCharge, now: datetime) -> None:
        self.transaction_id = charge.transaction_id
        self.reported_amount = charge.amount
        self.paid_at = charge.paid_at or now
        self.updated_at = now

    def succeed(self, charge: GatewayCharge, now: datetime | None = None) -> None:
        self._require_settleable()
        self._paid(charge, now or utcnow())
        self.status = PaymentStatus.SUCCEEDED

    def refuse(self, charge: GatewayCharge, now: datetime | None = None) -> None:
        self._require_settleable()
        now = now or utcnow()
        self.transaction_id = charge.transaction_id
        self.reported_amount = charge.amount
        self.status = PaymentStatus.REFUSED
        self.updated_at = now

    def close(self, now: datetime | None = None) -> None:
        """The gateway closed it unpaid."""
        if not self.pending:
            raise ValueError(f"payment {self.id} is {self.status}, not pending")
        self.status = PaymentStatus.CLOSED
        self.updated_at = now or utcnow()

    def refunded(self, reference: str, reason: RefundReason, now: datetime | None = None) -> None:
        """The gateway refunded it; `succeed` came first (a payment is refunded once)."""
        if self.status is not PaymentStatus.SUCCEEDED:
            raise ValueError(f"payment {self.id} is {self.status}, not succeeded")
        now = now or utcnow()
        self.status = PaymentStatus.REFUNDED
        self.refund_reference = reference
        self.refund_reason = reason
        self.refunded_at = now
        self.updated_at = now


@dataclass(eq=False)
class PaymentNotification:
    """A gateway transaction the platform has settled: by its notification, or by the answer
    to a query. One per (shop, gateway, transaction): a repeat is answered from here."""

    shop_id: str
    payment_id: str
    gateway: str
    transaction_id: str
    amount: int
    outcome: SettleOutcome
    #: `notification` or `query`.
    source: str
    id: str = field(default_factory=lambda: new_id("pnot"))
    received_at: datetime = field(default_factory=utcnow)
