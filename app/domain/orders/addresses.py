"""A buyer's shipping addresses: recipient, mobile number, GB/T 2260 district, detail; one of
them the default.

Addresses belong to the buyer's account, not to a shop: one address book serves every shop
the buyer orders from (an order copies the address it ships to). The use cases, with the
default rule, are in `address_services.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.orders.errors import PhoneInvalid, RegionUnknown
from app.domain.orders.regions import Region, region

#: As many as the Mini Shop's own address book keeps.
MAX_ADDRESSES = 20
#: A mainland mobile number: 11 digits, 1 then 3-9 (the carriers' number ranges).
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s-]")


def normalize_phone(raw: str, field: str = "phone") -> str:
    """`138 0013 8000`, `138-0013-8000` and `+86 13800138000` are `13800138000`; the error
    points at the request's `field`."""
    phone = _SEPARATORS.sub("", raw)
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _MOBILE.fullmatch(phone):
        raise PhoneInvalid(
            "Use a mainland China mobile number: 11 digits starting with 13-19, e.g. 13800138000.",
            errors=[{"loc": ["body", field], "msg": "not a mobile number", "type": "phone"}],
        )
    return phone


def resolve_region(code: str) -> Region:
    """The district `code` names; the error points at the request's field."""
    try:
        return region(code)
    except RegionUnknown as e:
        raise RegionUnknown(
            e.detail,
            errors=[
                {"loc": ["body", "region_code"], "msg": "unknown region code", "type": "region"}
            ],
        ) from e


@dataclass(eq=False)
class Address:
    account_id: str
    recipient: str
    phone: str
    region_code: str
    detail: str
    is_default: bool = False
    id: str = field(default_factory=lambda: new_id("addr"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def region(self) -> Region:
        return region(self.region_code)


@dataclass(frozen=True)
class AddressChanges:
    """The fields an update sets; None leaves one as it is."""

    recipient: str | None = None
    phone: str | None = None
    region_code: str | None = None
    detail: str | None = None
