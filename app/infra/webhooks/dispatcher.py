"""The webhook worker's two jobs: fan outbox events out into deliveries, and send due
deliveries, signed (Standard Webhooks), retrying on a schedule.

Any number of workers may run against one database. On PostgreSQL each claim is
`SELECT … FOR UPDATE SKIP LOCKED`, so no event is fanned out twice and no delivery is in
flight in two workers; a claimed delivery carries a lease, so one held by a worker that died
is sent again once the lease passes (same `webhook-id`: receivers drop duplicates). SQLite
serialises writers, which gives the same guarantees for its single machine.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from standardwebhooks.webhooks import Webhook

from app.domain.authz.model import AppStatus
from app.domain.clock import utcnow
from app.domain.events.catalog import EndpointDisabledData
from app.domain.events.model import Event
from app.domain.ids import new_id
from app.domain.ports import Cipher
from app.domain.webhooks.model import (
    FAMILY_SCOPES,
    DeliveryStatus,
    family,
    matches,
    next_delay,
)
from app.infra.db import outbox, tables
from app.infra.db.claim import claim_with_lease
from app.infra.db.results import rowcount
from app.infra.webhooks.transport import webhook_client
from app.infra.webhooks.urls import AddressGuard
from app.settings import Settings

log = logging.getLogger("minishop.webhooks")

_o = tables.outbox_events
_e = tables.webhook_endpoints
_d = tables.webhook_deliveries
_a = tables.webhook_attempts
_g = tables.grants
_apps = tables.apps

USER_AGENT = "MiniShop-Webhooks/1"
#: Migration 767a323600ae's triggers NOTIFY it when work arrives.
CHANNEL = "minishop_webhooks"
RESPONSE_HEAD = 1024
#: What the attempt log says when no HTTP response came, whatever the cause (the name did not
#: resolve or not to a public address, the connection was refused, reset or timed out, TLS
#: failed, the answer was late): telling them apart would make the sender a port scanner for
#: whoever owns the URL. The cause goes to the platform's log; `latency_ms` is 0.
NO_RESPONSE = "no response: the endpoint could not be reached or did not answer in time"


@dataclass
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None
    head: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


#: A claimed delivery whose lease could run out before a slot came free: not sent, no
#: attempt recorded, its lease released at once for the next claim.
LAPSED = Outcome(None, 0, "lease ran out before a slot was free", None)
#: Claimed deliveries a worker holds at once, per slot of `webhook_concurrency`.
IN_FLIGHT_PER_SLOT = 64
#: Events fanned out, and deliveries claimed, per transaction.
BATCH = 500

# The dispatcher's statements are built once (per dialect) and run with their values bound:
# building them on every pass (two aliases of the deliveries table, every column proxied, and
# their cache keys) took more of the worker's CPU than sending the webhooks did.
_NOW: sa.BindParameter[datetime] = sa.bindparam("now")
_LIMIT: sa.BindParameter[int] = sa.bindparam("limit")
_IDS: sa.BindParameter[str] = sa.bindparam("ids", expanding=True)


def _undispatched(postgres: bool) -> sa.Select[Any]:
    """Outbox events not fanned out yet, oldest first, locked (PostgreSQL): `limit`."""
    stmt = (
        sa.select(
            _o.c.id,
            _o.c.type,
            _o.c.shop_id,
            _o.c.app_id,
            _o.c.resource_id,
            _o.c.sequence,
            _o.c.created_at,
        )
        .where(_o.c.dispatched_at.is_(None))
        .order_by(_o.c.id)
        .limit(_LIMIT)
    )
    return stmt.with_for_update(skip_locked=True) if postgres else stmt


#: Outbox events `ids` fanned out `now`.
_DISPATCHED = sa.update(_o).where(_o.c.id.in_(_IDS)).values(dispatched_at=_NOW)


def _audience_of() -> sa.Select[Any]:
    """The enabled endpoints of the apps `own_apps` and of the grantees of the shops
    `shops`, with each grant in force of those shops."""
    shops: sa.BindParameter[str] = sa.bindparam("shops", expanding=True)
    grantees = sa.select(_g.c.app_id).where(_g.c.shop_id.in_(shops), _g.c.revoked_at.is_(None))
    return (
        sa.select(
            _e.c.id,
            _e.c.app_id,
            _e.c.topics,
            _e.c.created_at,
            _g.c.shop_id,
            _g.c.scopes,
        )
        .join(_apps, _apps.c.id == _e.c.app_id)
        .outerjoin(
            _g,
            sa.and_(
                _g.c.app_id == _e.c.app_id,
                _g.c.shop_id.in_(shops),
                _g.c.revoked_at.is_(None),
            ),
        )
        .where(
            sa.or_(
                _e.c.app_id.in_(sa.bindparam("own_apps", expanding=True)),
                _e.c.app_id.in_(grantees),
            ),
            _e.c.enabled.is_(True),
            _apps.c.status != AppStatus.SUSPENDED,
        )
    )


_AUDIENCE = _audience_of()


def _due(postgres: bool) -> sa.Select[tuple[str]]:
    """Ids of the deliveries to send `now`, oldest due first, locked (PostgreSQL): `limit`."""
    d = _d.alias("due")
    earlier = _d.alias("earlier")
    # A delivery waits for the earlier pending ones of its (endpoint, resource): earlier
    # by `sequence` for sequenced events (commit order), by id for the others. A resource's
    # events are all sequenced or none are (the family decides; ids are prefixed by kind).
    # Two plain NOT EXISTS (no OR inside), so each stays an indexed anti-join.
    pending_of_same = sa.and_(
        earlier.c.endpoint_id == d.c.endpoint_id,
        earlier.c.resource_id == d.c.resource_id,
        earlier.c.status == DeliveryStatus.PENDING,
    )
    blocked_by_id = (
        sa.select(sa.literal(1))
        .select_from(earlier)
        .where(pending_of_same, earlier.c.id < d.c.id, d.c.sequence.is_(None))
    )
    blocked_by_sequence = (
        sa.select(sa.literal(1))
        .select_from(earlier)
        .where(pending_of_same, earlier.c.sequence < d.c.sequence)
    )
    # ... and a sequenced one also for an earlier event of its resource that is committed
    # but not yet fanned out (event ids made in two processes need not follow commit order).
    unfanned = (
        sa.select(sa.literal(1))
        .select_from(_o)
        .where(
            _o.c.resource_id == d.c.resource_id,
            _o.c.dispatched_at.is_(None),
            _o.c.sequence.is_not(None),
            _o.c.sequence < d.c.sequence,
        )
    )
    stmt = (
        sa.select(d.c.id)
        .where(
            d.c.status == DeliveryStatus.PENDING,
            d.c.next_attempt_at <= _NOW,
            sa.or_(d.c.lease_until.is_(None), d.c.lease_until < _NOW),
            ~sa.exists(blocked_by_id),
            ~sa.exists(blocked_by_sequence),
            ~sa.exists(unfanned),
        )
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(_LIMIT)
    )
    return stmt.with_for_update(skip_locked=True, of=d) if postgres else stmt


#: A delivery may be claimed `now`: pending, and its lease (if any) ran out.
_CLAIMABLE = sa.and_(
    _d.c.status == DeliveryStatus.PENDING,
    sa.or_(_d.c.lease_until.is_(None), _d.c.lease_until < _NOW),
)

#: What sending the deliveries `ids` takes, with the grant in force for each.
_JOBS = (
    sa.select(
        _d.c.id,
        _d.c.attempts,
        _d.c.endpoint_id,
        _d.c.app_id,
        _d.c.shop_id,
        _d.c.event_type,
        _o.c.data,
        _o.c.created_at.label("event_at"),
        _o.c.app_id.label("event_app_id"),
        _e.c.url,
        _e.c.enabled,
        _e.c.secret_enc,
        _e.c.previous_secret_enc,
        _e.c.previous_secret_until,
        _e.c.failing_since,
        _g.c.scopes.label("grant_scopes"),
    )
    .join(_o, _o.c.id == _d.c.event_id)
    .join(_e, _e.c.id == _d.c.endpoint_id)
    .outerjoin(
        _g,
        sa.and_(
            _g.c.app_id == _d.c.app_id,
            _g.c.shop_id == _d.c.shop_id,
            _g.c.revoked_at.is_(None),
        ),
    )
    .where(_d.c.id.in_(_IDS))
)

# Only while the lease is still this claim's (`b_id`, `b_lease`): a redelivery (or a claim
# after the lease ran out) has taken the delivery over.
_OURS = sa.and_(_d.c.id == sa.bindparam("b_id"), _d.c.lease_until == sa.bindparam("b_lease"))
#: A claimed delivery not sent, freed for the next claim.
_RELEASED = sa.update(_d).where(_OURS).values(lease_until=None)
#: An attempt's outcome.
_ATTEMPTED = (
    sa.update(_d)
    .where(_OURS)
    .values(
        attempts=sa.bindparam("attempts"),
        status=sa.bindparam("status"),
        next_attempt_at=sa.bindparam("next_attempt_at"),
        last_status_code=sa.bindparam("last_status_code"),
        last_error=sa.bindparam("last_error"),
        delivered_at=sa.bindparam("delivered_at"),
        lease_until=None,
        updated_at=sa.bindparam("b_now"),
    )
)


def payload(event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """`{"type", "timestamp", "data"}`: the same bytes on every attempt."""
    return orjson.dumps({"type": event_type, "timestamp": created_at.isoformat(), "data": data})


def signature(secrets: list[str], msg_id: str, at: datetime, body: bytes) -> str:
    """One `v1,<base64>` per secret in force, space separated (rotation overlap)."""
    text = body.decode()
    return " ".join(Webhook(secret).sign(msg_id, at, text) for secret in secrets)


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        cipher: Cipher,
        settings: Settings,
        *,
        verify: ssl.SSLContext | bool = True,
        guard: AddressGuard | None = None,
    ) -> None:
        self.engine = engine
        self.cipher = cipher
        self.settings = settings
        self.schedule = settings.webhook_schedule
        self.guard = guard or AddressGuard.from_settings(settings)
        self.postgres = engine.dialect.name == "postgresql"
        self._undispatched = _undispatched(self.postgres)
        self._due = _due(self.postgres)
        self.client = webhook_client(
            self.guard,
            timeout=settings.webhook_timeout_seconds,
            concurrency=settings.webhook_concurrency,
            headers={"user-agent": USER_AGENT},
            verify=verify,
        )
        self.semaphore = asyncio.Semaphore(settings.webhook_concurrency)
        self._plain: dict[str, str] = {}
        #: A slow endpoint holds at most half the slots, so it cannot starve the others.
        self._per_endpoint = max(1, settings.webhook_concurrency // 2)
        #: Held only while a request of the endpoint waits or runs: an idle endpoint's entry
        #: goes away with its last request (a fresh semaphore is the same state).
        self._slots: weakref.WeakValueDictionary[str, asyncio.Semaphore] = (
            weakref.WeakValueDictionary()
        )
        #: PostgreSQL server pids of this engine's connections opened since `run` started.
        self._own_backends: set[int] = set()

    async def close(self) -> None:
        await self.client.aclose()

    # -- fan-out ---------------------------------------------------------------------------

    async def fan_out(self, limit: int = BATCH) -> int:
        """Turn undispatched outbox events into deliveries; returns the deliveries made."""
        async with self.engine.begin() as conn:
            return (await self._fan_out(conn, limit))[1]

    async def _fan_out(self, conn: AsyncConnection, limit: int) -> tuple[int, int]:
        """(events taken, deliveries made)."""
        now = utcnow()
        events = (await conn.execute(self._undispatched, {"limit": limit})).all()
        if not events:
            return 0, 0
        endpoints, grants = await self._audience(
            conn, {e.app_id for e in events if e.app_id}, {e.shop_id for e in events if e.shop_id}
        )
        rows = []
        for ev in events:
            for ep in endpoints:
                if (
                    ep.created_at > ev.created_at  # subscribed after it happened
                    or not matches(ep.topics, ev.type)
                    or not _entitled(
                        ev.type, ev.app_id, ep.app_id, grants.get((ep.app_id, ev.shop_id))
                    )
                ):
                    continue
                rows.append(
                    {
                        "id": new_id("msg"),
                        "event_id": ev.id,
                        "endpoint_id": ep.id,
                        "app_id": ep.app_id,
                        "event_type": ev.type,
                        "shop_id": ev.shop_id,
                        "resource_id": ev.resource_id,
                        "sequence": ev.sequence,
                        "status": DeliveryStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        if rows:
            await conn.execute(sa.insert(_d), rows)
        await conn.execute(_DISPATCHED, {"ids": [e.id for e in events], "now": now})
        return len(events), len(rows)

    async def _audience(
        self, conn: AsyncConnection, own_apps: set[str], shop_ids: set[str]
    ) -> tuple[list[Any], dict[tuple[str, str], frozenset[str]]]:
        """In one query: the enabled endpoints of the apps that can receive the events (the
        apps themselves, for their own events, and the shops' grantees), and the grants in
        force, (app, shop) → scopes."""
        res = await conn.execute(_AUDIENCE, {"own_apps": list(own_apps), "shops": list(shop_ids)})
        endpoints: dict[str, Any] = {}
        grants: dict[tuple[str, str], frozenset[str]] = {}
        for r in res:
            endpoints.setdefault(r.id, r)
            if r.shop_id is not None:
                grants[(r.app_id, r.shop_id)] = frozenset(r.scopes)
        return list(endpoints.values()), grants

    # -- delivery --------------------------------------------------------------------------

    async def deliver_due(self, limit: int = BATCH) -> int:
        """Claim due deliveries, send them concurrently, record the outcomes together."""
        async with self.engine.begin() as conn:
            jobs = await self._claim(conn, limit)
        return await self._deliver(jobs)

    async def _deliver(self, jobs: list[dict[str, Any]]) -> int:
        if not jobs:
            return 0
        results = await asyncio.gather(*(self._send(job) for job in jobs), return_exceptions=True)
        outcomes: list[Outcome | None] = []
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):  # a bug, not the receiver: log it, retry
                log.error("sending a webhook failed", exc_info=result, extra={"id": job["id"]})
                result = Outcome(None, 0, f"internal error: {type(result).__name__}", None)
            outcomes.append(result)
        try:
            await self._record(jobs, outcomes)
        except Exception:  # the leases expire and the deliveries are sent again
            log.exception("recording webhook attempts failed", extra={"count": len(jobs)})
        return len(jobs)

    async def _claim(self, conn: AsyncConnection, limit: int) -> list[dict[str, Any]]:
        """Lease the due deliveries and read what sending them takes, with the grant in
        force for each (a shop's event goes out only while it is)."""
        now, started = utcnow(), time.monotonic()
        lease = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        # (The worker's connections plan every statement for its values: a generic plan made
        # while the table was small would turn these NOT EXISTS checks quadratic once a
        # backlog builds up. See `make_engine(custom_plans=True)`.)
        ids = await claim_with_lease(
            conn,
            _d,
            pick=self._due,
            claimable=_CLAIMABLE,
            lease={"lease_until": lease},
            params={"now": now, "limit": limit},
        )
        if not ids:
            return []
        res = await conn.execute(_JOBS, {"ids": ids})
        jobs = [dict(r._mapping) for r in res]
        # Sent only while a whole attempt (bounded by the timeout) still fits in the lease.
        send_by = started + self.settings.webhook_lease_seconds
        send_by -= self.settings.webhook_timeout_seconds
        for job in jobs:
            job["send_by"] = send_by
            job["lease_until"] = lease
            scopes = job.pop("grant_scopes")
            job["entitled"] = _entitled(
                job["event_type"],
                job["event_app_id"],
                job["app_id"],
                None if scopes is None else frozenset(scopes),
            )
        return jobs

    def _secrets(self, job: dict[str, Any]) -> list[str]:
        secrets = [self._decrypt(job["secret_enc"])]
        until = job["previous_secret_until"]
        if job["previous_secret_enc"] and until is not None and until > utcnow():
            secrets.append(self._decrypt(job["previous_secret_enc"]))
        return secrets

    def _endpoint_slots(self, endpoint_id: str) -> asyncio.Semaphore:
        slots = self._slots.get(endpoint_id)
        if slots is None:
            slots = self._slots[endpoint_id] = asyncio.Semaphore(self._per_endpoint)
        return slots

    def _decrypt(self, token: str) -> str:
        """Fernet decryption once per secret per process, not once per delivery."""
        secret = self._plain.get(token)
        if secret is None:
            secret = self._plain[token] = self.cipher.decrypt(token)
        return secret

    async def _post(self, job: dict[str, Any]) -> Outcome:
        # The URL as written; its addresses are checked when a connection is opened.
        refusal = self.guard.url_refusal(job["url"])
        if refusal:
            return Outcome(None, 0, f"refused: {refusal}"[:500], None)
        body = payload(job["event_type"], job["event_at"], job["data"])
        async with self._endpoint_slots(job["endpoint_id"]), self.semaphore:
            if time.monotonic() > job["send_by"]:
                return LAPSED
            at = utcnow()  # signed when sent: a receiver checks the timestamp's age
            headers = {
                "content-type": "application/json",
                "webhook-id": job["id"],
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": signature(self._secrets(job), job["id"], at, body),
            }
            started = time.perf_counter()
            try:
                # httpx's timeout bounds each phase; this bounds the whole attempt.
                async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                    r = await self.client.post(job["url"], content=body, headers=headers)
            except (httpx.HTTPError, TimeoutError) as e:
                log.info(
                    "webhook got no response",
                    extra={"id": job["id"], "error": f"{type(e).__name__}: {e}"[:500]},
                )
                return Outcome(None, 0, NO_RESPONSE, None)
        head = r.content[:RESPONSE_HEAD].decode("utf-8", "replace")
        return Outcome(r.status_code, _ms(started), None, head)

    async def _send(self, job: dict[str, Any]) -> Outcome | None:
        """The attempt's outcome; None when nothing may be sent any more."""
        if not job["enabled"] or not job["entitled"]:
            return None
        return await self._post(job)

    async def _record(self, jobs: list[dict[str, Any]], outcomes: list[Outcome | None]) -> None:
        """One transaction for the batch: attempts, delivery states, endpoint health."""
        now = utcnow()
        attempts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        health: dict[str, tuple[dict[str, Any], Outcome]] = {}
        lapsed: list[dict[str, Any]] = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            if outcome is LAPSED:  # not sent: free it for the next claim at once
                lapsed.append({"b_id": job["id"], "b_lease": job["lease_until"]})
                continue
            row = {
                "b_id": job["id"],
                "b_lease": job["lease_until"],
                "b_now": now,
                "attempts": job["attempts"],
                "status": DeliveryStatus.PENDING,
                "next_attempt_at": now,
                "last_status_code": None,
                "last_error": None,
                "delivered_at": None,
            }
            if outcome is None:
                why = (
                    "endpoint disabled"
                    if not job["enabled"]
                    else "authorization no longer in force"
                )
                row |= {"status": DeliveryStatus.FAILED, "last_error": why}
                updates.append(row)
                continue
            attempt = job["attempts"] + 1
            row |= {
                "attempts": attempt,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
            }
            if outcome.ok:
                row |= {"status": DeliveryStatus.SUCCEEDED, "delivered_at": now}
            else:
                delay = None if outcome.status_code == 410 else next_delay(self.schedule, attempt)
                if delay is None:
                    row["status"] = DeliveryStatus.FAILED
                else:
                    row["next_attempt_at"] = now + timedelta(seconds=delay)
            updates.append(row)
            attempts.append(
                {
                    "id": new_id("wha"),
                    "delivery_id": job["id"],
                    "endpoint_id": job["endpoint_id"],
                    "event_type": job["event_type"],
                    "attempt": attempt,
                    "succeeded": outcome.ok,
                    "status_code": outcome.status_code,
                    "latency_ms": outcome.latency_ms,
                    "error": outcome.error,
                    "response_head": outcome.head,
                    "created_at": now,
                }
            )
            # The endpoint's health follows its latest outcome in the batch (a 410 sticks).
            seen = health.get(job["endpoint_id"])
            if seen is None or seen[1].status_code != 410:
                health[job["endpoint_id"]] = (job, outcome)
        if not updates and not lapsed:
            return
        async with self.engine.begin() as conn:
            if lapsed:
                await conn.execute(_RELEASED, lapsed)
            if attempts:
                await conn.execute(sa.insert(_a), attempts)
            if not updates:
                return
            await conn.execute(_ATTEMPTED, updates)
            # In endpoint order, so concurrent batches lock endpoint rows in one order.
            for _, (job, outcome) in sorted(health.items()):
                await self._endpoint_health(conn, job, outcome, now)

    async def _endpoint_health(
        self, conn: AsyncConnection, job: dict[str, Any], outcome: Outcome, now: datetime
    ) -> None:
        """Healthy again on a success; disabled on 410 Gone or after failing for too long."""
        eid = job["endpoint_id"]
        if outcome.ok:
            # Only for an endpoint failing when the delivery was claimed: a healthy one costs
            # no statement. (One marked failing since then is healed by a success claimed
            # after the mark, and disabled only if none comes for the whole period.)
            if job["failing_since"] is not None:
                await conn.execute(
                    sa.update(_e)
                    .where(_e.c.id == eid, _e.c.failing_since.is_not(None))
                    .values(failing_since=None)
                )
            return
        await conn.execute(
            sa.update(_e)
            .where(_e.c.id == eid, _e.c.failing_since.is_(None))
            .values(failing_since=now)
        )
        since = (await conn.execute(sa.select(_e.c.failing_since).where(_e.c.id == eid))).scalar()
        limit = timedelta(seconds=self.settings.webhook_disable_after_seconds)
        if outcome.status_code == 410:
            reason = "The endpoint answered 410 Gone."
        elif since is not None and now - since >= limit:
            reason = f"Every attempt failed for {int(limit.total_seconds())} s."
        else:
            return
        disabled = await conn.execute(
            sa.update(_e)
            .where(_e.c.id == eid, _e.c.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason, updated_at=now, version=_e.c.version + 1)
        )
        if disabled.rowcount:
            log.warning("webhook endpoint disabled", extra={"endpoint": eid, "reason": reason})
            disabled_event = Event(
                "app.webhook_disabled",
                EndpointDisabledData(endpoint_id=eid, url=job["url"], reason=reason),
                app_id=job["app_id"],
                resource_id=eid,
                created_at=now,
            )
            await outbox.write(conn, disabled_event)
            await conn.execute(
                sa.insert(tables.audit_log).values(**_disabled_audit(job, eid, reason, now))
            )

    # -- housekeeping ----------------------------------------------------------------------

    async def prune(self) -> dict[str, int]:
        """Finished deliveries, their attempts and dispatched events past the retention."""
        cutoff = utcnow() - timedelta(days=self.settings.webhook_retention_days)
        async with self.engine.begin() as conn:
            done = sa.select(_d.c.id).where(
                _d.c.status != DeliveryStatus.PENDING, _d.c.updated_at < cutoff
            )
            attempts = await conn.execute(sa.delete(_a).where(_a.c.delivery_id.in_(done)))
            deliveries = await conn.execute(
                sa.delete(_d).where(_d.c.status != DeliveryStatus.PENDING, _d.c.updated_at < cutoff)
            )
            pending = sa.select(_d.c.event_id).where(_d.c.status == DeliveryStatus.PENDING)
            events = await conn.execute(
                sa.delete(_o).where(
                    _o.c.dispatched_at.is_not(None),
                    _o.c.created_at < cutoff,
                    _o.c.id.not_in(pending),
                )
            )
        return {
            "webhook_attempts": rowcount(attempts),
            "webhook_deliveries": rowcount(deliveries),
            "outbox_events": rowcount(events),
        }

    async def run_once(self, limit: int = BATCH) -> tuple[int, int]:
        """Fan out and claim in one transaction (fresh events go out without another round
        trip), then send; returns (deliveries made, deliveries sent)."""
        _, made, jobs = await self._fan_out_and_claim(limit, limit)
        return made, await self._deliver(jobs)

    async def _fan_out_and_claim(
        self, limit: int, claim_limit: int
    ) -> tuple[int, int, list[dict[str, Any]]]:
        """(events taken, deliveries made, deliveries claimed), in one transaction."""
        async with self.engine.begin() as conn:
            taken, made = await self._fan_out(conn, limit)
            return taken, made, await self._claim(conn, claim_limit)

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: fan out and claim, and hand each claimed batch to a task that
        sends and records it while the loop claims the next, holding at most
        `IN_FLIGHT_PER_SLOT` claimed deliveries per slot. When there is nothing to do, wait
        for a NOTIFY (PostgreSQL), a batch finishing or the poll interval."""
        wake = asyncio.Event()
        own = self._own_backends

        def opened(dbapi_connection: Any, _record: Any) -> None:
            own.add(dbapi_connection.driver_connection.get_server_pid())

        if self.postgres:
            event.listen(self.engine.sync_engine, "connect", opened)
        listener = await self._listen(wake) if self.postgres else None
        in_flight: dict[asyncio.Task[int], int] = {}  # batch → its deliveries
        room = self.settings.webhook_concurrency * IN_FLIGHT_PER_SLOT

        def finished(task: asyncio.Task[int]) -> None:
            in_flight.pop(task, None)
            wake.set()  # its successors of the same resources may be due now

        try:
            while not stop.is_set():
                wake.clear()
                free = room - sum(in_flight.values())
                if free <= 0:  # full: let a batch finish before fanning out or claiming more
                    await asyncio.wait(list(in_flight), return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    taken, _, jobs = await self._fan_out_and_claim(BATCH, min(BATCH, free))
                except Exception:
                    log.exception("webhook dispatch failed; retrying")
                    taken, jobs = 0, []
                if jobs:
                    task = asyncio.create_task(self._deliver(jobs))
                    in_flight[task] = len(jobs)
                    task.add_done_callback(finished)
                if taken >= BATCH or len(jobs) >= min(BATCH, free):
                    continue  # a full batch: there may be more right now
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
                await asyncio.wait(
                    waiters,
                    timeout=self.settings.webhook_poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for w in waiters:
                    w.cancel()
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            if listener is not None:
                await listener.close()
            if self.postgres:
                event.remove(self.engine.sync_engine, "connect", opened)

    async def _listen(self, wake: asyncio.Event) -> Any:
        """A dedicated connection that LISTENs; None (polling only) if it cannot be opened."""
        import asyncpg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        # The deliveries this worker's own fan-out inserts were claimed in the same
        # transaction: their NOTIFY (sent by one of its own connections) is no news.
        own = self._own_backends

        def heard(_conn: Any, pid: int, _channel: str, table: str) -> None:
            if not (table == _d.name and pid in own):
                wake.set()

        try:
            conn = await asyncpg.connect(url)
            await conn.add_listener(CHANNEL, heard)
        except (OSError, asyncpg.PostgresError):
            log.warning("LISTEN failed; the webhook worker polls instead", exc_info=True)
            return None
        return conn


def _entitled(
    event_type: str, event_app_id: str | None, app_id: str, scopes: frozenset[str] | None
) -> bool:
    """An app's own events reach it; a shop's events reach apps the shop has authorized
    (`scopes`: that grant's, None without one in force) with the topic's read scope."""
    if event_app_id is not None:
        return event_app_id == app_id
    if scopes is None:  # no grant in force (or the event concerns no shop)
        return False
    fam = family(event_type)
    if fam not in FAMILY_SCOPES:  # a family nobody said who may read: nobody
        return False
    needed = FAMILY_SCOPES[fam]
    return needed is None or str(needed) in scopes


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _disabled_audit(job: dict[str, Any], eid: str, reason: str, now: datetime) -> dict[str, Any]:
    from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface

    entry = AuditEntry.record(
        Actor(type=ActorType.SYSTEM, id="system:webhooks", surface=Surface.SYSTEM),
        "webhook_endpoint.disabled",
        target_type="webhook_endpoint",
        target_id=eid,
        shop_id=None,
        after={"app_id": job["app_id"], "url": job["url"], "reason": reason},
    )
    row = {c.name: getattr(entry, c.name) for c in tables.audit_log.columns}
    row["created_at"] = row.get("created_at") or now
    return row
