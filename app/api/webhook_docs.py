"""The OpenAPI `webhooks` section, generated from the event catalogue: per event type, the
envelope a subscriber receives with the type's payload model as its `data`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field, create_model

from app.domain.events.catalog import CATALOG, EventType

_TIME = "2026-11-25T08:00:00Z"

HEADERS_DOC = (
    "Every request carries the Standard Webhooks headers `webhook-id` (the delivery id, the "
    "same on every retry: drop duplicates by it), `webhook-timestamp` (Unix seconds) and "
    "`webhook-signature` (`v1,<base64 HMAC-SHA256 of {id}.{timestamp}.{body}>`; two of them, "
    "space separated, during a secret rotation). Answer 2xx within 5 s; anything else is "
    "retried (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); 410 Gone disables the endpoint. "
    "A delivery never overtakes an earlier pending one of the same resource; order events "
    "(`order.*`) also carry `data.sequence`, 1, 2, 3… per order in commit order."
)


def _envelope(spec: EventType) -> type[BaseModel]:
    event_type = spec.name
    name = "".join(p.capitalize() for p in event_type.replace("_", ".").split(".")) + "Event"
    return create_model(
        name,
        __doc__=spec.meaning,
        type=(Literal[event_type], Field(description="The event type.", examples=[event_type])),  # type: ignore[arg-type]
        timestamp=(datetime, Field(description="When it happened.", examples=[_TIME])),
        data=(spec.payload, Field(description="What happened.")),
    )


def install_webhook_docs(app: FastAPI) -> None:
    for event_type, spec in CATALOG.items():
        body = _envelope(spec)

        async def receiver(event: Any) -> None:
            """Documentation only: the platform sends, your endpoint receives."""

        # Set after definition: with postponed annotations a closure's name is not resolvable.
        receiver.__annotations__ = {"event": body, "return": None}
        app.webhooks.post(
            event_type,
            summary=event_type,
            description=f"{spec.meaning}\n\n{HEADERS_DOC}",
            operation_id=f"webhook_{event_type.replace('.', '_')}",
        )(receiver)
