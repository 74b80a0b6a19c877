"""The composition root's objects, built once per process and shared by every request.

The API reaches the infrastructure only through this module (an import-linter contract):
the objects below, and the few infrastructure names the edge needs, in `__all__`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.domain.authz.oauth import OAuthConfig
from app.domain.buyers.services import BuyerTokenConfig
from app.domain.logistics.waybills import EWaybill, TrackingTerms
from app.infra import metrics
from app.infra.context import request_id_var
from app.infra.db.driver import Exists, ReadPool
from app.infra.db.engine import make_engine, make_session_factory
from app.infra.db.errors import DatabaseError, is_bad_data
from app.infra.db.repositories.buyers import live_buyer_family
from app.infra.db.uow import ConcurrentUpdate, SqlUnitOfWork
from app.infra.idempotency import IdempotencyStore
from app.infra.logistics.sandbox_carrier import SandboxCarrierFaults
from app.infra.payments.sandbox import SandboxSigner
from app.infra.ratelimit import RateLimiter, make_rate_limiter
from app.infra.security.jwt import JwtCodec
from app.infra.security.keys import FernetCipher, KeyMaterial, load_keys
from app.infra.security.passwords import Argon2PasswordHasher
from app.infra.throttle import LimitsThrottle
from app.infra.webhooks.urls import AddressGuard
from app.settings import Settings

__all__ = [
    "ConcurrentUpdate",
    "Container",
    "DatabaseError",
    "Exists",
    "IdempotencyStore",
    "SandboxSigner",
    "SqlUnitOfWork",
    "build_container",
    "is_bad_data",
    "live_buyer_family",
    "metrics",
    "request_id_var",
]


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    keys: KeyMaterial
    hasher: Argon2PasswordHasher
    cipher: FernetCipher
    throttle: LimitsThrottle
    idempotency: IdempotencyStore
    oauth: OAuthConfig
    tokens: JwtCodec
    buyer_auth: BuyerTokenConfig
    #: Buyers' access tokens: the same keys as `tokens`, the storefront's own audience, so
    #: neither kind of token passes for the other.
    buyer_tokens: JwtCodec
    rate_limiter: RateLimiter
    webhook_guard: AddressGuard
    #: Checks the sandbox payment gateway's notifications.
    sandbox_signer: SandboxSigner
    #: PostgreSQL only: the pool of the reads that run outside a transaction.
    read_pool: ReadPool | None = None
    #: The sandbox carrier's failures on demand, for this process (tests set them).
    sandbox_carrier_faults: SandboxCarrierFaults | None = None

    def __post_init__(self) -> None:
        # The platform's terms, built once (a unit of work is made per request).
        self._notify_after = timedelta(seconds=self.settings.sandbox_notify_delay_seconds)
        self._settlement = self.settings.settlement_terms
        self._insurance = self.settings.insurance_terms
        self._tracking = TrackingTerms(
            poll_every=timedelta(seconds=self.settings.tracking_poll_seconds),
            auto_confirm_after=timedelta(days=self.settings.order_auto_confirm_days),
        )
        if self.sandbox_carrier_faults is None:
            self.sandbox_carrier_faults = SandboxCarrierFaults(
                fail_creations=self.settings.sandbox_carrier_fail_creations,
                track_timeouts=self.settings.sandbox_carrier_track_timeouts,
            )

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.session_factory,
            self.read_pool,
            sandbox_notify_after=self._notify_after,
            settlement=self._settlement,
            insurance=self._insurance,
            carrier_faults=self.sandbox_carrier_faults,
            tracking=self._tracking,
            cipher=self.cipher,
        )

    def label_pdf(self, waybill: EWaybill) -> bytes:
        """The waybill's shipping label, a one-page PDF (CPU-bound: call it off the loop)."""
        # Imported on first use: the PDF library adds a third of a second to every start.
        from app.infra.logistics.labels import waybill_label

        return waybill_label(waybill)

    async def close(self) -> None:
        await self.rate_limiter.close()
        if self.read_pool is not None:
            await self.read_pool.close()
        await self.engine.dispose()


def build_container(settings: Settings, *, worker: bool = False) -> Container:
    """`worker`: the background process's container (its engine plans every statement)."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    keys = load_keys(settings)
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        echo=settings.db_echo,
        custom_plans=worker,
    )
    issuer = settings.public_base_url.rstrip("/")
    oauth = OAuthConfig(
        issuer=issuer,
        audience=f"{issuer}/v1",
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        code_ttl=timedelta(seconds=settings.authorization_code_ttl_seconds),
    )
    buyer_auth = BuyerTokenConfig(
        issuer=issuer,
        audience=f"{issuer}/v1/storefront",
        access_ttl=timedelta(seconds=settings.buyer_token_seconds),
        refresh_ttl=timedelta(seconds=settings.buyer_refresh_token_seconds),
    )
    cipher = FernetCipher(keys.fernet_keys)
    return Container(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        keys=keys,
        hasher=Argon2PasswordHasher(
            max_concurrent=settings.password_hash_concurrency,
            max_wait_seconds=settings.password_hash_wait_seconds,
            profile=settings.password_hash_profile,
        ),
        cipher=cipher,
        throttle=LimitsThrottle(settings.redis_url),
        idempotency=IdempotencyStore(engine, settings.idempotency_ttl_seconds, cipher),
        oauth=oauth,
        tokens=JwtCodec(
            keys.jwt_private_pem,
            keys.jwt_retired_pems,
            issuer=oauth.issuer,
            audience=oauth.audience,
        ),
        buyer_auth=buyer_auth,
        buyer_tokens=JwtCodec(
            keys.jwt_private_pem,
            keys.jwt_retired_pems,
            issuer=buyer_auth.issuer,
            audience=buyer_auth.audience,
        ),
        rate_limiter=make_rate_limiter(settings.redis_url),
        webhook_guard=AddressGuard.from_settings(settings),
        sandbox_signer=SandboxSigner(keys.sandbox_payment_secret),
        read_pool=(
            ReadPool(settings.database_url, settings.db_pool_size)
            if engine.dialect.name == "postgresql"
            else None
        ),
    )
