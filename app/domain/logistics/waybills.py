"""An electronic waybill (电子面单) the platform had a carrier issue for an order: the number,
who sends and who receives as printed on its label, what is in the parcel and its weight.

Sender and receiver are snapshots taken at issue: the label printed next week shows what the
carrier was told, whatever the address book or the order says by then. A waybill is issued
for the units of the order's lines it carries; shipping it (`ship`) produces the order's
shipment under its number. A shipment uses a waybill when it travels under its carrier and
number, however it was made (with `ship`, or by hand with the number): that is read from the
order's shipments, never kept twice. A waybill can be cancelled at the carrier until the
parcel is collected, and not while a shipment uses it (change the shipment's waybill first).

Tracking is kept on the waybill (the carrier tracks its number): its latest stage, when the
worker last asked, and when it was delivered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.logistics.carrier import ParcelLine, Party, TrackingStage
from app.domain.logistics.errors import WaybillCancelled, WaybillInUse
from app.domain.orders.regions import region

#: Units of one waybill's parcel: an order has at most this many lines anyway.
MAX_WAYBILL_LINES = 100
#: A parcel's weight, grams: 1 g to 100 kg (heavier goes by freight, not express).
MAX_WEIGHT_GRAMS = 100_000


@dataclass(frozen=True)
class TrackingTerms:
    """How often the worker asks a carrier where a parcel is, and how long after delivery
    receipt is confirmed for the buyer."""

    poll_every: timedelta = timedelta(hours=1)
    auto_confirm_after: timedelta = timedelta(days=10)


class WaybillStatus(StrEnum):
    """`issued` by the carrier; `cancelled` at the carrier before it collected the parcel."""

    ISSUED = "issued"
    CANCELLED = "cancelled"


def carrier_request_id(shop_id: str, order_id: str, key: str) -> str:
    """The carrier's key of a creation, from the caller's own key (an `Idempotency-Key`, a
    batch's position): asked again after a failure, the carrier answers with the waybill it
    may already have issued instead of a second one."""
    return hashlib.sha256(f"{shop_id}\x00{order_id}\x00{key}".encode()).hexdigest()[:40]


def mask_phone(phone: str) -> str:
    """The middle of a phone number starred, as carriers print it: 13812348000 →
    138****8000. Numbers too short to keep seven digits keep only their last two."""
    digits = "".join(phone.split())
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def address_text(region_code: str, detail: str) -> str:
    r = region(region_code)
    return f"{r.province_name}{r.city_name or ''}{r.district_name}{detail}"


def party_snapshot(party: Party, *, company: str | None = None) -> dict[str, Any]:
    return {
        "name": party.name,
        "phone": party.phone,
        "company": company,
        "region_code": party.region_code,
        "detail": party.detail,
        "address": address_text(party.region_code, party.detail),
    }


@dataclass(eq=False)
class EWaybill:
    shop_id: str
    order_id: str
    logistics_account_id: str
    carrier_code: str
    number: str
    #: `{"name", "phone", "company", "region_code", "detail", "address"}` at issue.
    sender: dict[str, Any]
    #: The same for the order's recipient, at issue.
    receiver: dict[str, Any]
    #: `[{"line_id", "quantity", "title"}]`: the units of the order's lines in the parcel.
    lines: list[dict[str, Any]]
    weight_grams: int
    status: WaybillStatus = WaybillStatus.ISSUED
    cancelled_at: datetime | None = None
    #: The latest tracking stage the carrier reported, when it was last asked, delivery.
    tracking_stage: TrackingStage | None = None
    tracked_at: datetime | None = None
    delivered_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("wb"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def parcel(self) -> tuple[ParcelLine, ...]:
        return tuple(ParcelLine(str(x["title"]), int(x["quantity"])) for x in self.lines)

    @property
    def quantities(self) -> dict[str, int]:
        """Line id → units, as a shipment takes them."""
        return {str(x["line_id"]): int(x["quantity"]) for x in self.lines}

    def summary(self) -> str:
        """What is in the parcel, as its label prints it."""
        return "；".join(f"{x['title']} ×{x['quantity']}" for x in self.lines)

    def require_cancellable(self, shipment_id: str | None) -> None:
        """`shipment_id`: the order's shipment travelling under this waybill, if any."""
        self.require_issued()
        if shipment_id is not None:
            raise WaybillInUse(
                f"Shipment {shipment_id} of the order travels under waybill {self.number}; "
                "change that shipment's waybill first.",
                extra={"shipment_id": shipment_id},
            )

    def require_issued(self) -> None:
        if self.status is WaybillStatus.CANCELLED:
            raise WaybillCancelled(
                f"Waybill {self.number} was cancelled: it prints no label, ships nothing and "
                "cannot be cancelled again."
            )

    def cancel(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        self.status = WaybillStatus.CANCELLED
        self.cancelled_at = self.updated_at = now
