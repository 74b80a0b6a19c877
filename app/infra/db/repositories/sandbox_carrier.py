"""The sandbox carrier's side of the carrier port: its waybills (`sandbox_waybills`), written
in the caller's transaction, and the registry that finds an adapter by carrier code (see
`app/infra/logistics/sandbox_carrier.py` for the sandbox carrier as a whole).

The platform has no real carrier integration yet: the sandbox serves every catalogue carrier
but `OTHER` (a shipment may name it; nobody issues its waybills). A real integration, once
written, is registered here by code and takes the sandbox's place for that carrier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.logistics.carrier import (
    AccountVerdict,
    CarrierCredentials,
    TrackingEvent,
    Waybill,
    WaybillRequest,
    parse_tracking,
    parse_waybill,
)
from app.domain.logistics.errors import (
    CarrierNotSupported,
    CarrierTimeout,
    CarrierUnavailable,
    WaybillNotCancellable,
    WaybillUnknown,
)
from app.domain.logistics.ports import Carrier
from app.domain.orders.carriers import carrier
from app.infra.db import tables
from app.infra.db.tenancy import select, update
from app.infra.logistics.sandbox_carrier import (
    COLLECTED_AFTER,
    SANDBOX_CODES,
    SCHEDULE,
    SandboxCarrierFaults,
    place,
    rfc3339,
    verify,
    waybill_number,
)

_w = tables.sandbox_waybills


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
        return verify(credentials.secret)

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
                "number": waybill_number(self._code),
                "sender_region": request.sender.region_code,
                "receiver_region": request.receiver.region_code,
                "weight_grams": request.weight_grams,
                "created_at": created_at,
            }
            await self.s.execute(sa.insert(_w).values(**values))
            answer = {"waybill_no": values["number"], "created_at": rfc3339(created_at)}
        else:
            answer = {"waybill_no": taken.number, "created_at": rfc3339(taken.created_at)}
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
                    "at": rfc3339(row.created_at + after),
                    "location": place(
                        row.receiver_region if far else row.sender_region, hub=stage == "in_transit"
                    ),
                    "description": description,
                }
                for after, stage, far, description in SCHEDULE
                if row.created_at + after <= now
            ]
        )
        return parse_tracking(self._code, {"events": events})


class CarrierAdapters:
    """The registry, for one unit of work (the sandbox writes in its session)."""

    def __init__(
        self,
        session: AsyncSession,
        faults: SandboxCarrierFaults,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.s = session
        self.faults = faults
        self.clock = clock
        self._made: dict[str, Carrier] = {}

    def get(self, carrier_code: str) -> Carrier:
        known = carrier(carrier_code)
        if known.code not in SANDBOX_CODES:
            raise CarrierNotSupported(
                f"No carrier integration serves {known.name_en} ({known.code}): it can be named "
                "on a shipment, but no account of it can be bound.",
                errors=[{"loc": ["body", "carrier"], "msg": "not supported", "type": "carrier"}],
                extra={"carrier": known.code},
            )
        if carrier_code not in self._made:
            self._made[carrier_code] = SandboxCarrier(self.s, carrier_code, self.faults, self.clock)
        return self._made[carrier_code]
