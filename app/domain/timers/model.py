"""Durable timers: something to do for a shop at a time, whatever process is running then.

A timer is named by `(kind, key)` — `("order.close_unpaid", order_id)` — so scheduling it
again replaces the pending one instead of adding a second, and a use case can cancel it
by name. A worker fires it once: its handler runs in the transaction that marks it done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class TimerStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    #: Its handler kept failing: given up after `MAX_ATTEMPTS`, kept for an operator.
    FAILED = "failed"


#: A handler that fails this many times gives the timer up.
MAX_ATTEMPTS = 20
#: The first retry waits this long, each next one twice as long, up to `MAX_BACKOFF`.
FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class Timer:
    """A claimed timer, as its handler sees it."""

    id: str
    kind: str
    key: str
    due_at: datetime
    shop_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    #: Claims so far, this one included (a worker that died mid-handler counts).
    attempts: int = 1
    #: Whose claim this is: the worker's writes apply only while the timer is still its own.
    lease_token: str = ""


def backoff(attempts: int, first: timedelta = FIRST_BACKOFF) -> timedelta:
    """How long after its `attempts`-th failure a timer is tried again: doubling, capped."""
    return min(first * (1 << min(max(attempts - 1, 0), 20)), MAX_BACKOFF)
