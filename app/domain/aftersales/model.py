"""After-sales: a buyer's request for money back (`refund`) or for money back against goods
sent back (`return_refund`), on chosen lines of a paid order, and its life:

    merchant_processing ──accept (refund)──────────────────────────> platform_refunding
         │  │             ──accept (return, with an address)──> user_wait_return
         │  └──reject (with a reason)──> merchant_rejected          │ │
         └──buyer cancels──> user_cancelled <──buyer cancels────────┘ │
                                       return_closed <──never shipped─┤
                  merchant_wait_receipt <──buyer ships it back (waybill)┘
                         └──the shop confirms receipt──> platform_refunding
    platform_refunding ──the gateway refunded──> refunded
                       └──the refund failed after its retries──> refund_failed

Statuses are the Channels Store's. An after-sale that was rejected, cancelled or closed no
longer counts against the order's lines; every other one does (its units and amount are
claimed: `counts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.aftersales.errors import InvalidAfterSaleTransition
from app.domain.clock import utcnow
from app.domain.ids import new_id


class AfterSaleType(StrEnum):
    REFUND = "refund"
    RETURN_REFUND = "return_refund"


class AfterSaleStatus(StrEnum):
    MERCHANT_PROCESSING = "merchant_processing"
    USER_WAIT_RETURN = "user_wait_return"
    MERCHANT_WAIT_RECEIPT = "merchant_wait_receipt"
    PLATFORM_REFUNDING = "platform_refunding"
    MERCHANT_REJECTED = "merchant_rejected"
    USER_CANCELLED = "user_cancelled"
    RETURN_CLOSED = "return_closed"
    REFUNDED = "refunded"
    REFUND_FAILED = "refund_failed"


OPEN = frozenset(
    {
        AfterSaleStatus.MERCHANT_PROCESSING,
        AfterSaleStatus.USER_WAIT_RETURN,
        AfterSaleStatus.MERCHANT_WAIT_RECEIPT,
        AfterSaleStatus.PLATFORM_REFUNDING,
    }
)
#: Ended without money back: what they asked for is free to be asked again.
CLOSED = frozenset(
    {
        AfterSaleStatus.MERCHANT_REJECTED,
        AfterSaleStatus.USER_CANCELLED,
        AfterSaleStatus.RETURN_CLOSED,
    }
)


class AfterSaleReason(StrEnum):
    """Why the buyer asks (the Mini Shop's reason list, shortened)."""

    NOT_RECEIVED = "not_received"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    QUALITY_ISSUE = "quality_issue"
    NO_LONGER_NEEDED = "no_longer_needed"
    OTHER = "other"


@dataclass(frozen=True)
class AfterSaleLine:
    """Units of one order line an after-sale covers, and the fen it refunds for them."""

    line_id: str
    sku_id: str
    quantity: int
    amount: int

    def as_json(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "sku_id": self.sku_id,
            "quantity": self.quantity,
            "amount": self.amount,
        }


@dataclass(eq=False)
class AfterSale:
    shop_id: str
    order_id: str
    buyer_id: str
    type: AfterSaleType
    reason: AfterSaleReason
    #: [{"line_id", "sku_id", "quantity", "amount"}]: see `AfterSaleLine`.
    lines: list[dict[str, Any]]
    #: What is refunded: the lines' amounts plus `freight_amount`, integer fen.
    amount: int
    freight_amount: int = 0
    description: str | None = None
    images: list[str] = field(default_factory=list)
    status: AfterSaleStatus = AfterSaleStatus.MERCHANT_PROCESSING
    #: Where the buyer sends a return (given by the shop when it accepts one).
    return_address: dict[str, Any] | None = None
    return_carrier: str | None = None
    return_waybill_no: str | None = None
    reject_reason: str | None = None
    accepted_at: datetime | None = None
    returned_at: datetime | None = None
    received_at: datetime | None = None
    refunded_at: datetime | None = None
    closed_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("afs"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def counts(self) -> bool:
        """Whether it claims its lines' units and amount (it did not end without money)."""
        return self.status not in CLOSED

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def line_items(self) -> list[AfterSaleLine]:
        return [AfterSaleLine(**x) for x in self.lines]

    # -- transitions ---------------------------------------------------------------------------

    def _require(self, action: str, *allowed: AfterSaleStatus) -> None:
        if self.status not in allowed:
            raise InvalidAfterSaleTransition(action, self.status.value)

    def _to(self, status: AfterSaleStatus, now: datetime | None) -> datetime:
        now = now or utcnow()
        self.status = status
        self.updated_at = now
        return now

    def accept(
        self, return_address: dict[str, Any] | None = None, now: datetime | None = None
    ) -> None:
        """The shop agrees: a refund goes to the gateway; a return waits for the goods,
        sent to `return_address` (required for one, refused for a refund)."""
        self._require("accept", AfterSaleStatus.MERCHANT_PROCESSING)
        if self.type is AfterSaleType.RETURN_REFUND:
            if return_address is None:
                raise ValueError("a return needs the address the goods go back to")
            self.return_address = return_address
            self.accepted_at = self._to(AfterSaleStatus.USER_WAIT_RETURN, now)
        else:
            self.accepted_at = self._to(AfterSaleStatus.PLATFORM_REFUNDING, now)

    def reject(self, reason: str, now: datetime | None = None) -> None:
        self._require("reject", AfterSaleStatus.MERCHANT_PROCESSING)
        self.reject_reason = reason
        self.closed_at = self._to(AfterSaleStatus.MERCHANT_REJECTED, now)

    def cancel(self, now: datetime | None = None) -> None:
        """The buyer withdraws it, before the money or the goods are on their way back."""
        self._require(
            "cancel", AfterSaleStatus.MERCHANT_PROCESSING, AfterSaleStatus.USER_WAIT_RETURN
        )
        self.closed_at = self._to(AfterSaleStatus.USER_CANCELLED, now)

    def ship_back(self, carrier: str, waybill_no: str, now: datetime | None = None) -> None:
        """The buyer sent the goods back under `waybill_no` of `carrier`."""
        self._require("send back the goods of", AfterSaleStatus.USER_WAIT_RETURN)
        self.return_carrier, self.return_waybill_no = carrier, waybill_no
        self.returned_at = self._to(AfterSaleStatus.MERCHANT_WAIT_RECEIPT, now)

    def confirm_receipt(self, now: datetime | None = None) -> None:
        """The shop has the goods back: the money goes to the gateway."""
        self._require("confirm receipt of", AfterSaleStatus.MERCHANT_WAIT_RECEIPT)
        self.received_at = self._to(AfterSaleStatus.PLATFORM_REFUNDING, now)

    def close_unreturned(self, now: datetime | None = None) -> None:
        """The buyer never sent the goods back."""
        self._require("close", AfterSaleStatus.USER_WAIT_RETURN)
        self.closed_at = self._to(AfterSaleStatus.RETURN_CLOSED, now)

    def refunded(self, now: datetime | None = None) -> None:
        self._require("complete", AfterSaleStatus.PLATFORM_REFUNDING)
        self.refunded_at = self._to(AfterSaleStatus.REFUNDED, now)

    def refund_failed(self, now: datetime | None = None) -> None:
        self._require("fail", AfterSaleStatus.PLATFORM_REFUNDING)
        self._to(AfterSaleStatus.REFUND_FAILED, now)
