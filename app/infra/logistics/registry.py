"""Which adapter serves a carrier code. The platform has no real carrier integration yet:
the sandbox serves every catalogue carrier but `OTHER` (a shipment may name it; nobody
issues its waybills). A real integration, once written, is registered here by code and
takes the sandbox's place for that carrier."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import utcnow
from app.domain.logistics.errors import CarrierNotSupported
from app.domain.logistics.ports import Carrier
from app.domain.orders.carriers import carrier
from app.infra.logistics.sandbox_carrier import NUMBER_SHAPES, SandboxCarrier, SandboxCarrierFaults

#: The carriers the sandbox plays.
SANDBOX_CODES = frozenset(NUMBER_SHAPES)


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
