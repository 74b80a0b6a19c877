"""The port a use case schedules and cancels timers through (`uow.timers`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Timers(Protocol):
    """Writes go into the unit of work's transaction: a timer scheduled by a use case that
    then fails is never scheduled, and one cancelled before the commit never fires."""

    async def schedule(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        shop_id: str | None = None,
    ) -> None:
        """Fire `(kind, key)` at `due_at`. Idempotent: a pending timer of that name gets the
        new `due_at` and payload (and a claim in progress on it no longer counts); one that
        already fired is armed again (so a handler may re-arm its own timer: the payment
        query, the refund's retry); one that failed for good is left to the operator."""
        ...

    async def cancel(self, kind: str, key: str) -> bool:
        """The pending timer `(kind, key)` will not fire; False when none was pending."""
        ...
