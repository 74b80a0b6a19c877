"""Payments as the storefront and the open API show them, the sandbox gateway's
notification, and the shop's cancellation of an order."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.api.schemas.base import Input, Output
from app.domain.orders.payments import Payment as PaymentEntity

PAYMENT_EXAMPLE = "pay_01jd8m3k2x9v7q4w5e6r7t8y9z"
TIME_EXAMPLE = "2026-11-25T08:00:00Z"

PaymentStatusName = Literal["pending", "succeeded", "refused", "refunded", "closed"]
RefundReasonName = Literal[
    "order_cancelled", "order_already_paid", "total_changed", "cancelled_by_shop"
]


class Payment(Output):
    """A payment of an order through a gateway: pending until the gateway says it was paid."""

    id: str = Field(description="The payment's id.", examples=[PAYMENT_EXAMPLE])
    order_id: str = Field(
        description="The order it pays.", examples=["order_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    shop_id: str = Field(
        description="The order's shop.", examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    amount: int = Field(
        description="What the buyer pays, in fen: the order's total when the payment was made.",
        examples=[40600],
    )
    currency: str = Field(description="ISO 4217.", examples=["CNY"])
    gateway: str = Field(description="The payment gateway.", examples=["sandbox"])
    gateway_reference: str | None = Field(
        description="The gateway's reference of this payment: what the buyer's wallet pays.",
        examples=["sbch_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    status: PaymentStatusName = Field(
        description="`pending` until the gateway reports it; `succeeded` (the order is paid), "
        "`refused` (the gateway reported another amount: nothing paid) or `refunded` (the "
        "money went back: the order was cancelled or paid otherwise, or re-priced, first); "
        "`closed` when the gateway closed it unpaid: nothing was paid, and an order still "
        "pending payment may be paid with a new payment. Should the gateway report a closed "
        "payment paid after all, it is settled then: `succeeded` if the order is still "
        "pending at that total, `refunded` otherwise.",
        examples=["pending"],
    )
    transaction_id: str | None = Field(
        description="The gateway's transaction, once paid.", examples=[None]
    )
    refund_reason: RefundReasonName | None = Field(
        description="Why it was refunded.", examples=[None]
    )
    paid_at: datetime | None = Field(description="When the gateway took it.", examples=[None])
    refunded_at: datetime | None = Field(description="When it was refunded.", examples=[None])
    created_at: datetime = Field(description="When it was made.", examples=[TIME_EXAMPLE])

    @classmethod
    def of(cls, p: PaymentEntity) -> Payment:
        return cls(
            id=p.id,
            order_id=p.order_id,
            shop_id=p.shop_id,
            amount=p.amount,
            currency=p.currency,
            gateway=p.gateway,
            gateway_reference=p.gateway_reference,
            status=p.status.value,
            transaction_id=p.transaction_id,
            refund_reason=p.refund_reason.value if p.refund_reason else None,
            paid_at=p.paid_at,
            refunded_at=p.refunded_at,
            created_at=p.created_at,
        )


class SandboxPaymentNotification(Input):
    """What the sandbox gateway tells the platform of a paid payment (signed: see the
    operation)."""

    shop_id: str = Field(
        max_length=64,
        description="The shop the payment was made for, echoed back by the gateway.",
        examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    reference: str = Field(
        max_length=64,
        description="The gateway's reference of the payment.",
        examples=["sbch_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    out_trade_no: str = Field(
        max_length=64, description="The platform's payment id.", examples=[PAYMENT_EXAMPLE]
    )
    transaction_id: str = Field(
        min_length=1,
        max_length=64,
        description="The gateway's transaction: a notification is settled once per transaction.",
        examples=["sbtx_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    amount: int = Field(ge=0, le=10**12, description="What was paid, in fen.", examples=[40600])
    currency: Literal["CNY"] = Field(description="ISO 4217.", examples=["CNY"])
    state: Literal["paid"] = Field(
        description="The payment's state at the gateway.", examples=["paid"]
    )
    paid_at: datetime | None = Field(
        default=None, description="When the gateway took it.", examples=[TIME_EXAMPLE]
    )


class PaymentNotificationAck(Output):
    """The platform received the notification: the gateway may stop sending it. A repeat (the
    same transaction) gets the same answer and changes nothing."""

    received: bool = Field(description="Always true.", examples=[True])
    payment_id: str = Field(description="The payment.", examples=[PAYMENT_EXAMPLE])
    outcome: Literal["paid", "refunded", "refused", "already_settled"] = Field(
        description="`paid`: the order is paid; `refunded`: the order had been cancelled, paid "
        "otherwise or re-priced, so the money went back; `refused`: the amount is not the "
        "payment's, nothing was paid (recorded); `already_settled`: the payment had been "
        "settled before (by the gateway's query).",
        examples=["paid"],
    )


class OrderCancellation(Input):
    """Why the shop cancels the order: kept in the audit log and shown on the order as
    `cancel_note`, to the buyer too."""

    reason: str = Field(
        min_length=1,
        max_length=200,
        description="Why, in words: the buyer asked, out of stock, suspected fraud...",
        examples=["The buyer asked by phone"],
    )


class PaymentList(Output):
    """An order's payments, oldest first (an order has few: one that paid, and any the
    buyer started meanwhile or that came too late and went back)."""

    data: list[Payment] = Field(description="The payments, oldest first.")
