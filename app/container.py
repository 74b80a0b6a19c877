"""The composition root's objects, built once per process and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.infra.db.engine import make_engine, make_session_factory
from app.infra.db.uow import SqlUnitOfWork
from app.infra.idempotency import IdempotencyStore
from app.infra.security.keys import FernetCipher, KeyMaterial, load_keys
from app.infra.security.passwords import Argon2PasswordHasher
from app.infra.throttle import LimitsThrottle
from app.settings import Settings


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

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

    async def close(self) -> None:
        await self.engine.dispose()


def build_container(settings: Settings) -> Container:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    keys = load_keys(settings)
    engine = make_engine(
        settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo
    )
    return Container(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        keys=keys,
        hasher=Argon2PasswordHasher(),
        cipher=FernetCipher(keys.fernet_keys),
        throttle=LimitsThrottle(settings.login_window_seconds, settings.redis_url),
        idempotency=IdempotencyStore(engine, settings.idempotency_ttl_seconds),
    )
