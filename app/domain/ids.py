"""Opaque, prefixed, time-ordered identifiers (48-bit milliseconds + 80 random bits)."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


#: Every pair of digits, by the 10 bits they stand for: an id's 26 digits in 13 steps.
_PAIRS = [hi + lo for hi in _ALPHABET for lo in _ALPHABET]
#: For each even length, where its pairs of digits start, most significant first.
_SHIFTS = {length: tuple(range(5 * length - 10, -1, -10)) for length in range(2, 34, 2)}


def crockford32(value: int, length: int) -> str:
    """The lowest `5 * length` bits of `value` as `length` base-32 digits (`length` even,
    up to 32), most significant first."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS[length]])


_RANDOM_BITS = 80
_lock = threading.Lock()
_last = (0, 0)  # (millis, random part) of the last id made in this process

#: Random bytes are drawn from the kernel (`os.urandom`, as `secrets` does) this many at a
#: time and handed out in order: one system call for hundreds of ids, not one for each.
_DRAW_BYTES = 4096
_drawn = b""
_used = 0


def _random(nbytes: int) -> int:
    """`nbytes` fresh random bytes as an integer (under `_lock`)."""
    global _drawn, _used
    if _used + nbytes > len(_drawn):
        _drawn, _used = os.urandom(_DRAW_BYTES), 0
    start = _used
    _used += nbytes
    return int.from_bytes(_drawn[start:_used], "big")


def _forget_drawn() -> None:
    """A forked process draws its own: never the bytes its parent goes on handing out."""
    global _drawn, _used
    _drawn, _used = b"", 0


os.register_at_fork(after_in_child=_forget_drawn)


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
            rand = _random(_RANDOM_BITS // 8)
        else:
            millis = last_millis
            rand = last_rand + 1 + _random(4)
            if rand >= 1 << _RANDOM_BITS:
                millis, rand = millis + 1, _random(_RANDOM_BITS // 8)
        _last = (millis, rand)
    return f"{prefix}_{crockford32(millis << _RANDOM_BITS | rand, 26)}"
