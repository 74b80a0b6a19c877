"""What the domain needs from the outside world; `app.infra` implements these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class PasswordHasher(Protocol):
    """Slow by design: implementations run the work off the event loop."""

    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class Cipher(Protocol):
    """Authenticated encryption for values that must be read back (bank accounts, secrets)."""

    def encrypt(self, plaintext: str) -> str: ...
    def decrypt(self, token: str) -> str: ...


@dataclass(frozen=True)
class Quota:
    """At most `limit` attempts per key in a fixed window of `window_seconds`."""

    limit: int
    window_seconds: int


class Throttle(Protocol):
    """Counts attempts per key in fixed windows.

    `reserve` counts the attempt and tells whether it fits in one atomic step, before the
    work it guards: concurrent attempts cannot all pass a check that none has counted yet.
    """

    async def reserve(self, key: str, quota: Quota) -> int | None:
        """Count one attempt: None if it fits the quota, else the seconds until it resets."""
        ...

    async def release(self, key: str, quota: Quota) -> None:
        """Give back one reserved attempt (one that turned out not to count)."""
        ...

    async def clear(self, key: str, quota: Quota) -> None: ...
