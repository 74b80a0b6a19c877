"""A refund: the money of an after-sale going back to the buyer through the payment gateway
that took it.

    pending ──the gateway reports it done──> succeeded
       └────the gateway reports it failed, `MAX_ATTEMPTS` times──> failed

One per after-sale (made when the after-sale reaches `platform_refunding`), for part of the
order's payment (`amount`); the gateway knows it by its id, so asking twice refunds once. A
failure before the last attempt leaves it pending: the worker asks the gateway again later
(`RETRY_AFTER` times the attempts so far), as real gateways allow with the same refund id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.clock import utcnow
from app.domain.ids import new_id

#: How many times the gateway is asked before the refund counts as failed.
MAX_ATTEMPTS = 3
#: The wait before asking again, times the attempts made.
RETRY_AFTER = timedelta(minutes=5)


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(eq=False)
class Refund:
    shop_id: str
    order_id: str
    aftersale_id: str
    payment_id: str
    amount: int
    gateway: str
    status: RefundStatus = RefundStatus.PENDING
    #: The gateway's id of this refund.
    gateway_reference: str | None = None
    #: Times the gateway was asked.
    attempts: int = 1
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("rfd"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def pending(self) -> bool:
        return self.status is RefundStatus.PENDING

    def succeed(self, now: datetime | None = None) -> None:
        if not self.pending:
            raise ValueError(f"refund {self.id} is {self.status}, not pending")
        now = now or utcnow()
        self.status, self.succeeded_at, self.updated_at = RefundStatus.SUCCEEDED, now, now

    @property
    def retryable(self) -> bool:
        return self.pending and self.attempts < MAX_ATTEMPTS

    def fail(self, now: datetime | None = None) -> None:
        if not self.pending:
            raise ValueError(f"refund {self.id} is {self.status}, not pending")
        now = now or utcnow()
        self.status, self.failed_at, self.updated_at = RefundStatus.FAILED, now, now
