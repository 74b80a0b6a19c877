"""A shop's after-sales settings: where returns go back to, and whether returned goods go
back on sale."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain.clock import utcnow


@dataclass(eq=False)
class AfterSaleSettings:
    shop_id: str
    #: Where the goods of a return go back to by default (an accepted return without an
    #: address of its own, and every return the platform accepts for a silent shop).
    return_address: dict[str, Any] | None = None
    #: Returned goods the shop confirms it received go back into stock.
    restock_returns: bool = True
    #: The shop insures its orders' return shipping (运费险): it pays the platform's premium
    #: per order when the goods first leave; a completed return is compensated.
    shipping_insurance: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1


@dataclass(frozen=True)
class AfterSaleTimes:
    """How long each side has (`MINISHOP_AFTERSALE_*`): the shop to answer a request (then
    the platform accepts it), the buyer to send an accepted return back (then it closes),
    the shop to confirm a return came back (then the platform refunds it)."""

    response: timedelta = timedelta(days=2)
    return_shipment: timedelta = timedelta(days=7)
    receipt: timedelta = timedelta(days=10)

    def as_json(self) -> dict[str, float]:
        return {
            "response": self.response.total_seconds(),
            "return_shipment": self.return_shipment.total_seconds(),
            "receipt": self.receipt.total_seconds(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AfterSaleTimes:
        if not data:
            return cls()
        return cls(**{k: timedelta(seconds=float(v)) for k, v in data.items() if k in _FIELDS})


_FIELDS = ("response", "return_shipment", "receipt")
