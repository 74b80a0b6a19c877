"""Opaque, prefixed, time-ordered identifiers (48-bit milliseconds + 80 random bits)."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id(prefix: str) -> str:
    """`shop_01j9...`: sortable by creation time, not guessable (80 random bits)."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_b32(millis, 10)}{_b32(secrets.randbits(80), 16)}"


PREFIXES = {
    "account": "acct",
    "shop": "shop",
    "audit": "aud",
    "session": "sess",
}
