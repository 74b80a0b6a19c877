"""The audit log's port."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.domain.audit.model import AuditEntry
from app.domain.pagination import Page, PageRequest


class AuditRepository(Protocol):
    def add(self, entry: AuditEntry) -> None: ...
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
    ) -> Page[AuditEntry]: ...
