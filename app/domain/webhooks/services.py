"""Developer use cases: an app's webhook endpoints, their secrets, the delivery log and
redelivery. Sending is the worker's job (`app.infra.webhooks`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from app.domain.audit.model import Actor, AuditEntry
from app.domain.authz.apps import own_app
from app.domain.clock import utcnow
from app.domain.errors import ValidationFailed
from app.domain.events.catalog import PingData
from app.domain.events.model import Event
from app.domain.pagination import Page, PageRequest
from app.domain.ports import Cipher
from app.domain.webhooks.errors import DeliveryNotFound, EndpointNotFound
from app.domain.webhooks.model import (
    Attempt,
    Delivery,
    DeliveryStatus,
    WebhookEndpoint,
    new_secret,
    valid_topic,
)
from app.domain.webhooks.ports import WebhooksUnitOfWork

MAX_ENDPOINTS_PER_APP = 10


class UrlGuard(Protocol):
    """Refuses URLs that resolve to private, loopback or link-local addresses (unless the
    deployment allows them); returns why, or None when the URL may be called."""

    async def refusal(self, url: str) -> str | None: ...


def _audit(actor: Actor, action: str, e: WebhookEndpoint, **after: Any) -> AuditEntry:
    return AuditEntry.record(
        actor,
        action,
        target_type="webhook_endpoint",
        target_id=e.id,
        shop_id=None,
        after={"app_id": e.app_id, "url": e.url, "topics": e.topics, **after},
    )


def _topics(topics: list[str]) -> list[str]:
    bad = [t for t in topics if not valid_topic(t)]
    if bad:
        raise ValidationFailed(
            f"Unknown topic(s): {', '.join(bad)}.",
            errors=[
                {"loc": ["body", "topics", i], "msg": f"Unknown topic {t!r}.", "type": "topic"}
                for i, t in enumerate(topics)
                if t in bad
            ],
        )
    return sorted(set(topics))


async def _url(guard: UrlGuard, url: str) -> str:
    refusal = await guard.refusal(url)
    if refusal:
        raise ValidationFailed.field("body.url", refusal, type_="url_refused")
    return url


async def own_endpoint(
    uow: WebhooksUnitOfWork, actor: Actor, app_id: str, endpoint_id: str
) -> WebhookEndpoint:
    await own_app(uow, actor, app_id)
    endpoint = await uow.webhooks.get_endpoint(app_id, endpoint_id)
    if endpoint is None:
        raise EndpointNotFound(f"No webhook endpoint {endpoint_id} in app {app_id}.")
    return endpoint


async def list_endpoints(
    uow: WebhooksUnitOfWork, actor: Actor, app_id: str, page: PageRequest
) -> Page[WebhookEndpoint]:
    await own_app(uow, actor, app_id)
    return await uow.webhooks.list_endpoints(app_id, page)


async def create_endpoint(
    uow: WebhooksUnitOfWork,
    cipher: Cipher,
    guard: UrlGuard,
    actor: Actor,
    app_id: str,
    *,
    url: str,
    topics: list[str],
    description: str,
) -> tuple[WebhookEndpoint, str]:
    await own_app(uow, actor, app_id)
    chosen = _topics(topics)
    await _url(guard, url)
    if await uow.webhooks.count_endpoints(app_id) >= MAX_ENDPOINTS_PER_APP:
        raise ValidationFailed.field(
            "body", f"An app has at most {MAX_ENDPOINTS_PER_APP} webhook endpoints."
        )
    secret = new_secret()
    endpoint = WebhookEndpoint(
        app_id=app_id,
        url=url,
        topics=chosen,
        description=description,
        secret_enc=cipher.encrypt(secret),
    )
    uow.webhooks.add_endpoint(endpoint)
    uow.audit.add(_audit(actor, "webhook_endpoint.created", endpoint))
    await uow.flush()
    return endpoint, secret


async def update_endpoint(
    uow: WebhooksUnitOfWork,
    guard: UrlGuard,
    actor: Actor,
    app_id: str,
    endpoint_id: str,
    changes: dict[str, Any],
) -> WebhookEndpoint:
    endpoint = await own_endpoint(uow, actor, app_id, endpoint_id)
    if "topics" in changes:
        endpoint.topics = _topics(changes["topics"])
    if "url" in changes:
        endpoint.url = await _url(guard, changes["url"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes:
        if changes["enabled"]:
            endpoint.enable()
        else:
            endpoint.disable("Disabled by the developer.")
    endpoint.updated_at = utcnow()
    uow.audit.add(_audit(actor, "webhook_endpoint.updated", endpoint, changed=sorted(changes)))
    await uow.flush()
    return endpoint


async def delete_endpoint(
    uow: WebhooksUnitOfWork, actor: Actor, app_id: str, endpoint_id: str
) -> None:
    endpoint = await own_endpoint(uow, actor, app_id, endpoint_id)
    uow.audit.add(_audit(actor, "webhook_endpoint.deleted", endpoint))
    await uow.webhooks.delete_endpoint(endpoint)
    await uow.flush()


async def rotate_secret(
    uow: WebhooksUnitOfWork,
    cipher: Cipher,
    actor: Actor,
    app_id: str,
    endpoint_id: str,
    overlap: timedelta,
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing too (two signatures) for `overlap`."""
    endpoint = await own_endpoint(uow, actor, app_id, endpoint_id)
    secret = new_secret()
    endpoint.rotate(cipher.encrypt(secret), overlap)
    uow.audit.add(_audit(actor, "webhook_endpoint.secret_rotated", endpoint))
    await uow.flush()
    return endpoint, secret


async def send_test(
    uow: WebhooksUnitOfWork, actor: Actor, app_id: str, endpoint_id: str
) -> Delivery:
    """A `webhook.ping` event for this endpoint only, sent by the worker like any other."""
    endpoint = await own_endpoint(uow, actor, app_id, endpoint_id)
    event = Event(
        "webhook.ping",
        PingData(endpoint_id=endpoint.id, app_id=app_id),
        app_id=app_id,
        resource_id=endpoint.id,
        dispatched_at=utcnow(),  # fanned out here, to this endpoint alone
    )
    await uow.outbox.add(event)
    delivery = Delivery(
        event_id=event.id,
        endpoint_id=endpoint.id,
        app_id=app_id,
        event_type=event.type,
        resource_id=endpoint.id,
    )
    uow.webhooks.add_delivery(delivery)
    await uow.flush()
    return delivery


async def list_deliveries(
    uow: WebhooksUnitOfWork,
    actor: Actor,
    app_id: str,
    endpoint_id: str,
    page: PageRequest,
    status: DeliveryStatus | None,
) -> Page[Delivery]:
    await own_endpoint(uow, actor, app_id, endpoint_id)
    return await uow.webhooks.list_deliveries(endpoint_id, page, status=status)


async def list_attempts(
    uow: WebhooksUnitOfWork,
    actor: Actor,
    app_id: str,
    endpoint_id: str,
    page: PageRequest,
    failed_only: bool,
) -> Page[Attempt]:
    await own_endpoint(uow, actor, app_id, endpoint_id)
    return await uow.webhooks.list_attempts(endpoint_id, page, failed_only=failed_only)


async def redeliver(
    uow: WebhooksUnitOfWork, actor: Actor, app_id: str, endpoint_id: str, delivery_id: str
) -> Delivery:
    """Send one delivery again now, whatever its state (same `webhook-id`)."""
    await own_endpoint(uow, actor, app_id, endpoint_id)
    delivery = await uow.webhooks.get_delivery(endpoint_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(f"No delivery {delivery_id} for endpoint {endpoint_id}.")
    _requeue(delivery)
    await uow.flush()
    return delivery


async def redeliver_failed(
    uow: WebhooksUnitOfWork, actor: Actor, app_id: str, endpoint_id: str, since: datetime
) -> int:
    """Every failed delivery of the endpoint created at or after `since`; returns how many."""
    endpoint = await own_endpoint(uow, actor, app_id, endpoint_id)
    count = await uow.webhooks.requeue_failed(endpoint.id, since)
    uow.audit.add(
        _audit(
            actor, "webhook_endpoint.redelivered", endpoint, since=since.isoformat(), count=count
        )
    )
    await uow.flush()
    return count


def _requeue(delivery: Delivery) -> None:
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.lease_until = None
    delivery.updated_at = utcnow()
