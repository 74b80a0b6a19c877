"""The sandbox carrier: a stand-in for a carrier's electronic waybill API (SF, ZTO, ...), for
development, tests and providers trying the platform. One adapter per catalogue carrier.

- **Accounts.** It accepts any customer code and key, and a secret of at least
  `MIN_SECRET_LENGTH` characters unless it begins with `REFUSED_PREFIX` (`refuse…`), so a
  refusal can be tried on purpose.
- **Waybills** get numbers in the carrier's published format (checked by the catalogue,
  `orders.carriers`), are idempotent per request id (the same one answers with the same
  waybill; nothing is written twice) and are kept in its own table (`sandbox_waybills`),
  written in the caller's transaction as the sandbox payment gateway keeps its charges.
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.logistics.carrier import (
    AccountVerdict,
    CarrierCredentials,
    TrackingEvent,
    TrackingStage,
    Waybill,
    WaybillRequest,
    parse_tracking,
    parse_waybill,
)
from app.domain.logistics.errors import (
    CarrierTimeout,
    CarrierUnavailable,
    WaybillNotCancellable,
    WaybillUnknown,
)
from app.domain.orders.carriers import carrier
from app.domain.orders.regions import region
from app.infra.db import tables
from app.infra.db.tenancy import select, update

_w = tables.sandbox_waybills

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


def _rfc3339(at: datetime) -> str:
    return at.isoformat()


def _place(code: str, *, hub: bool) -> str:
    r = region(code)
    city = r.city_name or r.province_name
    return f"{city}转运中心" if hub else f"{r.province_name}{r.city_name or ''}{r.district_name}"


class SandboxCarrier:
    """The carrier port for one catalogue carrier, on the sandbox's table, in the caller's
    transaction."""

    def __init__(
        self,
        session: AsyncSession,
        code: str,
        faults: SandboxCarrierFaults,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.s = session
        self._code = code
        self.faults = faults
        self.clock = clock

    @property
    def code(self) -> str:
        return self._code

    async def verify_account(self, credentials: CarrierCredentials) -> AccountVerdict:
        secret = credentials.secret
        if len(secret) < MIN_SECRET_LENGTH:
            return AccountVerdict(False, f"the secret is shorter than {MIN_SECRET_LENGTH}")
        if secret.startswith(REFUSED_PREFIX):
            return AccountVerdict(False, "the carrier does not know this key and secret")
        return AccountVerdict(True)

    def _number(self) -> str:
        prefix, digits, suffix = NUMBER_SHAPES.get(self._code, ("SB", 13, ""))
        body = "".join(str(secrets.randbelow(10)) for _ in range(digits))
        return carrier(self._code).check_waybill(prefix + body + suffix)

    async def _row(self, credentials: CarrierCredentials, number: str) -> Any:
        row = (
            await self.s.execute(
                select(_w, credentials.shop_id).where(
                    _w.c.carrier_code == self._code,
                    _w.c.customer_code == credentials.customer_code,
                    _w.c.number == number,
                )
            )
        ).one_or_none()
        if row is None:
            raise WaybillUnknown(f"{self._code} knows no waybill {number} of this account.")
        return row

    async def create_waybill(self, request: WaybillRequest) -> Waybill:
        c = request.credentials
        taken = (
            await self.s.execute(
                select(_w, c.shop_id).where(
                    _w.c.carrier_code == self._code, _w.c.request_id == request.request_id
                )
            )
        ).one_or_none()
        if taken is None:
            if self.faults.take_creation_failure():
                raise CarrierUnavailable(
                    f"{self._code} (sandbox) is unavailable; try again.",
                    extra={"carrier": self._code},
                )
            created_at = self.clock()
            values: dict[str, Any] = {
                "id": new_id("sbwb"),
                "shop_id": c.shop_id,
                "carrier_code": self._code,
                "customer_code": c.customer_code,
                "request_id": request.request_id,
                "number": self._number(),
                "sender_region": request.sender.region_code,
                "receiver_region": request.receiver.region_code,
                "weight_grams": request.weight_grams,
                "created_at": created_at,
            }
            await self.s.execute(sa.insert(_w).values(**values))
            answer = {"waybill_no": values["number"], "created_at": _rfc3339(created_at)}
        else:
            answer = {"waybill_no": taken.number, "created_at": _rfc3339(taken.created_at)}
        return parse_waybill(self._code, answer)

    async def cancel_waybill(self, credentials: CarrierCredentials, number: str) -> None:
        row = await self._row(credentials, number)
        if row.cancelled_at is not None:
            return
        if self.clock() >= row.created_at + COLLECTED_AFTER:
            raise WaybillNotCancellable(
                f"{self._code} collected the parcel of waybill {number}; it can no longer be "
                "cancelled.",
                extra={"carrier": self._code, "waybill_no": number},
            )
        await self.s.execute(
            update(_w, credentials.shop_id)
            .where(_w.c.id == row.id)
            .values(cancelled_at=self.clock())
        )

    async def track(self, credentials: CarrierCredentials, number: str) -> list[TrackingEvent]:
        if self.faults.take_track_timeout():
            raise CarrierTimeout(
                f"{self._code} (sandbox) did not answer the tracking query in time.",
                extra={"carrier": self._code},
            )
        row = await self._row(credentials, number)
        now = self.clock()
        events = (
            []
            if row.cancelled_at is not None
            else [
                {
                    "stage": str(stage),
                    "at": _rfc3339(row.created_at + after),
                    "location": _place(
                        row.receiver_region if far else row.sender_region, hub=stage == "in_transit"
                    ),
                    "description": description,
                }
                for after, stage, far, description in SCHEDULE
                if row.created_at + after <= now
            ]
        )
        return parse_tracking(self._code, {"events": events})
