"""Refunds as the sandbox gateway reports them, and the platform's answer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.api.schemas.base import Input, Output

REFUND_EXAMPLE = "rfd_01jd8m3k2x9v7q4w5e6r7t8y9z"


class SandboxRefundNotification(Input):
    """What the sandbox gateway tells the platform of a refund it was asked for (signed as
    its payment notifications are)."""

    shop_id: str = Field(
        max_length=64,
        description="The shop the refund was asked for, echoed back by the gateway.",
        examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    reference: str = Field(
        max_length=64,
        description="The gateway's reference of the refund.",
        examples=["sbrf_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    out_refund_no: str = Field(
        max_length=64, description="The platform's refund id.", examples=[REFUND_EXAMPLE]
    )
    amount: int = Field(ge=0, le=10**12, description="What was refunded, in fen.", examples=[12900])
    currency: Literal["CNY"] = Field(description="ISO 4217.", examples=["CNY"])
    state: Literal["succeeded", "failed"] = Field(
        description="How the refund ended at the gateway.", examples=["succeeded"]
    )


class RefundNotificationAck(Output):
    """The platform received the notification: the gateway may stop sending it. A repeat gets
    the same answer and changes nothing."""

    received: bool = Field(description="Always true.", examples=[True])
    refund_id: str = Field(description="The refund.", examples=[REFUND_EXAMPLE])
    status: Literal["pending", "succeeded", "failed"] = Field(
        description="The refund's status now (`pending` after a failure it will retry).",
        examples=["succeeded"],
    )
