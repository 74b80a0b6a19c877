"""Repository of webhook endpoints, deliveries and attempts (the developer's view)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import utcnow
from app.domain.pagination import Page, PageRequest
from app.domain.webhooks.model import Attempt, Delivery, DeliveryStatus, WebhookEndpoint
from app.infra.db import tables
from app.infra.db.paging import fetch_page
from app.infra.db.results import rowcount

_e = tables.webhook_endpoints
_d = tables.webhook_deliveries
_a = tables.webhook_attempts


class SqlWebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.s.add(endpoint)

    async def get_endpoint(self, app_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        res = await self.s.execute(
            sa.select(WebhookEndpoint).where(_e.c.app_id == app_id, _e.c.id == endpoint_id)
        )
        return res.scalar_one_or_none()

    async def list_endpoints(self, app_id: str, page: PageRequest) -> Page[WebhookEndpoint]:
        stmt = sa.select(WebhookEndpoint).where(_e.c.app_id == app_id)
        return await fetch_page(self.s, stmt, page, [_e.c.id])

    async def count_endpoints(self, app_id: str) -> int:
        res = await self.s.execute(
            sa.select(sa.func.count()).select_from(_e).where(_e.c.app_id == app_id)
        )
        return int(res.scalar_one())

    async def delete_endpoint(self, endpoint: WebhookEndpoint) -> None:
        # Attempts and deliveries go with it (the foreign keys cascade on PostgreSQL; SQLite
        # enforces them only when asked, so delete explicitly).
        await self.s.execute(sa.delete(_a).where(_a.c.endpoint_id == endpoint.id))
        await self.s.execute(sa.delete(_d).where(_d.c.endpoint_id == endpoint.id))
        await self.s.delete(endpoint)

    def add_delivery(self, delivery: Delivery) -> None:
        self.s.add(delivery)

    async def get_delivery(self, endpoint_id: str, delivery_id: str) -> Delivery | None:
        res = await self.s.execute(
            sa.select(Delivery).where(_d.c.endpoint_id == endpoint_id, _d.c.id == delivery_id)
        )
        return res.scalar_one_or_none()

    async def list_deliveries(
        self, endpoint_id: str, page: PageRequest, *, status: DeliveryStatus | None
    ) -> Page[Delivery]:
        stmt = sa.select(Delivery).where(_d.c.endpoint_id == endpoint_id)
        if status is not None:
            stmt = stmt.where(_d.c.status == status)
        return await fetch_page(self.s, stmt, page, [_d.c.id], descending=True)

    async def list_attempts(
        self, endpoint_id: str, page: PageRequest, *, failed_only: bool
    ) -> Page[Attempt]:
        stmt = sa.select(Attempt).where(_a.c.endpoint_id == endpoint_id)
        if failed_only:
            stmt = stmt.where(_a.c.succeeded.is_(False))
        return await fetch_page(self.s, stmt, page, [_a.c.id], descending=True)

    async def requeue_failed(self, endpoint_id: str, since: datetime) -> int:
        now = utcnow()
        res = await self.s.execute(
            sa.update(_d)
            .where(
                _d.c.endpoint_id == endpoint_id,
                _d.c.status == DeliveryStatus.FAILED,
                _d.c.created_at >= since,
            )
            .values(
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return rowcount(res)
