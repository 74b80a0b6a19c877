"""The webhooks context's port: endpoints, with their deliveries and attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.domain.authz.ports import AuthzUnitOfWork
from app.domain.pagination import Page, PageRequest
from app.domain.webhooks.model import Attempt, Delivery, DeliveryStatus, WebhookEndpoint


class WebhookRepository(Protocol):
    """Endpoints are reached through their app; deliveries and attempts through an endpoint."""

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    async def get_endpoint(self, app_id: str, endpoint_id: str) -> WebhookEndpoint | None: ...
    async def list_endpoints(self, app_id: str, page: PageRequest) -> Page[WebhookEndpoint]: ...
    async def count_endpoints(self, app_id: str) -> int: ...
    async def delete_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    def add_delivery(self, delivery: Delivery) -> None: ...
    async def get_delivery(self, endpoint_id: str, delivery_id: str) -> Delivery | None: ...
    async def list_deliveries(
        self, endpoint_id: str, page: PageRequest, *, status: DeliveryStatus | None
    ) -> Page[Delivery]:
        """Newest first."""

    async def list_attempts(
        self, endpoint_id: str, page: PageRequest, *, failed_only: bool
    ) -> Page[Attempt]:
        """Newest first."""

    async def requeue_failed(self, endpoint_id: str, since: datetime) -> int: ...


class WebhooksUnitOfWork(AuthzUnitOfWork, Protocol):
    """Endpoints belong to apps: webhook use cases reach them through the app's owner."""

    @property
    def webhooks(self) -> WebhookRepository: ...
