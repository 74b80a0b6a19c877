"""Domain events, written to the outbox in the same transaction as the change that caused them.

The webhook worker turns outbox rows into one delivery per matching endpoint
(`app.domain.webhooks`) and sends them, signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.clock import utcnow
from app.domain.ids import new_id

#: Families whose events carry `sequence`: 1, 2, 3… per resource (an order), in the order
#: their transactions committed, so a receiver can tell a late retry from the latest news.
SEQUENCED_FAMILIES = frozenset({"order"})


def sequenced(event_type: str) -> bool:
    return event_type.split(".", 1)[0] in SEQUENCED_FAMILIES


@dataclass(eq=False)
class Event:
    """`type` is dotted (`app.authorized`); `data` is the JSON payload a subscriber receives."""

    type: str
    shop_id: str | None
    data: dict[str, Any]
    #: When set, the event concerns one app only (its own authorization changes).
    app_id: str | None = None
    resource_id: str | None = None
    id: str = field(default_factory=lambda: new_id("evt"))
    created_at: datetime = field(default_factory=utcnow)
    #: Set by the webhook worker once the event has become deliveries.
    dispatched_at: datetime | None = None
    #: Sequenced families only: the resource's number for this event (also in `data`).
    sequence: int | None = None

    def __post_init__(self) -> None:
        # A provider serving many shops picks the shop's token by it: every shop event says
        # which shop in `data`.
        if self.shop_id is not None:
            rest = {k: v for k, v in self.data.items() if k != "shop_id"}
            self.data = {"shop_id": self.shop_id, **rest}
