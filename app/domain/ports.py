"""What the domain needs from the outside world; `app.infra` implements these."""

from __future__ import annotations

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


class Throttle(Protocol):
    """Counts hits per key in a window; `blocked` tells how long to wait, or None."""

    async def blocked(self, key: str, limit: int) -> int | None: ...
    async def hit(self, key: str, limit: int) -> None: ...
    async def clear(self, key: str, limit: int) -> None: ...
