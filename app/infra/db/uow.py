"""The SQLAlchemy unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

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
from app.infra.db.catalog_reads import SqlProductReads
from app.infra.db.catalog_repositories import SqlProductRepository, SqlQualificationRepository
from app.infra.db.driver import DriverReader
from app.infra.db.repositories import (
    SqlAccountRepository,
    SqlAuditRepository,
    SqlMemberRepository,
    SqlShopRepository,
)


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"
    title = "The resource was changed by another request"


class SqlUnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory
        self._committed = False
        bind = session_factory.kw.get("bind")
        self._postgres = bind is not None and bind.dialect.name == "postgresql"

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = self._factory()
        reader = DriverReader(self.session, postgres=self._postgres)
        self.accounts = SqlAccountRepository(self.session)
        self.shops = SqlShopRepository(self.session)
        self.members = SqlMemberRepository(self.session)
        self.audit = SqlAuditRepository(self.session)
        self.apps = SqlAppRepository(self.session)
        self.grants = SqlGrantRepository(self.session)
        self.oauth = SqlOAuthRepository(self.session, reader)
        self.outbox = SqlOutboxRepository(self.session)
        self.qualifications = SqlQualificationRepository(self.session)
        self.products = SqlProductRepository(self.session)
        self.product_reads = SqlProductReads(self.session, reader)
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
            await self.session.rollback()
            raise ConcurrentUpdate() from e
        except IntegrityError as e:
            # PostgreSQL has aborted the transaction; nothing more can run in it.
            await self.session.rollback()
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
