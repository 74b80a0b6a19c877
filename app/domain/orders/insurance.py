"""Shipping insurance (运费险): a shop that turns it on (its after-sales settings) insures
each order when its goods first leave, paying the platform's premium out of what the order
holds (`premium` posting: `pending` → `insurance_premium`). When a return of an insured
order completes (refunded), the platform compensates the buyer's return shipping: a flat
amount by the province of the order's address (`InsuranceTerms.claim_for`), paid by the
platform through the gateway (not out of the shop's books) by the worker
(`app/domain/aftersales/insurance.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from app.domain.clock import utcnow
from app.domain.ids import new_id

#: Fen paid to a buyer for a return's shipping, by the first two digits of the order's
#: region code (the province); `DEFAULT_CLAIM` elsewhere. Remote provinces cost more to ship
#: from: Inner Mongolia 15, Tibet 54, Qinghai 63, Ningxia 64, Xinjiang 65.
DEFAULT_CLAIMS: Mapping[str, int] = MappingProxyType(
    {"15": 1500, "54": 2500, "63": 2000, "64": 1500, "65": 2500}
)
DEFAULT_CLAIM = 1000


@dataclass(frozen=True)
class InsuranceTerms:
    """The platform's shipping insurance (`MINISHOP_INSURANCE_*`): the premium a shop pays
    per insured order, and what a completed return's shipping is compensated with."""

    premium: int = 150
    claims: Mapping[str, int] = field(default_factory=lambda: DEFAULT_CLAIMS)
    default_claim: int = DEFAULT_CLAIM

    def __post_init__(self) -> None:
        if self.premium < 0 or self.default_claim < 0 or min(self.claims.values(), default=0) < 0:
            raise ValueError("premiums and claims are amounts in fen, not negative")

    def claim_for(self, region_code: str) -> int:
        """The compensation for a return from `region_code` (a 6-digit code)."""
        return self.claims.get(region_code[:2], self.default_claim)


@dataclass(eq=False)
class Policy:
    """An insured order: its premium, paid by the shop when the goods first left."""

    shop_id: str
    order_id: str
    premium: int
    id: str = field(default_factory=lambda: new_id("ipol"))
    created_at: datetime = field(default_factory=utcnow)


class ClaimStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"


@dataclass(eq=False)
class Claim:
    """A compensation owed to the buyer of an insured order for a completed return."""

    shop_id: str
    order_id: str
    policy_id: str
    aftersale_id: str
    buyer_id: str
    amount: int
    status: ClaimStatus = ClaimStatus.PENDING
    gateway_reference: str | None = None
    paid_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("iclm"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def pay(self, reference: str, now: datetime | None = None) -> None:
        if self.status is not ClaimStatus.PENDING:
            raise ValueError(f"claim {self.id} is {self.status}, not pending")
        now = now or utcnow()
        self.status = ClaimStatus.PAID
        self.gateway_reference = reference
        self.paid_at = self.updated_at = now
