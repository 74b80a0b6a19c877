"""Webhook endpoints, deliveries and attempts as the app's developer sees them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.api.schemas.base import Input, Output
from app.domain.webhooks.model import DeliveryStatus

ENDPOINT_EXAMPLE = "we_01jd8m3k2x9v7q4w5e6r7t8y9z"
DELIVERY_EXAMPLE = "msg_01jd8m3k2x9v7q4w5e6r7t8y9z"
TIME_EXAMPLE = "2026-11-25T08:00:00Z"
URL_EXAMPLE = "https://erp.example.com/minishop/webhooks"

_TOPICS = (
    "Event types or families to receive: `product.*`, `product.listed`, `app.*`, `*`. A shop's "
    "event reaches the app only while the shop's grant holds the family's read scope "
    "(`product.*` needs `products:read`, `order.*` `orders:read`); `app.*` events are the "
    "app's own."
)


class EndpointCreate(Input):
    """Where to send which events."""

    url: str = Field(
        min_length=8,
        max_length=2048,
        description="An https URL on a public address, port 443 or 80 (no redirects are followed).",
        examples=[URL_EXAMPLE],
    )
    topics: list[str] = Field(
        min_length=1, max_length=50, description=_TOPICS, examples=[["product.*", "app.*"]]
    )
    description: str = Field(
        default="", max_length=200, description="For your own reference.", examples=["ERP sync"]
    )


class EndpointUpdate(Input):
    """Fields to change; omitted fields stay. `enabled: true` re-enables a disabled endpoint."""

    url: str | None = Field(
        default=None, min_length=8, max_length=2048, description="New URL.", examples=[None]
    )
    topics: list[str] | None = Field(
        default=None, min_length=1, max_length=50, description=_TOPICS, examples=[["*"]]
    )
    description: str | None = Field(
        default=None, max_length=200, description="Description.", examples=[None]
    )
    enabled: bool | None = Field(
        default=None, description="Pause (false) or resume (true) deliveries.", examples=[True]
    )


class Endpoint(Output):
    """A webhook endpoint of an app."""

    id: str = Field(description="Its id.", examples=[ENDPOINT_EXAMPLE])
    app_id: str = Field(description="The app.", examples=["app_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    url: str = Field(description="Where deliveries go.", examples=[URL_EXAMPLE])
    topics: list[str] = Field(description="What it receives.", examples=[["product.*"]])
    description: str = Field(description="Your note.", examples=["ERP sync"])
    enabled: bool = Field(description="Deliveries are sent.", examples=[True])
    disabled_reason: str | None = Field(
        description="Why it was disabled (by you, a 410 Gone, or sustained failure).",
        examples=[None],
    )
    failing_since: datetime | None = Field(
        description="Every attempt has failed since then.", examples=[None]
    )
    previous_secret_until: datetime | None = Field(
        description="After a rotation the old secret signs too until then.", examples=[None]
    )
    created_at: datetime = Field(description="Created.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(description="Last change.", examples=[TIME_EXAMPLE])
    version: int = Field(description="Optimistic-lock version.", examples=[1])


class EndpointWithSecret(Endpoint):
    """The endpoint with its signing secret, shown on creation and rotation only."""

    secret: str = Field(
        description="Standard Webhooks secret (`whsec_` + base64): verify `webhook-signature` "
        "with it. Stored encrypted; shown only now.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class Delivery(Output):
    """One event for this endpoint. Its id is the `webhook-id` header on every attempt."""

    id: str = Field(description="The `webhook-id`.", examples=[DELIVERY_EXAMPLE])
    event_id: str = Field(description="The event.", examples=["evt_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    event_type: str = Field(description="Its type.", examples=["product.listed"])
    shop_id: str | None = Field(description="The shop it concerns.", examples=[None])
    resource_id: str | None = Field(description="The resource it concerns.", examples=[None])
    status: DeliveryStatus = Field(
        description="`pending` (will be tried), `succeeded` or `failed` (schedule exhausted).",
        examples=["succeeded"],
    )
    attempts: int = Field(description="Attempts made.", examples=[1])
    next_attempt_at: datetime = Field(
        description="Next try, while pending.", examples=[TIME_EXAMPLE]
    )
    last_status_code: int | None = Field(description="Last HTTP status.", examples=[200])
    last_error: str | None = Field(description="Last transport error.", examples=[None])
    delivered_at: datetime | None = Field(description="When a 2xx came.", examples=[None])
    created_at: datetime = Field(description="Created.", examples=[TIME_EXAMPLE])


class Attempt(Output):
    """One HTTP request to the endpoint."""

    id: str = Field(description="Its id.", examples=["wha_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    delivery_id: str = Field(description="The delivery.", examples=[DELIVERY_EXAMPLE])
    event_type: str = Field(description="Event type.", examples=["product.listed"])
    attempt: int = Field(description="1 for the first try.", examples=[1])
    succeeded: bool = Field(description="A 2xx came back.", examples=[True])
    status_code: int | None = Field(description="HTTP status, if any.", examples=[200])
    latency_ms: int = Field(description="Time to the response; 0 when none came.", examples=[12])
    error: str | None = Field(
        description="Why no response counts: the URL was refused by the platform's rules "
        "(`refused: …`), or `no response: …`, one text for every failure to connect or to "
        "get an answer in time (refused, unreachable, timed out, not a public address).",
        examples=[None],
    )
    response_head: str | None = Field(
        description="The first 1 KB of the response body.", examples=["ok"]
    )
    created_at: datetime = Field(description="When it was made.", examples=[TIME_EXAMPLE])


class RedeliverFailed(Input):
    """Send every failed delivery created at or after `since` again."""

    since: datetime = Field(description="RFC 3339 with a zone.", examples=[TIME_EXAMPLE])


class RedeliverResult(Output):
    """How many deliveries were queued again."""

    queued: int = Field(description="Deliveries queued.", examples=[3])
