"""The Idempotency-Key store: a row per (caller, key), claimed before the request runs.

Stored response bodies are encrypted with the key ring: a response may carry a secret shown
once (a client secret, a webhook signing secret), and a replay must give it back, but the
table must not hold it readable for the key's lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.clock import utcnow
from app.infra.db.tables import idempotency_keys as t

#: How long an in-progress claim holds before a crashed request's key may be taken over.
CLAIM_SECONDS = 60


class BodyCipher(Protocol):
    def encrypt_bytes(self, plaintext: bytes) -> bytes: ...
    def decrypt_bytes(self, token: bytes) -> bytes | None: ...


@dataclass
class Claim:
    #: `unreadable`: completed, but no key of the ring opens the stored response any more.
    outcome: Literal["new", "replay", "mismatch", "in_progress", "unreadable"]
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class IdempotencyStore:
    def __init__(self, engine: AsyncEngine, ttl_seconds: int, cipher: BodyCipher) -> None:
        self.engine = engine
        self.ttl = timedelta(seconds=ttl_seconds)
        self.cipher = cipher

    async def claim(self, scope_key: str, request_hash: str, method: str, path: str) -> Claim:
        now = utcnow()
        values = {
            "scope_key": scope_key,
            "request_hash": request_hash,
            "method": method,
            "path": path[:512],
            "state": "in_progress",
            "created_at": now,
            "locked_until": now + timedelta(seconds=CLAIM_SECONDS),
            "expires_at": now + self.ttl,
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(sa.insert(t).values(**values))
            return Claim("new")
        except IntegrityError:
            pass
        async with self.engine.begin() as conn:
            # Take over an expired key, or a claim whose request died before finishing.
            taken = await conn.execute(
                sa.update(t)
                .where(
                    t.c.scope_key == scope_key,
                    sa.or_(
                        t.c.expires_at < now,
                        sa.and_(t.c.state == "in_progress", t.c.locked_until < now),
                    ),
                )
                .values(
                    **{k: v for k, v in values.items() if k != "scope_key"},
                    response_status=None,
                    response_headers=None,
                    response_body=None,
                )
            )
            if taken.rowcount == 1:
                return Claim("new")
            row = (await conn.execute(sa.select(t).where(t.c.scope_key == scope_key))).one()
        if row.request_hash != request_hash:
            return Claim("mismatch")
        if row.state != "completed":
            return Claim("in_progress")
        body = self.cipher.decrypt_bytes(bytes(row.response_body or b""))
        if body is None:
            return Claim("unreadable")
        return Claim(
            "replay",
            status=row.response_status,
            headers=dict(row.response_headers or {}),
            body=body,
        )

    async def complete(
        self, scope_key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(t)
                .where(t.c.scope_key == scope_key)
                .values(
                    state="completed",
                    response_status=status,
                    response_headers=headers,
                    response_body=self.cipher.encrypt_bytes(body),
                )
            )

    async def release(self, scope_key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(t).where(t.c.scope_key == scope_key))

    async def prune(self) -> int:
        async with self.engine.begin() as conn:
            res = await conn.execute(sa.delete(t).where(t.c.expires_at < utcnow()))
            return int(res.rowcount or 0)
