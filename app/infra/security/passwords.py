"""Argon2id password hashing (argon2-cffi with its RFC 9106 low-memory profile).

Each hash takes tens of milliseconds of CPU and 64 MiB: every hash and every verification of
the process goes through one semaphore, so a burst of logins or sign-ups queues here instead
of taking every core (and the thread pool) from the requests that need none. A caller that
cannot get a slot within the wait is answered 503 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from argon2 import Parameters, profiles
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain.accounts.errors import PasswordHashingBusy

T = TypeVar("T")


#: The parameters of each `MINISHOP_PASSWORD_HASH_PROFILE`. `production` is argon2-cffi's
#: RFC 9106 low-memory profile (time cost 3, 64 MiB, 4 lanes); `fast` is its cheapest, for
#: test runs only (the settings refuse it with `MINISHOP_ENV=production`).
PROFILES: dict[str, Parameters] = {
    "production": profiles.RFC_9106_LOW_MEMORY,
    "fast": profiles.CHEAPEST,
}


class Argon2PasswordHasher:
    def __init__(
        self,
        *,
        max_concurrent: int = 2,
        max_wait_seconds: float = 5.0,
        profile: str = "production",
    ) -> None:
        self._ph = _Argon2.from_parameters(PROFILES[profile])
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_wait = max_wait_seconds

    async def hash(self, password: str) -> str:
        return await self._run(self._ph.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(self._verify, password_hash, password)

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        try:
            async with asyncio.timeout(self._max_wait):
                await self._slots.acquire()
        except TimeoutError:
            raise PasswordHashingBusy(
                "The server is busy checking passwords; retry in a moment.",
                headers={"Retry-After": "1"},
            ) from None
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self._slots.release()

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._ph.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    @property
    def parameters(self) -> Parameters:
        """The argon2 parameters new hashes are made with."""
        ph = self._ph
        return Parameters(
            type=ph.type,
            version=19,
            salt_len=ph.salt_len,
            hash_len=ph.hash_len,
            time_cost=ph.time_cost,
            memory_cost=ph.memory_cost,
            parallelism=ph.parallelism,
        )

    def needs_rehash(self, password_hash: str) -> bool:
        return self._ph.check_needs_rehash(password_hash)
