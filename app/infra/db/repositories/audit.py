"""Repository of the audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.audit.model import AuditEntry
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.paging import fetch_page


class SqlAuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, entry: AuditEntry) -> None:
        self.s.add(entry)

    async def list_page(
        self,
        shop_id: str,
        page: PageRequest,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[AuditEntry]:
        a = tables.audit_log
        # Newest first: ids are time-ordered, so the keyset runs downwards.
        stmt = sa.select(AuditEntry).where(a.c.shop_id == shop_id)
        if action:
            stmt = stmt.where(a.c.action == action)
        if actor_id:
            stmt = stmt.where(a.c.actor_id == actor_id)
        if target_id:
            stmt = stmt.where(a.c.target_id == target_id)
        if since:
            stmt = stmt.where(a.c.created_at >= since)
        if until:
            stmt = stmt.where(a.c.created_at < until)
        return await fetch_page(self.s, stmt, page, [a.c.id], descending=True)
