"""In-store pickup (门店自提): a shop's pickup points, the code a paid pickup order gets, and
the throttle on wrong codes.

A pickup order names an enabled point of its shop instead of an address and pays no freight;
the order keeps a snapshot of the point. Paid, it gets a code of `CODE_DIGITS` random digits,
unique among the shop's open pickup orders (a partial unique index backs the draw), which only
its buyer is shown. The shop marks it ready (`order.ready_for_pickup`); the buyer's code, told
to the shop's staff, completes it. Wrong codes are counted per shop in a fixed window
(`PickupThrottle`); past `WRONG_CODES_PER_WINDOW` every code is refused until it ends.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.orders.regions import Region, region

#: A shop keeps at most this many pickup points.
MAX_PICKUP_POINTS = 200
#: Digits of a pickup code: 10^8 codes, so guessing an open order's code at the throttled
#: rate takes months even for a shop with many orders waiting.
CODE_DIGITS = 8
#: Wrong codes a shop may enter per window before every code is refused until it ends.
WRONG_CODES_PER_WINDOW = 10
THROTTLE_WINDOW = timedelta(seconds=60)
#: Draws of a code before giving up (each collision is one in 10^8 / open orders).
CODE_DRAWS = 10


def new_code() -> str:
    """`CODE_DIGITS` digits from the system's CSPRNG, leading zeros kept."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def is_code_shaped(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


@dataclass(eq=False)
class PickupPoint:
    """A place of the shop where buyers collect their orders."""

    shop_id: str
    name: str
    region_code: str
    detail: str
    #: Opening hours as the shop words them (`周一至周日 09:00-21:00`).
    hours: str
    contact_name: str
    contact_phone: str
    enabled: bool = True
    id: str = field(default_factory=lambda: new_id("pkp"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def region(self) -> Region:
        return region(self.region_code)

    def snapshot(self) -> dict[str, Any]:
        """What an order keeps of the point when it is placed (later edits do not change it)."""
        r = self.region
        return {
            "id": self.id,
            "name": self.name,
            "region_code": r.code,
            "province": r.province_name,
            "city": r.city_name,
            "district": r.district_name,
            "detail": self.detail,
            "hours": self.hours,
            "contact_name": self.contact_name,
            "contact_phone": self.contact_phone,
        }


@dataclass(frozen=True)
class PickupPointChanges:
    """The fields an update sets; None leaves one as it is."""

    name: str | None = None
    region_code: str | None = None
    detail: str | None = None
    hours: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class PickupDelivery:
    """An order collected at a pickup point of its shop."""

    pickup_point_id: str


@dataclass(eq=False)
class PickupThrottle:
    """A shop's wrong pickup codes in the current fixed window (one row per shop, locked by
    every verification, so verifications of a shop take turns in any process)."""

    shop_id: str
    window_started_at: datetime
    failures: int = 0

    def retry_after(self, now: datetime) -> int | None:
        """Seconds until codes are taken again; None when they are now."""
        if now >= self.window_started_at + THROTTLE_WINDOW:
            return None
        if self.failures < WRONG_CODES_PER_WINDOW:
            return None
        left = self.window_started_at + THROTTLE_WINDOW - now
        return max(1, int(left.total_seconds() + 0.999))

    def count_failure(self, now: datetime) -> None:
        if now >= self.window_started_at + THROTTLE_WINDOW:
            self.window_started_at, self.failures = now, 0
        self.failures += 1
