"""SQLAlchemy implementations of the domain's repository ports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.model import Account, Session
from app.domain.audit.model import AuditEntry
from app.domain.pagination import InvalidCursor, Page, PageRequest
from app.domain.shops.model import Member, Qualification, Shop, ShopStatus, SubjectType
from app.domain.shops.permissions import Role
from app.infra.db import tables
from app.infra.db.types import UTCDateTime


def _page(rows: list[Any], page: PageRequest, key: Any) -> tuple[list[Any], tuple[str, ...] | None]:
    """Cut the look-ahead row and compute the cursor of the last item returned."""
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, (key(rows[-1]) if has_more and rows else None)


async def page_by_id(
    session: AsyncSession, stmt: sa.Select[Any], id_column: Any, page: PageRequest
) -> Page[Any]:
    """The common list: entities ordered by their (time-ordered) id, keyset on it."""
    if page.after:
        stmt = stmt.where(id_column > page.after[0])
    rows = list((await session.execute(stmt.order_by(id_column).limit(page.limit + 1))).scalars())
    items, nxt = _page(rows, page, lambda r: (r.id,))
    return Page(items, nxt)


def _submitted_key(shop: Shop) -> tuple[str, str]:
    assert shop.submitted_at is not None  # every shop in review has been submitted
    return (shop.submitted_at.astimezone(UTC).isoformat(), shop.id)


def _submitted_cursor(after: tuple[str, ...]) -> tuple[datetime, str]:
    if len(after) != 2:
        raise InvalidCursor()
    try:
        submitted_at = datetime.fromisoformat(after[0])
    except ValueError as e:
        raise InvalidCursor() from e
    if submitted_at.tzinfo is None:
        raise InvalidCursor()
    return submitted_at, after[1]


class SqlAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, account: Account) -> None:
        self.s.add(account)

    async def get(self, account_id: str) -> Account | None:
        return await self.s.get(Account, account_id)

    async def get_by_username(self, username: str) -> Account | None:
        res = await self.s.execute(sa.select(Account).where(tables.accounts.c.username == username))
        return res.scalar_one_or_none()

    async def get_many(self, account_ids: list[str]) -> dict[str, Account]:
        if not account_ids:
            return {}
        res = await self.s.execute(sa.select(Account).where(tables.accounts.c.id.in_(account_ids)))
        return {a.id: a for a in res.scalars()}

    async def lock(self, account_id: str) -> None:
        # FOR UPDATE on PostgreSQL; SQLite already holds the write lock (BEGIN IMMEDIATE).
        await self.s.execute(
            sa.select(tables.accounts.c.id)
            .where(tables.accounts.c.id == account_id)
            .with_for_update()
        )

    def add_session(self, session: Session) -> None:
        self.s.add(session)

    async def get_session(self, token_hash: str) -> Session | None:
        res = await self.s.execute(
            sa.select(Session).where(tables.sessions.c.token_hash == token_hash)
        )
        return res.scalar_one_or_none()


class SqlShopRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, shop: Shop) -> None:
        self.s.add(shop)

    async def get(self, shop_id: str) -> Shop | None:
        return await self.s.get(Shop, shop_id)

    async def count_owned(self, account_id: str, subject_types: tuple[SubjectType, ...]) -> int:
        s, m = tables.shops, tables.shop_members
        stmt = (
            sa.select(sa.func.count())
            .select_from(m.join(s, s.c.id == m.c.shop_id))
            .where(
                m.c.account_id == account_id,
                m.c.role == Role.OWNER,
                s.c.subject_type.in_(subject_types),
            )
        )
        return int((await self.s.execute(stmt)).scalar_one())

    async def list_for_account(
        self, account_id: str, page: PageRequest
    ) -> Page[tuple[Shop, Member]]:
        m = tables.shop_members
        stmt = (
            sa.select(Shop, Member)
            .join(Member, tables.shops.c.id == m.c.shop_id)
            .where(m.c.account_id == account_id)
            .order_by(tables.shops.c.id)
            .limit(page.limit + 1)
        )
        if page.after:
            stmt = stmt.where(tables.shops.c.id > page.after[0])
        rows = [(r[0], r[1]) for r in (await self.s.execute(stmt)).all()]
        items, nxt = _page(rows, page, lambda r: (r[0].id,))
        return Page(items, nxt)

    async def list_by_status(
        self, status: ShopStatus, page: PageRequest, *, suspended: bool | None = None
    ) -> Page[Shop]:
        s = tables.shops
        stmt = sa.select(Shop).where(s.c.status == status)
        if suspended is not None:
            stmt = stmt.where(
                s.c.suspended_at.is_not(None) if suspended else s.c.suspended_at.is_(None)
            )
        return await page_by_id(self.s, stmt, s.c.id, page)

    async def review_queue(self, page: PageRequest) -> Page[Shop]:
        """Oldest submission first, on the (status, submitted_at, id) index."""
        s = tables.shops
        stmt = (
            sa.select(Shop)
            .where(s.c.status == ShopStatus.IN_REVIEW)
            .order_by(s.c.submitted_at, s.c.id)
            .limit(page.limit + 1)
        )
        if page.after:
            submitted_at, shop_id = _submitted_cursor(page.after)
            # A row-value comparison, so PostgreSQL seeks the index instead of filtering
            # every earlier row (SQLite supports row values too).
            stmt = stmt.where(
                sa.tuple_(s.c.submitted_at, s.c.id)
                > sa.tuple_(
                    sa.literal(submitted_at, UTCDateTime()), sa.literal(shop_id, s.c.id.type)
                )
            )
        rows = list((await self.s.execute(stmt)).scalars())
        items, nxt = _page(rows, page, _submitted_key)
        return Page(items, nxt)

    async def get_qualification(self, shop_id: str) -> Qualification | None:
        return await self.s.get(Qualification, shop_id)

    def add_qualification(self, qualification: Qualification) -> None:
        self.s.add(qualification)


class SqlMemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, member: Member) -> None:
        self.s.add(member)

    async def get(self, shop_id: str, account_id: str) -> Member | None:
        return await self.s.get(Member, (shop_id, account_id))

    async def delete(self, member: Member) -> None:
        await self.s.delete(member)

    async def list_page(self, shop_id: str, page: PageRequest) -> Page[Member]:
        m = tables.shop_members
        stmt = (
            sa.select(Member)
            .where(m.c.shop_id == shop_id)
            .order_by(m.c.account_id)
            .limit(page.limit + 1)
        )
        if page.after:
            stmt = stmt.where(m.c.account_id > page.after[0])
        rows = list((await self.s.execute(stmt)).scalars())
        items, nxt = _page(rows, page, lambda r: (r.account_id,))
        return Page(items, nxt)

    async def lock_owners(self, shop_id: str) -> list[Member]:
        m = tables.shop_members
        stmt = (
            sa.select(Member)
            .where(m.c.shop_id == shop_id, m.c.role == Role.OWNER)
            .order_by(m.c.account_id)
            .with_for_update()
        )
        return list((await self.s.execute(stmt)).scalars())


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
        if page.after:
            stmt = stmt.where(a.c.id < page.after[0])
        stmt = stmt.order_by(a.c.id.desc()).limit(page.limit + 1)
        rows = list((await self.s.execute(stmt)).scalars())
        items, nxt = _page(rows, page, lambda r: (r.id,))
        return Page(items, nxt)
