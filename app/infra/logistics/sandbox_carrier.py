"""The sandbox carrier: a stand-in for a carrier's electronic waybill API (SF, ZTO, ...), for
development, tests and providers trying the platform. One adapter per catalogue carrier.

- **Accounts.** It accepts any customer code and key, and a secret of at least
  `MIN_SECRET_LENGTH` characters unless it begins with `REFUSED_PREFIX` (`refuse…`), so a
  refusal can be tried on purpose.
- **Waybills** get numbers in the carrier's published format (checked by the catalogue,
  `orders.carriers`), are idempotent per request id (the same one answers with the same
  waybill; nothing is written twice) and are kept in its own table (`sandbox_waybills`),
  written in the caller's transaction as the sandbox payment gateway keeps its charges (the
  adapter on that table: `app/infra/db/repositories/sandbox_carrier.py`).
- **Tracking** is derived from the waybill's creation time and the clock (`SCHEDULE`):
  collected 2 h after creation, in transit, out for delivery, delivered 30 h after, with
  locations from the sender's and the receiver's regions. A waybill can be cancelled until it
  is collected.
- **Failures on demand** (`SandboxCarrierFaults`): the next N creations fail as an
  unavailable carrier would, the next N tracking polls time out. The container holds one per
  process, seeded from the settings `sandbox_carrier_fail_creations` and
  `sandbox_carrier_track_timeouts` (0 by default); tests set it directly.

Its answers go through the same validation a real carrier's do (`carrier.parse_waybill`,
`carrier.parse_tracking`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.logistics.carrier import AccountVerdict, TrackingStage
from app.domain.orders.carriers import carrier
from app.domain.orders.regions import region

#: The sandbox's account rule (documented to providers in the bind operation).
MIN_SECRET_LENGTH = 12
REFUSED_PREFIX = "refuse"

#: A waybill's number: prefix, random digits, suffix — inside each carrier's published format.
NUMBER_SHAPES: dict[str, tuple[str, int, str]] = {
    "SF": ("SF", 13, ""),
    "ZTO": ("78", 12, ""),
    "YTO": ("YT", 13, ""),
    "STO": ("773", 12, ""),
    "YD": ("43", 11, ""),
    "JD": ("JDVA", 11, ""),
    "EMS": ("EA", 9, "CN"),
    "YZPY": ("98", 11, ""),
    "JTSD": ("JT", 13, ""),
    "DBL": ("DPK", 12, ""),
    "HTKY": ("55", 10, ""),
    "ZJS": ("1", 9, ""),
    "FWX": ("FW", 13, ""),
}

#: The carriers the sandbox plays: every catalogue carrier but `OTHER`.
SANDBOX_CODES = frozenset(NUMBER_SHAPES)

#: Collected this long after creation: until then the waybill can be cancelled.
COLLECTED_AFTER = timedelta(hours=2)

#: (after creation, stage, at the receiver's end?, description).
SCHEDULE: tuple[tuple[timedelta, TrackingStage, bool, str], ...] = (
    (COLLECTED_AFTER, TrackingStage.COLLECTED, False, "快件已揽收"),
    (timedelta(hours=6), TrackingStage.IN_TRANSIT, False, "快件已发往目的地"),
    (timedelta(hours=20), TrackingStage.IN_TRANSIT, True, "快件已到达目的地转运中心"),
    (timedelta(hours=26), TrackingStage.OUT_FOR_DELIVERY, True, "快件正在派送中"),
    (timedelta(hours=30), TrackingStage.DELIVERED, True, "快件已签收"),
)


@dataclass
class SandboxCarrierFaults:
    """The sandbox's test knob: how many of the next creations fail (503 unavailable) and
    how many of the next tracking polls time out. Each failure uses one up."""

    fail_creations: int = 0
    track_timeouts: int = 0

    def take_creation_failure(self) -> bool:
        if self.fail_creations > 0:
            self.fail_creations -= 1
            return True
        return False

    def take_track_timeout(self) -> bool:
        if self.track_timeouts > 0:
            self.track_timeouts -= 1
            return True
        return False


def rfc3339(at: datetime) -> str:
    return at.isoformat()


def place(code: str, *, hub: bool) -> str:
    r = region(code)
    city = r.city_name or r.province_name
    return f"{city}转运中心" if hub else f"{r.province_name}{r.city_name or ''}{r.district_name}"


def verify(secret: str) -> AccountVerdict:
    """The sandbox's account rule: any customer code and key; the secret decides."""
    if len(secret) < MIN_SECRET_LENGTH:
        return AccountVerdict(False, f"the secret is shorter than {MIN_SECRET_LENGTH}")
    if secret.startswith(REFUSED_PREFIX):
        return AccountVerdict(False, "the carrier does not know this key and secret")
    return AccountVerdict(True)


def waybill_number(code: str) -> str:
    """A fresh number in the carrier's published format (checked by the catalogue)."""
    prefix, digits, suffix = NUMBER_SHAPES[code]
    body = "".join(str(secrets.randbelow(10)) for _ in range(digits))
    return carrier(code).check_waybill(prefix + body + suffix)
