"""What the platform asks of a carrier and what it takes back.

A carrier adapter (`ports.Carrier`) speaks to the carrier in the carrier's terms; what it
hands back to the platform passes through the parsers below first. A real carrier's answer
is never trusted as-is: a waybill number outside the carrier's published format, an unknown
tracking stage, a time without a zone or a field of the wrong type is a malformed answer
(`CarrierResponseInvalid`), never a value the platform stores or shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

from app.domain.logistics.errors import CarrierResponseInvalid
from app.domain.orders.carriers import carrier
from app.domain.orders.errors import WaybillInvalid

#: A tracking event's location or description longer than this is a malformed answer.
_TEXT_MAX = 200


@dataclass(frozen=True)
class CarrierCredentials:
    """A shop's account with a carrier, as the adapter uses it (the secret in plain text:
    decrypted for the call, never stored so)."""

    shop_id: str
    carrier_code: str
    customer_code: str
    key: str
    secret: str


@dataclass(frozen=True)
class AccountVerdict:
    """The carrier's word on credentials: accepted, or refused with its reason."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class Party:
    """A sender or a receiver as a waybill prints them."""

    name: str
    phone: str
    region_code: str
    detail: str


@dataclass(frozen=True)
class ParcelLine:
    name: str
    quantity: int


@dataclass(frozen=True)
class WaybillRequest:
    """One parcel to send. `request_id` is the caller's key for the creation: asked twice
    with the same one, the carrier answers with the same waybill."""

    credentials: CarrierCredentials
    request_id: str
    sender: Party
    receiver: Party
    lines: tuple[ParcelLine, ...]
    weight_grams: int


@dataclass(frozen=True)
class Waybill:
    carrier_code: str
    number: str
    created_at: datetime


class TrackingStage(StrEnum):
    """Where a parcel is, in the order it gets there."""

    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"


@dataclass(frozen=True)
class TrackingEvent:
    stage: TrackingStage
    at: datetime
    location: str
    description: str


def _invalid(carrier_code: str, what: str) -> CarrierResponseInvalid:
    return CarrierResponseInvalid(
        f"The carrier {carrier_code} answered with {what}.", extra={"carrier": carrier_code}
    )


def _text(carrier_code: str, raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > _TEXT_MAX:
        raise _invalid(carrier_code, f"no valid `{name}`")
    return value.strip()


def _time(carrier_code: str, raw: Mapping[str, Any], name: str) -> datetime:
    value = raw.get(name)
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise _invalid(carrier_code, f"no valid `{name}` (an RFC 3339 time with its zone)")
    return at


def parse_waybill(carrier_code: str, raw: object) -> Waybill:
    """A creation's answer (`{"waybill_no", "created_at"}`), checked against the carrier's
    published waybill format."""
    if not isinstance(raw, Mapping):
        raise _invalid(carrier_code, "an answer that is not an object")
    number = raw.get("waybill_no")
    if not isinstance(number, str):
        raise _invalid(carrier_code, "no `waybill_no`")
    try:
        checked = carrier(carrier_code).check_waybill(number)
    except WaybillInvalid as e:
        raise _invalid(carrier_code, f"a waybill number out of its format ({e.detail})") from e
    if checked != number:
        raise _invalid(carrier_code, "a waybill number that is not in its canonical form")
    return Waybill(carrier_code, checked, _time(carrier_code, raw, "created_at"))


def parse_tracking(carrier_code: str, raw: object) -> list[TrackingEvent]:
    """A tracking answer (`{"events": [{"stage", "at", "location", "description"}]}`): the
    events oldest first, each stage a known one and none before the one it follows."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("events"), Sequence):
        raise _invalid(carrier_code, "no `events` list")
    events: list[TrackingEvent] = []
    for item in raw["events"]:
        if not isinstance(item, Mapping):
            raise _invalid(carrier_code, "an event that is not an object")
        try:
            stage = TrackingStage(str(item.get("stage")))
        except ValueError as e:
            raise _invalid(carrier_code, f"an unknown tracking stage {item.get('stage')!r}") from e
        events.append(
            TrackingEvent(
                stage=stage,
                at=_time(carrier_code, item, "at"),
                location=_text(carrier_code, item, "location"),
                description=_text(carrier_code, item, "description"),
            )
        )
    if any(later.at < earlier.at for earlier, later in pairwise(events)):
        raise _invalid(carrier_code, "events out of time order")
    return events
