"""Repository of accounts and their login sessions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.model import Account, Session
from app.infra.db import tables


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
