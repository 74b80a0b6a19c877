"""Webhook endpoints of provider apps, the deliveries of events to them, and their attempts.

An outbox event becomes one delivery per matching endpoint (fan-out). A delivery is sent
until the receiver answers 2xx, on a retry schedule; its id is the `webhook-id` header, the
same on every attempt, so receivers can drop duplicates.
"""

from __future__ import annotations

import base64
import fnmatch
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.authz.scopes import Scope
from app.domain.clock import utcnow
from app.domain.events.catalog import CATALOG
from app.domain.ids import new_id

#: Topic families and the read scope a shop's grant must hold for the app to receive them.
#: `app.*` events concern the app itself (its authorizations, its endpoints): no scope.
FAMILY_SCOPES: dict[str, Scope | None] = {
    "app": None,
    "product": Scope.PRODUCTS_READ,
    "order": Scope.ORDERS_READ,
    "payment": Scope.ORDERS_READ,
    "aftersale": Scope.AFTERSALES_READ,
    "insurance": Scope.AFTERSALES_READ,
    "shipment": Scope.ORDERS_READ,
    "logistics": Scope.LOGISTICS_READ,
    "shop": Scope.SHOP_READ,
    "webhook": None,
}


class DeliveryStatus(StrEnum):
    """Where a delivery is: still being tried, or done one way or the other."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def family(event_type: str) -> str:
    return event_type.split(".", 1)[0]


def valid_topic(topic: str) -> bool:
    """`product.*` (a family), `product.listed` (one type) or `*` (everything)."""
    if topic == "*":
        return True
    fam, _, rest = topic.partition(".")
    if fam not in FAMILY_SCOPES or not rest:
        return False
    return rest == "*" or topic in CATALOG


def matches(topics: list[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, t) for t in topics)


def new_secret() -> str:
    """Standard Webhooks format: `whsec_` and the base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(eq=False)
class WebhookEndpoint:
    app_id: str
    url: str
    topics: list[str]
    secret_enc: str
    description: str = ""
    enabled: bool = True
    #: The secret before the last rotation, still signing until `previous_secret_until`.
    previous_secret_enc: str | None = None
    previous_secret_until: datetime | None = None
    disabled_reason: str | None = None
    #: Since when every attempt has failed (None while it is healthy).
    failing_since: datetime | None = None
    id: str = field(default_factory=lambda: new_id("we"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    def rotate(self, secret_enc: str, overlap: timedelta) -> None:
        self.previous_secret_enc = self.secret_enc
        self.previous_secret_until = utcnow() + overlap
        self.secret_enc = secret_enc
        self.updated_at = utcnow()

    def enable(self) -> None:
        self.enabled = True
        self.disabled_reason = None
        self.failing_since = None
        self.updated_at = utcnow()

    def disable(self, reason: str | None = None) -> None:
        self.enabled = False
        self.disabled_reason = reason
        self.updated_at = utcnow()


@dataclass(eq=False)
class Delivery:
    """One event for one endpoint. `id` is the `webhook-id` (stable across retries)."""

    event_id: str
    endpoint_id: str
    app_id: str
    event_type: str
    shop_id: str | None = None
    resource_id: str | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime = field(default_factory=utcnow)
    #: A worker holds the delivery until then; a worker that dies lets it go when it passes.
    lease_until: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("msg"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class Attempt:
    delivery_id: str
    endpoint_id: str
    event_type: str
    attempt: int
    succeeded: bool
    status_code: int | None
    latency_ms: int
    error: str | None = None
    response_head: str | None = None
    id: str = field(default_factory=lambda: new_id("wha"))
    created_at: datetime = field(default_factory=utcnow)


def next_delay(schedule: tuple[float, ...], attempts: int, jitter: float = 0.1) -> float | None:
    """Seconds until the next try after `attempts` failed ones, or None when none is left."""
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return base * (1 + random.uniform(-jitter, jitter)) if base else 0.0
