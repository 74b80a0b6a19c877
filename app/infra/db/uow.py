"""The SQLAlchemy unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import cached_property
from types import TracebackType

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.domain.errors import Conflict, IntegrityConflict
from app.domain.funds.ledger import SettlementTerms
from app.domain.logistics.waybills import TrackingTerms
from app.domain.orders.insurance import InsuranceTerms
from app.domain.ports import Cipher
from app.infra.db.driver import DriverReader, PoolCheckout, ReadPool
from app.infra.db.ledger import SqlLedger
from app.infra.db.outbox import SqlOutboxRepository
from app.infra.db.reads.authz import SqlTokenReads
from app.infra.db.reads.catalog import SqlProductReads
from app.infra.db.reads.orders import SqlOrderReads
from app.infra.db.repositories.accounts import SqlAccountRepository
from app.infra.db.repositories.aftersales import (
    SqlAfterSaleRepository,
    SqlAfterSaleSettingsRepository,
)
from app.infra.db.repositories.audit import SqlAuditRepository
from app.infra.db.repositories.authz import (
    SqlAppRepository,
    SqlGrantRepository,
    SqlOAuthRepository,
)
from app.infra.db.repositories.bulk import SqlBulkRepository
from app.infra.db.repositories.buyers import SqlAddressRepository, SqlBuyerTokenRepository
from app.infra.db.repositories.catalog import SqlProductRepository, SqlQualificationRepository
from app.infra.db.repositories.freight import SqlFreightTemplateRepository
from app.infra.db.repositories.insurance import SqlInsuranceRepository
from app.infra.db.repositories.logistics import (
    SqlLogisticsAccountRepository,
    SqlSenderAddressRepository,
    SqlWaybillRepository,
)
from app.infra.db.repositories.orders import SqlCartRepository, SqlOrderRepository
from app.infra.db.repositories.payments import SqlPaymentRepository
from app.infra.db.repositories.pickup import (
    SqlPickupPointRepository,
    SqlPickupThrottleRepository,
)
from app.infra.db.repositories.refunds import SqlRefundRepository
from app.infra.db.repositories.sandbox import SandboxGateway
from app.infra.db.repositories.sandbox_carrier import CarrierAdapters
from app.infra.db.repositories.shops import SqlMemberRepository, SqlShopRepository
from app.infra.db.repositories.stock import SqlStockRepository
from app.infra.db.repositories.webhooks import SqlWebhookRepository
from app.infra.db.timers import SqlTimers
from app.infra.logistics.sandbox_carrier import SandboxCarrierFaults


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"
    title = "The resource was changed by another request"


class SqlUnitOfWork:
    """The session and the repositories are made on first use: a request that only reads
    through the driver (`product_reads`, `token_reads`) never opens a session."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        read_pool: ReadPool | None = None,
        *,
        sandbox_notify_after: timedelta = timedelta(seconds=2),
        settlement: SettlementTerms = SettlementTerms(),
        insurance: InsuranceTerms = InsuranceTerms(),
        carrier_faults: SandboxCarrierFaults | None = None,
        tracking: TrackingTerms = TrackingTerms(),
        cipher: Cipher | None = None,
    ) -> None:
        self._factory = session_factory
        self._carrier_faults = carrier_faults or SandboxCarrierFaults()
        self._sandbox_notify_after = sandbox_notify_after
        self.settlement = settlement
        self.insurance_terms = insurance
        self.tracking = tracking
        self._cipher = cipher
        self._committed = False
        self._savepoints = 0
        #: Set by a write that must stay in the transaction (an Idempotency-Key's claim):
        #: `release` keeps the transaction then.
        self.holds_writes = False
        engine = session_factory.kw.get("bind")
        #: The connection the session was opened on, when the driver had begun the
        #: transaction on it first (`session`): closed with the unit of work.
        self._bound: AsyncConnection | None = None
        self._reader = DriverReader(
            read_pool,
            lambda: self.__dict__.get("session"),
            lambda: self.session,
            checkout=(
                PoolCheckout(engine.sync_engine.pool)
                if read_pool is not None and engine is not None
                else None
            ),
        )

    async def __aenter__(self) -> SqlUnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session: AsyncSession | None = self.__dict__.get("session")
        if session is None:
            self._reader.discard()
            await self._reader.end_held(commit=False)  # committed, there is none left
            return
        try:
            if not self._committed:
                self._reader.discard()
                await session.rollback()
        finally:
            try:
                await session.close()
            finally:
                if self._bound is not None:
                    await self._bound.close()

    @cached_property
    def session(self) -> AsyncSession:
        """The ORM's session. When the driver has begun the transaction on a connection of
        its own (`DriverReader.held`), the session is opened on that connection, in that
        transaction, which it then commits or rolls back as its own."""
        held = self._reader.hand_over()
        if held is None:
            return self._factory()
        engine: AsyncEngine = self._factory.kw["bind"]
        sync = Connection(engine.sync_engine, connection=held)
        sync.begin()  # the transaction the driver began (BEGIN was sent then)
        self._bound = AsyncConnection(engine, sync_connection=sync)
        session = self._factory(bind=self._bound, join_transaction_mode="control_fully")
        session.sync_session.connection()  # joins it now (no I/O: the connection is there)
        self._reader.joined(session)
        return session

    @property
    def committed(self) -> bool:
        """Whether `commit` has succeeded."""
        return self._committed

    @property
    def driver(self) -> DriverReader | None:
        """The driver's path into this unit of work (PostgreSQL), else None."""
        return self._reader if self._reader.direct else None

    @cached_property
    def accounts(self) -> SqlAccountRepository:
        return SqlAccountRepository(self.session)

    @cached_property
    def shops(self) -> SqlShopRepository:
        return SqlShopRepository(self.session)

    @cached_property
    def members(self) -> SqlMemberRepository:
        return SqlMemberRepository(self.session)

    @cached_property
    def audit(self) -> SqlAuditRepository:
        return SqlAuditRepository(self.session)

    @cached_property
    def apps(self) -> SqlAppRepository:
        return SqlAppRepository(self.session)

    @cached_property
    def grants(self) -> SqlGrantRepository:
        return SqlGrantRepository(self.session)

    @cached_property
    def oauth(self) -> SqlOAuthRepository:
        return SqlOAuthRepository(self.session)

    @cached_property
    def buyer_tokens(self) -> SqlBuyerTokenRepository:
        return SqlBuyerTokenRepository(lambda: self.session, self._reader)

    @cached_property
    def addresses(self) -> SqlAddressRepository:
        return SqlAddressRepository(self.session)

    @cached_property
    def token_reads(self) -> SqlTokenReads:
        return SqlTokenReads(lambda: self.session, self._reader)

    @cached_property
    def outbox(self) -> SqlOutboxRepository:
        return SqlOutboxRepository(lambda: self.session, self._reader)

    @cached_property
    def qualifications(self) -> SqlQualificationRepository:
        return SqlQualificationRepository(self.session)

    @cached_property
    def products(self) -> SqlProductRepository:
        return SqlProductRepository(self.session)

    @cached_property
    def stock(self) -> SqlStockRepository:
        return SqlStockRepository(lambda: self.session, self._reader)

    @cached_property
    def product_reads(self) -> SqlProductReads:
        return SqlProductReads(lambda: self.session, self._reader)

    @cached_property
    def webhooks(self) -> SqlWebhookRepository:
        return SqlWebhookRepository(self.session)

    @cached_property
    def bulk(self) -> SqlBulkRepository:
        return SqlBulkRepository(self.session)

    @cached_property
    def freight_templates(self) -> SqlFreightTemplateRepository:
        return SqlFreightTemplateRepository(self.session)

    @cached_property
    def orders(self) -> SqlOrderRepository:
        return SqlOrderRepository(lambda: self.session, self._reader)

    @cached_property
    def order_reads(self) -> SqlOrderReads:
        return SqlOrderReads(lambda: self.session, self._reader, lambda: self.orders)

    @cached_property
    def aftersales(self) -> SqlAfterSaleRepository:
        return SqlAfterSaleRepository(self.session)

    @cached_property
    def ledger(self) -> SqlLedger:
        return SqlLedger(self.session)

    @cached_property
    def aftersale_settings(self) -> SqlAfterSaleSettingsRepository:
        return SqlAfterSaleSettingsRepository(self.session)

    @cached_property
    def refunds(self) -> SqlRefundRepository:
        return SqlRefundRepository(self.session)

    @cached_property
    def carts(self) -> SqlCartRepository:
        return SqlCartRepository(self.session)

    @cached_property
    def payments(self) -> SqlPaymentRepository:
        return SqlPaymentRepository(self.session)

    @cached_property
    def gateway(self) -> SandboxGateway:
        return SandboxGateway(self.session, self.timers, self._sandbox_notify_after)

    @cached_property
    def insurance(self) -> SqlInsuranceRepository:
        return SqlInsuranceRepository(self.session)

    @cached_property
    def carriers(self) -> CarrierAdapters:
        return CarrierAdapters(self.session, self._carrier_faults)

    @cached_property
    def logistics_accounts(self) -> SqlLogisticsAccountRepository:
        return SqlLogisticsAccountRepository(self.session)

    @cached_property
    def sender_addresses(self) -> SqlSenderAddressRepository:
        return SqlSenderAddressRepository(self.session)

    @property
    def cipher(self) -> Cipher:
        if self._cipher is None:
            raise RuntimeError("this unit of work was made without the key ring's cipher")
        return self._cipher

    @cached_property
    def waybills(self) -> SqlWaybillRepository:
        return SqlWaybillRepository(self.session)

    @cached_property
    def pickup_points(self) -> SqlPickupPointRepository:
        return SqlPickupPointRepository(self.session)

    @cached_property
    def pickup_throttles(self) -> SqlPickupThrottleRepository:
        return SqlPickupThrottleRepository(self.session)

    @cached_property
    def timers(self) -> SqlTimers:
        return SqlTimers(lambda: self.session, self._reader)

    async def flush(self) -> None:
        """Send every change so far: the session's, and the driver's deferred writes."""
        try:
            if "session" in self.__dict__:
                await self.session.flush()
            await self._reader.send_pending()
        except StaleDataError as e:
            await self._abort()
            raise ConcurrentUpdate() from e
        except IntegrityError as e:
            # PostgreSQL has aborted the transaction (or the savepoint); nothing more can run
            # in it until it is rolled back.
            await self._abort()
            raise IntegrityConflict() from e

    async def commit(self) -> None:
        """Called by the edge only (`app/api/deps.py`), the worker and the CLI; a unit of work
        that never opened a session has nothing to commit."""
        if "session" not in self.__dict__ and self._reader.held is not None:
            try:  # the driver's transaction alone
                await self._reader.send_pending()
                # What the deferred writes' callbacks did may have needed the session, opened
                # on the held connection: then the session commits it, below.
                if "session" not in self.__dict__:
                    await self._reader.end_held(commit=True)
            except IntegrityError as e:  # a deferred write's, or one checked at COMMIT
                await self._reader.end_held(commit=False)  # if COMMIT was not reached
                raise IntegrityConflict() from e
        if "session" not in self.__dict__:  # committed above, or nothing was begun
            self._committed = True
            return
        try:
            await self._reader.send_pending()
            await self.session.commit()
        except StaleDataError as e:
            await self.session.rollback()
            raise ConcurrentUpdate() from e
        except IntegrityError as e:
            await self.session.rollback()
            raise IntegrityConflict() from e
        self._committed = True

    async def rollback(self) -> None:
        """Undo the transaction so far: the session's, or the driver's alone."""
        self.holds_writes = False
        self._reader.discard()
        if "session" in self.__dict__:
            await self.session.rollback()
        else:
            await self._reader.end_held(commit=False)

    async def release(self) -> None:
        """End the transaction so far (reads only: nothing is written yet) and give its
        connection back to the pool; the next statement takes one again. For a request
        that waits on its client (an upload) after authenticating."""
        session: AsyncSession | None = self.__dict__.get("session")
        if (
            session is not None
            and session.in_transaction()
            and not self.holds_writes
            and not self._reader.wrote(session)
        ):
            await session.rollback()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """`SAVEPOINT` ... `RELEASE`, or `ROLLBACK TO SAVEPOINT` when the block raises.

        Rolling back a savepoint drops the rows written inside it and expunges the objects
        added there, and expires the ones changed there, so the next read loads them again.
        SQLite needs the driver's own transaction handling off for this, as `engine.py` does.
        """
        await self._reader.send_pending()  # what came before is not the block's to undo
        self._savepoints += 1
        try:
            async with self.session.begin_nested():
                try:
                    yield
                except BaseException:
                    self._reader.discard()  # deferred in the block: undone with it
                    raise
                await self.flush()  # a refused write is this block's error, not RELEASE's
        finally:
            self._savepoints -= 1

    async def _abort(self) -> None:
        """After a failed flush: inside a savepoint, `savepoint()` rolls back just that one
        when the error leaves its block; otherwise the whole transaction goes."""
        if not self._savepoints:
            await self.rollback()
