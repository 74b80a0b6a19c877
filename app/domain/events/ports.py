"""The outbox port: events written in the use case's transaction."""

from __future__ import annotations

from typing import Protocol

from app.domain.events.model import Event


class OutboxRepository(Protocol):
    async def add(self, event: Event) -> None:
        """An event of a family without sequence (anything but `order.*`)."""

    async def add_many(self, events: list[Event]) -> None:
        """Many events without sequence at once (a bulk job's chunk)."""

    async def add_in_sequence(self, event: Event) -> None:
        """An event of a sequenced family (`order.*`): takes its resource's next `sequence`
        (set on the event and in its `data` once it is written: at the latest when the unit
        of work flushes) and holds that resource's counter until the transaction ends, so
        numbers follow commit order and a rollback leaves no gap."""
