"""A shop's sender/return address book: the addresses its parcels leave from and come back
to, one of them the default sender. Phone and region follow the buyers' address rules
(`orders.addresses`): a mainland mobile number, a GB/T 2260 district."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.orders.regions import Region, region

#: A warehouse-heavy shop keeps several; more is a sign of misuse.
MAX_SENDER_ADDRESSES = 50


@dataclass(eq=False)
class SenderAddress:
    shop_id: str
    name: str
    phone: str
    region_code: str
    detail: str
    company: str | None = None
    is_default: bool = False
    id: str = field(default_factory=lambda: new_id("sadr"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def region(self) -> Region:
        return region(self.region_code)


@dataclass(frozen=True)
class SenderChanges:
    """The fields an update sets; None leaves one as it is (`company=""` clears it)."""

    name: str | None = None
    phone: str | None = None
    region_code: str | None = None
    detail: str | None = None
    company: str | None = None
    is_default: bool | None = None
