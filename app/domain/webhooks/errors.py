"""The webhooks context's errors."""

from __future__ import annotations

from app.domain.errors import NotFound


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "Webhook endpoint not found"


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    title = "Webhook delivery not found"
