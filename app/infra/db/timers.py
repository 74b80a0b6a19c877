"""Durable timers in the `timers` table: the port use cases schedule through, and the
worker's side (claim with a lease, fire, retry).

A use case's `schedule`/`cancel` run in its unit of work's transaction. The worker claims
due timers (`claim.claim_with_lease`), then fires each in a transaction of its own that
first marks the timer done — only while the claim is still its own — then runs the handler
and commits both together. A claim no longer counts once the timer is rescheduled or
cancelled, or once its lease ran out and another worker claimed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.timers.model import Timer, TimerStatus
from app.infra.db import tables
from app.infra.db.claim import claim_with_lease
from app.infra.db.driver import OnSessionAndDriver, json_text

_t = tables.timers

#: `schedule` on PostgreSQL, through the driver: the same upsert as the Core statement.
_SCHEDULE_SQL = """
INSERT INTO timers (id, shop_id, kind, key, due_at, payload, status, attempts, created_at,
                    updated_at)
VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, 'pending', 0, $7, $7)
ON CONFLICT (kind, key) DO UPDATE
SET due_at = excluded.due_at, payload = excluded.payload, shop_id = excluded.shop_id,
    status = 'pending', attempts = 0, last_error = NULL, fired_at = NULL,
    lease_token = NULL, lease_until = NULL, updated_at = $7
WHERE timers.status IN ('pending', 'done')
"""


class SqlTimers(OnSessionAndDriver):
    # --- the port ------------------------------------------------------------------------

    async def schedule(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        shop_id: str | None = None,
    ) -> None:
        now = utcnow()
        if self._driver is not None:
            # Deferred: it goes with the request's other writes, in their round trip.
            await self._driver.defer(
                _SCHEDULE_SQL,
                new_id("tmr"),
                shop_id,
                kind,
                key,
                due_at,
                json_text(payload or {}),
                now,
                key=("timers", kind, key),
            )
            return
        insert = pg_insert if self.s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(_t).values(
            id=new_id("tmr"),
            shop_id=shop_id,
            kind=kind,
            key=key,
            due_at=due_at,
            payload=payload or {},
            status=TimerStatus.PENDING,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[_t.c.kind, _t.c.key],
            set_={
                "due_at": stmt.excluded.due_at,
                "payload": stmt.excluded.payload,
                "shop_id": stmt.excluded.shop_id,
                # One that fired is armed again (a handler re-arming its own timer).
                "status": TimerStatus.PENDING,
                "attempts": 0,
                "last_error": None,
                "fired_at": None,
                # A claim taken before this is void: it fires the new schedule or nothing.
                "lease_token": None,
                "lease_until": None,
                "updated_at": now,
            },
            where=_t.c.status.in_([TimerStatus.PENDING, TimerStatus.DONE]),
        )
        await self.s.execute(stmt)

    async def cancel(self, kind: str, key: str) -> bool:
        res = await self.s.execute(
            sa.delete(_t)
            .where(_t.c.kind == kind, _t.c.key == key, _t.c.status == TimerStatus.PENDING)
            .returning(_t.c.id)
        )
        return res.scalar_one_or_none() is not None

    # --- the worker's side ---------------------------------------------------------------

    async def claim(
        self, kinds: Iterable[str], *, lease_until: datetime, limit: int
    ) -> list[Timer]:
        """Due pending timers of `kinds` (those this worker has handlers for), earliest due
        first, each leased to a fresh token until `lease_until`; one attempt more each."""
        now = utcnow()
        token = new_id("lease")
        ids = await claim_with_lease(
            self.s,
            _t,
            claimable=sa.and_(
                _t.c.status == TimerStatus.PENDING,
                _t.c.kind.in_(list(kinds)),
                _t.c.due_at <= now,
                sa.or_(_t.c.lease_until.is_(None), _t.c.lease_until < now),
            ),
            lease={
                "lease_token": token,
                "lease_until": lease_until,
                "attempts": _t.c.attempts + 1,
                "updated_at": now,
            },
            order_by=[_t.c.due_at, _t.c.id],
            limit=limit,
        )
        if not ids:
            return []
        rows = await self.s.execute(
            sa.select(_t).where(_t.c.id.in_(ids), _t.c.lease_token == token).order_by(_t.c.due_at)
        )
        return [_timer(r) for r in rows]

    async def start_firing(self, timer: Timer) -> bool:
        """Mark the claimed timer done, first thing in its handler's transaction; False (and
        nothing written) when the claim is no longer this worker's. On PostgreSQL the row
        stays locked until that transaction ends: no other worker can claim it meanwhile."""
        now = utcnow()
        res = await self.s.execute(
            sa.update(_t)
            .where(
                _t.c.id == timer.id,
                _t.c.lease_token == timer.lease_token,
                _t.c.status == TimerStatus.PENDING,
            )
            .values(
                status=TimerStatus.DONE,
                fired_at=now,
                updated_at=now,
                lease_token=None,
                lease_until=None,
                last_error=None,
            )
            .returning(_t.c.id)
            .execution_options(synchronize_session=False)
        )
        return res.scalar_one_or_none() is not None

    async def retry(self, timer: Timer, *, due_at: datetime | None, error: str) -> bool:
        """After a failed handler: try again at `due_at`, or give up (`due_at` None)."""
        now = utcnow()
        values: dict[str, Any] = {
            "lease_token": None,
            "lease_until": None,
            "last_error": error[:500],
            "updated_at": now,
        }
        if due_at is None:
            values["status"] = TimerStatus.FAILED
        else:
            values["due_at"] = due_at
        res = await self.s.execute(
            sa.update(_t)
            .where(
                _t.c.id == timer.id,
                _t.c.lease_token == timer.lease_token,
                _t.c.status == TimerStatus.PENDING,
            )
            .values(**values)
            .returning(_t.c.id)
            .execution_options(synchronize_session=False)
        )
        return res.scalar_one_or_none() is not None


def _timer(row: Any) -> Timer:
    return Timer(
        id=row.id,
        kind=row.kind,
        key=row.key,
        due_at=row.due_at,
        shop_id=row.shop_id,
        payload=dict(row.payload),
        attempts=row.attempts,
        lease_token=row.lease_token or "",
    )
