"""Domain events, written to the outbox in the same transaction as the change that caused them.

The webhook worker turns outbox rows into one delivery per matching endpoint
(`app.domain.webhooks`) and sends them, signed.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from datetime import datetime
from typing import Any

from app.domain.clock import utcnow
from app.domain.events.catalog import Payload, ShopPayload, event_type
from app.domain.ids import new_id


@dataclass(eq=False)
class Event:
    """`type` is dotted (`app.authorized`) and catalogued (`app.domain.events.catalog`);
    `payload` must be that type's model. `data` is the JSON a subscriber receives."""

    type: str
    payload: InitVar[Payload]
    #: When set, the event concerns one app only (its own authorization changes).
    app_id: str | None = None
    resource_id: str | None = None
    id: str = field(default_factory=lambda: new_id("evt"))
    created_at: datetime = field(default_factory=utcnow)
    #: Set by the webhook worker once the event has become deliveries.
    dispatched_at: datetime | None = None
    #: Sequenced families only: the resource's number for this event (also in `data`), set
    #: by the outbox writer.
    sequence: int | None = None
    #: A shop event's shop, always its payload's `shop_id`.
    shop_id: str | None = field(init=False)
    data: dict[str, Any] = field(init=False)

    def __post_init__(self, payload: Payload) -> None:
        expected = event_type(self.type).payload
        if type(payload) is not expected:
            raise TypeError(
                f"{self.type} carries {expected.__name__}, not {type(payload).__name__}"
            )
        self.shop_id = payload.shop_id if isinstance(payload, ShopPayload) else None
        # What the emitting code set, so optional fields that do not apply stay absent.
        self.data = payload.model_dump(mode="json", exclude_unset=True)

    @property
    def sequenced(self) -> bool:
        return event_type(self.type).sequenced
