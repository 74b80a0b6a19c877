"""Repositories of apps, grants, OAuth codes and tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.authz.model import (
    App,
    AppStatus,
    AuthorizationCode,
    Grant,
    RefreshToken,
    TokenFamily,
)
from app.domain.clock import utcnow
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.locks import locked
from app.infra.db.paging import fetch_page
from app.infra.db.results import rowcount
from app.infra.db.search import contains


class SqlAppRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, app: App) -> None:
        self.s.add(app)

    async def get(self, app_id: str) -> App | None:
        return await self.s.get(App, app_id)

    async def get_by_client_id(self, client_id: str) -> App | None:
        res = await self.s.execute(sa.select(App).where(tables.apps.c.client_id == client_id))
        return res.scalar_one_or_none()

    async def list_for_developer(self, developer_id: str, page: PageRequest) -> Page[App]:
        stmt = sa.select(App).where(tables.apps.c.developer_id == developer_id)
        return await fetch_page(self.s, stmt, page, [tables.apps.c.id])

    async def list_all(self, page: PageRequest, *, status: AppStatus | None) -> Page[App]:
        stmt = sa.select(App)
        if status is not None:
            stmt = stmt.where(tables.apps.c.status == status)
        return await fetch_page(self.s, stmt, page, [tables.apps.c.id])

    async def list_published(
        self, page: PageRequest, *, service_type: str | None, query: str | None
    ) -> Page[App]:
        a = tables.apps
        stmt = sa.select(App).where(a.c.status == AppStatus.PUBLISHED)
        if service_type:
            as_text = sa.type_coerce(a.c.service_types, sa.String)
            stmt = stmt.where(as_text.like(f"% {service_type} %"))
        if query:
            stmt = stmt.where(contains(a.c.name, query))
        return await fetch_page(self.s, stmt, page, [tables.apps.c.id])

    async def developer_names(self, developer_ids: list[str]) -> dict[str, str]:
        if not developer_ids:
            return {}
        acc = tables.accounts
        res = await self.s.execute(
            sa.select(acc.c.id, acc.c.display_name).where(acc.c.id.in_(set(developer_ids)))
        )
        return {row.id: row.display_name for row in res}


class SqlGrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, grant: Grant) -> None:
        self.s.add(grant)

    async def get(self, grant_id: str) -> Grant | None:
        return await self.s.get(Grant, grant_id)

    async def get_active(self, app_id: str, shop_id: str, *, lock: bool = False) -> Grant | None:
        g = tables.grants
        stmt = sa.select(Grant).where(
            g.c.app_id == app_id, g.c.shop_id == shop_id, g.c.revoked_at.is_(None)
        )
        if lock:
            stmt = locked(stmt)
        return (await self.s.execute(stmt)).scalar_one_or_none()

    async def list_active_for_shop(
        self, shop_id: str, page: PageRequest
    ) -> Page[tuple[Grant, App]]:
        g = tables.grants
        stmt = (
            sa.select(Grant, App)
            .join(App, tables.apps.c.id == g.c.app_id)
            .where(g.c.shop_id == shop_id, g.c.revoked_at.is_(None))
        )
        return await fetch_page(self.s, stmt, page, [g.c.id], key=lambda r: (r[0].id,))

    async def active_for_shops(self, shop_ids: list[str]) -> list[tuple[Grant, App]]:
        if not shop_ids:
            return []
        g = tables.grants
        stmt = (
            sa.select(Grant, App)
            .join(App, tables.apps.c.id == g.c.app_id)
            .where(g.c.shop_id.in_(shop_ids), g.c.revoked_at.is_(None))
            .order_by(g.c.shop_id, g.c.id)
        )
        return [(r[0], r[1]) for r in (await self.s.execute(stmt)).all()]

    async def touch(self, grant_id: str, when: datetime) -> None:
        g = tables.grants
        await self.s.execute(
            sa.update(g)
            .where(g.c.id == grant_id, sa.or_(g.c.last_used_at.is_(None), g.c.last_used_at < when))
            .values(last_used_at=when)
            .execution_options(synchronize_session=False)
        )


class SqlOAuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add_code(self, code: AuthorizationCode) -> None:
        self.s.add(code)

    async def get_code(self, code_hash: str) -> AuthorizationCode | None:
        return await self.s.get(AuthorizationCode, code_hash)

    async def mark_code_used(self, code_hash: str, when: datetime) -> bool:
        c = tables.oauth_codes
        res = await self.s.execute(
            sa.update(c)
            .where(c.c.code_hash == code_hash, c.c.used_at.is_(None))
            .values(used_at=when)
            .execution_options(synchronize_session=False)
        )
        return rowcount(res) == 1

    def add_family(self, family: TokenFamily) -> None:
        self.s.add(family)

    async def get_family(self, family_id: str) -> TokenFamily | None:
        return await self.s.get(TokenFamily, family_id, populate_existing=True)

    async def revoke_family(self, family_id: str, reason: str) -> None:
        f = tables.token_families
        await self.s.execute(
            sa.update(f)
            .where(f.c.id == family_id, f.c.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    async def revoke_families_of_grant(self, grant_id: str, reason: str) -> None:
        f = tables.token_families
        await self.s.execute(
            sa.update(f)
            .where(f.c.grant_id == grant_id, f.c.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    def add_refresh(self, token: RefreshToken) -> None:
        self.s.add(token)

    async def get_refresh(self, token_hash: str) -> RefreshToken | None:
        res = await self.s.execute(
            sa.select(RefreshToken).where(tables.refresh_tokens.c.token_hash == token_hash)
        )
        return res.scalar_one_or_none()

    async def rotate_refresh(self, token_id: str, when: datetime) -> bool:
        r = tables.refresh_tokens
        res = await self.s.execute(
            sa.update(r)
            .where(r.c.id == token_id, r.c.rotated_at.is_(None))
            .values(rotated_at=when)
            .execution_options(synchronize_session=False)
        )
        return rowcount(res) == 1
