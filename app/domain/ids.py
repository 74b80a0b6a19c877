"""Opaque, prefixed, time-ordered identifiers (48-bit milliseconds + 80 random bits)."""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


#: Every pair of digits, by the 10 bits they stand for: an id's 26 digits in 13 steps.
_PAIRS = [hi + lo for hi in _ALPHABET for lo in _ALPHABET]


def crockford32(value: int, length: int) -> str:
    """The lowest `5 * length` bits of `value` as `length` base-32 digits (`length` even),
    most significant first."""
    out = []
    for _ in range(length // 2):
        out.append(_PAIRS[value & 1023])
        value >>= 10
    return "".join(reversed(out))


_RANDOM_BITS = 80
_lock = threading.Lock()
_last = (0, 0)  # (millis, random part) of the last id made in this process


def new_id(prefix: str) -> str:
    """`shop_01j9...`: sortable by creation time, not guessable (80 random bits).

    Monotonic within a process: ids made in the same millisecond (or while the clock steps
    back) keep the previous timestamp and step the random part up by a random amount, so
    "newest first" by id holds even for rows written in one transaction.
    """
    global _last
    millis = time.time_ns() // 1_000_000
    with _lock:
        last_millis, last_rand = _last
        if millis > last_millis:
            rand = secrets.randbits(_RANDOM_BITS)
        else:
            millis = last_millis
            rand = last_rand + 1 + secrets.randbits(32)
            if rand >= 1 << _RANDOM_BITS:
                millis, rand = millis + 1, secrets.randbits(_RANDOM_BITS)
        _last = (millis, rand)
    return f"{prefix}_{crockford32(millis, 10)}{crockford32(rand, 16)}"
