"""The SQLAlchemy unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.domain.errors import Conflict, IntegrityConflict
from app.infra.db.authz_repositories import (
    SqlAppRepository,
    SqlGrantRepository,
    SqlOAuthRepository,
    SqlOutboxRepository,
)
from app.infra.db.bulk_repositories import SqlBulkRepository
from app.infra.db.catalog_repositories import SqlProductRepository, SqlQualificationRepository
from app.infra.db.repositories import (
    SqlAccountRepository,
    SqlAuditRepository,
    SqlMemberRepository,
    SqlShopRepository,
)
from app.infra.db.webhook_repositories import SqlWebhookRepository


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"
    title = "The resource was changed by another request"


class SqlUnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory
        self._committed = False
        self._savepoints = 0

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = self._factory()
        self.accounts = SqlAccountRepository(self.session)
        self.shops = SqlShopRepository(self.session)
        self.members = SqlMemberRepository(self.session)
        self.audit = SqlAuditRepository(self.session)
        self.apps = SqlAppRepository(self.session)
        self.grants = SqlGrantRepository(self.session)
        self.oauth = SqlOAuthRepository(self.session)
        self.outbox = SqlOutboxRepository(self.session)
        self.qualifications = SqlQualificationRepository(self.session)
        self.products = SqlProductRepository(self.session)
        self.webhooks = SqlWebhookRepository(self.session)
        self.bulk = SqlBulkRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except StaleDataError as e:
            await self._abort()
            raise ConcurrentUpdate() from e
        except IntegrityError as e:
            # PostgreSQL has aborted the transaction (or the savepoint); nothing more can run
            # in it until it is rolled back.
            await self._abort()
            raise IntegrityConflict() from e

    async def commit(self) -> None:
        try:
            await self.session.commit()
        except StaleDataError as e:
            await self.session.rollback()
            raise ConcurrentUpdate() from e
        except IntegrityError as e:
            await self.session.rollback()
            raise IntegrityConflict() from e
        self._committed = True

    async def rollback(self) -> None:
        await self.session.rollback()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """`SAVEPOINT` ... `RELEASE`, or `ROLLBACK TO SAVEPOINT` when the block raises.

        Rolling back a savepoint drops the rows written inside it and expunges the objects
        added there, and expires the ones changed there, so the next read loads them again.
        SQLite needs the driver's own transaction handling off for this, as `engine.py` does.
        """
        self._savepoints += 1
        try:
            async with self.session.begin_nested():
                yield
                await self.flush()  # a refused write is this block's error, not RELEASE's
        finally:
            self._savepoints -= 1

    async def _abort(self) -> None:
        """After a failed flush: inside a savepoint, `savepoint()` rolls back just that one
        when the error leaves its block; otherwise the whole transaction goes."""
        if not self._savepoints:
            await self.session.rollback()
