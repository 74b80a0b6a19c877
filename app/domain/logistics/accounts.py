"""A shop's account with a carrier (月结账号): the customer code the carrier bills, and the
key and secret its API wants. Key and secret are encrypted at rest (the key ring's cipher)
and never returned; their last characters are kept beside them to show them masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.clock import utcnow
from app.domain.ids import new_id

#: How many of a secret's last characters a masked value shows.
SHOWN = 4


def mask(tail: str, length: int = 8) -> str:
    """`****Wx9k`: the kept tail after a fixed run of stars (the length is not revealed)."""
    return "*" * length + tail


def tail(value: str) -> str:
    """The characters a masked value shows: the last four, none of a value that short."""
    return value[-SHOWN:] if len(value) > 2 * SHOWN else ""


@dataclass(eq=False)
class LogisticsAccount:
    shop_id: str
    carrier_code: str
    customer_code: str
    key_encrypted: str
    key_tail: str
    secret_encrypted: str
    secret_tail: str
    verified_at: datetime
    id: str = field(default_factory=lambda: new_id("lacc"))
    created_at: datetime = field(default_factory=utcnow)
