"""The Idempotency-Key store: a row per (caller, key), claimed in the request's transaction.

Stored response bodies are encrypted with the key ring: a response may carry a secret shown
once (a client secret, a webhook signing secret), and a replay must give it back, but the
table must not hold it readable for the key's lifetime.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.domain.clock import utcnow
from app.domain.errors import Conflict
from app.infra.db.driver import Exists, Prepared, json_text, text_literal
from app.infra.db.results import rowcount
from app.infra.db.tables import idempotency_keys as t
from app.infra.db.uow import SqlUnitOfWork

#: `claim` on PostgreSQL, through the driver, one statement: a new key is inserted; an
#: expired one, or an in-progress one whose lock ran out, taken over; a key another
#: transaction holds uncommitted waits for it. No row back: the key is someone's, as it is.
#: `{condition}`: what the claim holds only under (`Exists`), or `TRUE`.
_CLAIM_TEMPLATE = """
INSERT INTO idempotency_keys (scope_key, request_hash, method, path, state, created_at,
                              locked_until, expires_at)
SELECT $1::text, $2::text, $3::text, $4::text, 'in_progress', $5::timestamptz,
       $6::timestamptz, $7::timestamptz
WHERE {condition}
ON CONFLICT (scope_key) DO UPDATE
SET request_hash = excluded.request_hash, method = excluded.method, path = excluded.path,
    state = 'in_progress', response_status = NULL, response_headers = NULL,
    response_body = NULL, created_at = excluded.created_at,
    locked_until = excluded.locked_until, expires_at = excluded.expires_at
WHERE idempotency_keys.expires_at < $5
   OR (idempotency_keys.state = 'in_progress' AND idempotency_keys.locked_until < $5)
RETURNING scope_key
"""
_CLAIM_SQL = _CLAIM_TEMPLATE.format(condition="TRUE")
_CLAIM_TYPES = "text, text, text, text, timestamptz, timestamptz, timestamptz"
_CLAIM_PARAMS = 7
_HEX_64 = re.compile(r"[0-9a-f]{64}")
_METHOD = re.compile(r"[A-Z]{1,16}")


def _claim_literals(
    scope_key: str,
    request_hash: str,
    method: str,
    path: str,
    now: datetime,
    locked_until: datetime,
    expires_at: datetime,
) -> tuple[str, ...]:
    """The claim's values as SQL literals, for the round trip that begins the transaction
    (`DriverReader.begin_with`, a simple query: no parameters). Each value is one that
    cannot break out of its literal: the two digests are checked to be hex, the method
    capital letters, the times are ours; the path, the one value a client chose, goes in
    hex-encoded and is decoded by PostgreSQL."""
    if not (_HEX_64.fullmatch(scope_key) and _HEX_64.fullmatch(request_hash)):
        raise ValueError("an idempotency key's scope and request hash are SHA-256 hex digests")
    if not _METHOD.fullmatch(method):
        raise ValueError(f"not an HTTP method: {method!r}")
    stamps = [
        f"'{t.astimezone(UTC).isoformat()}'::timestamptz" for t in (now, locked_until, expires_at)
    ]
    return (f"'{scope_key}'", f"'{request_hash}'", f"'{method}'", text_literal(path), *stamps)


#: The claim kept prepared on each connection: the round trip that begins a transaction
#: with it names it and its values, and PostgreSQL plans it once per connection.
_PREPARED_CLAIM = Prepared("minishop_idempotency_claim", _CLAIM_TYPES, _CLAIM_SQL.strip())
#: The claim under each condition it has been made with, by the condition's name.
_conditional: dict[str, tuple[str, Prepared]] = {}


def _claim_under(condition: Exists | None) -> tuple[str, Prepared]:
    """The claim's statement, with `condition`'s parameters after its own, and the same
    kept prepared."""
    if condition is None:
        return _CLAIM_SQL, _PREPARED_CLAIM
    found = _conditional.get(condition.name)
    if found is None:
        sql = _CLAIM_TEMPLATE.format(condition=f"EXISTS ({condition.after(_CLAIM_PARAMS)})")
        prepared = Prepared(
            f"minishop_idempotency_claim_{condition.name}",
            f"{_CLAIM_TYPES}, {condition.types}",
            sql.strip(),
        )
        found = _conditional[condition.name] = (sql, prepared)
    return found


_ROW_SQL = """
SELECT request_hash, state, response_status, response_headers, response_body
FROM idempotency_keys WHERE scope_key = $1
"""
_COMPLETE_SQL = """
UPDATE idempotency_keys
SET state = 'completed', response_status = $2, response_headers = $3::text::jsonb,
    response_body = $4
WHERE scope_key = $1
RETURNING scope_key
"""

#: How long a committed in-progress claim holds before it may be taken over. A claim commits
#: with its response, so such a row comes only from a release that committed claims on their
#: own; it expires this way.
CLAIM_SECONDS = 60


class BodyCipher(Protocol):
    def encrypt_bytes(self, plaintext: bytes) -> bytes: ...
    def decrypt_bytes(self, token: bytes) -> bytes | None: ...


@dataclass
class Claim:
    #: `unreadable`: completed, but no key of the ring opens the stored response any more;
    #: `refused`: the claim's condition does not hold (nothing was claimed or looked at).
    outcome: Literal["new", "replay", "mismatch", "in_progress", "unreadable", "refused"]
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is in progress"


class IdempotencyStore:
    """A key is claimed in the request's own transaction and its response written there at
    the commit point, so the key, its response and the business change commit together or
    not at all: a crash in between leaves nothing, and the retry runs once; a crash after the
    commit leaves all three, and the retry replays. A concurrent request with the key waits on
    the uncommitted claim (PostgreSQL's unique index; SQLite's single writer), then replays."""

    def __init__(self, engine: AsyncEngine, ttl_seconds: int, cipher: BodyCipher) -> None:
        self.engine = engine
        self.ttl = timedelta(seconds=ttl_seconds)
        self.cipher = cipher

    def _claim_values(self, request_hash: str, method: str, path: str) -> dict[str, Any]:
        now = utcnow()
        return {
            "request_hash": request_hash,
            "method": method,
            "path": path[:512],
            "state": "in_progress",
            "created_at": now,
            "locked_until": now + timedelta(seconds=CLAIM_SECONDS),
            "expires_at": now + self.ttl,
            "response_status": None,
            "response_headers": None,
            "response_body": None,
        }

    async def claim(
        self,
        uow: SqlUnitOfWork,
        scope_key: str,
        request_hash: str,
        method: str,
        path: str,
        condition: Exists | None = None,
    ) -> Claim:
        """`new`: the key is claimed in `uow`'s transaction (kept by `uow.release()`), for
        `complete` to fill in before it commits.

        `condition` (PostgreSQL only): the claim holds only under it, checked by the claim's
        statement itself (a caller's credential still good), else `refused`, before the key's
        row is looked at: what a key holds is never answered to a caller it does not hold."""
        values = self._claim_values(request_hash, method, path)
        now = values["created_at"]
        driver = uow.driver
        if driver is not None:
            claim = (
                scope_key, request_hash, method, values["path"], now,
                values["locked_until"], values["expires_at"],
            )  # fmt: skip
            sql, prepared = _claim_under(condition)
            literals = _claim_literals(*claim) + (condition.literals if condition else ())
            # With the transaction's BEGIN if it begins now, else a statement of its own.
            status = await driver.begin_with(prepared, literals)
            if status is not None:
                claimed = status == "INSERT 0 1"
            else:
                args = claim + (condition.args if condition else ())
                claimed = bool(await driver.write(sql, *args))
            uow.holds_writes = True  # the transaction has begun: keep it for the route
            if claimed:
                return Claim("new")
            if condition is not None:
                held = await driver.fetchrow(f"SELECT EXISTS ({condition.sql})", *condition.args)
                if not held[0]:
                    return Claim("refused")
            row = await driver.fetchrow(_ROW_SQL, scope_key)
            return Claim("in_progress") if row is None else self._outcome(row, request_hash)
        if condition is not None:
            raise ValueError("a claim's condition is checked by the driver's statement only")
        session = uow.session
        # Take over an expired key, or an in-progress one whose lock ran out (written by a
        # version that committed claims on their own, before its request died).
        taken = await session.execute(
            sa.update(t)
            .where(
                t.c.scope_key == scope_key,
                sa.or_(
                    t.c.expires_at < now,
                    sa.and_(t.c.state == "in_progress", t.c.locked_until < now),
                ),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if rowcount(taken) == 1:
            uow.holds_writes = True
            return Claim("new")
        row = await self._row(session, scope_key)
        if row is None:
            try:
                async with session.begin_nested():
                    # Waits while another transaction holds an uncommitted claim of the key.
                    await session.execute(sa.insert(t).values(scope_key=scope_key, **values))
                uow.holds_writes = True
                return Claim("new")
            except IntegrityError:
                row = await self._row(session, scope_key)  # the other one committed first
                if row is None:
                    return Claim("in_progress")
        return self._outcome(row, request_hash)

    async def complete(
        self,
        uow: SqlUnitOfWork,
        scope_key: str,
        claim: tuple[str, str, str],
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        """Writes the response into the claim, in the transaction about to commit with it.
        A claim its transaction lost (a route that rolled back part way) is written again;
        one that another request took meanwhile means this run must not commit: 409."""
        response = {
            "state": "completed",
            "response_status": status,
            "response_headers": headers,
            "response_body": self.cipher.encrypt_bytes(body),
        }
        driver = uow.driver
        if driver is not None:

            async def written(rows: Sequence[Mapping[str, Any]]) -> None:
                if not rows:
                    await self._claim_again(uow.session, scope_key, claim, response)

            # Deferred: it goes with the request's other writes, in the commit's round trip.
            await driver.defer(
                _COMPLETE_SQL,
                scope_key,
                status,
                json_text(headers),
                response["response_body"],
                key=("idempotency_keys", scope_key),
                then=written,
            )
            return
        session = uow.session
        done = await session.execute(
            sa.update(t)
            .where(t.c.scope_key == scope_key)
            .values(**response)
            .execution_options(synchronize_session=False)
        )
        if rowcount(done) == 1:
            return
        await self._claim_again(session, scope_key, claim, response)

    async def _claim_again(
        self,
        session: AsyncSession,
        scope_key: str,
        claim: tuple[str, str, str],
        response: dict[str, Any],
    ) -> None:
        try:
            async with session.begin_nested():
                await session.execute(
                    sa.insert(t).values(
                        scope_key=scope_key, **{**self._claim_values(*claim), **response}
                    )
                )
        except IntegrityError as e:
            raise IdempotencyKeyInUse("Another request with this key finished first.") from e

    async def save(
        self,
        scope_key: str,
        claim: tuple[str, str, str],
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        """Stores the answer to a request that changed nothing (a 404, a 409), in a
        transaction of its own; a request with the key that got in first keeps its own."""
        values = {
            **self._claim_values(*claim),
            "state": "completed",
            "response_status": status,
            "response_headers": headers,
            "response_body": self.cipher.encrypt_bytes(body),
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(sa.insert(t).values(scope_key=scope_key, **values))
        except IntegrityError:
            pass

    async def _row(self, session: AsyncSession, scope_key: str) -> Any:
        row = (await session.execute(sa.select(t).where(t.c.scope_key == scope_key))).one_or_none()
        return None if row is None else row._mapping

    def _outcome(self, row: Any, request_hash: str) -> Claim:
        """From a row of the table (a SQLAlchemy row or the driver's record, by name)."""
        if row["request_hash"] != request_hash:
            return Claim("mismatch")
        if row["state"] != "completed":
            return Claim("in_progress")
        body = self.cipher.decrypt_bytes(bytes(row["response_body"] or b""))
        if body is None:
            return Claim("unreadable")
        return Claim(
            "replay",
            status=row["response_status"],
            headers=dict(row["response_headers"] or {}),
            body=body,
        )
