"""A shop's funds as the open API shows them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.api.schemas.base import Output


class Funds(Output):
    """The shop's balances in its ledger, integer fen."""

    currency: Literal["CNY"] = Field(description="ISO 4217.", examples=["CNY"])
    pending: int = Field(
        description="Paid by buyers and held until their orders are settled.", examples=[40600]
    )
    available: int = Field(
        description="Settled: the shop's (negative when it owes refunds made after settlement).",
        examples=[0],
    )
    refunded: int = Field(description="Gone back to buyers, in all.", examples=[10000])
    platform_fee: int = Field(description="Kept by the platform as its fee.", examples=[0])
    insurance_premium: int = Field(description="Paid for shipping insurance.", examples=[0])
