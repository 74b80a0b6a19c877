"""The worker's side of durable timers: a registry of handlers by kind, and the runner that
claims due timers and fires each in the transaction that marks it done.

A handler is `async def handler(uow, timer) -> None`. It runs inside the unit of work that
marks its timer done and is committed with it: it never commits, and if it raises, its
writes and the "done" roll back together and the timer is tried again later (backoff,
attempts counted). A worker killed mid-handler leaves a claimed timer whose lease runs out;
another worker then claims it. So a handler runs to completion at most once, but may be
started again after a crash: everything it does outside the transaction must be idempotent.

An *effect* (`register_effect`) is a call to the outside world that must not run inside a
transaction (an HTTP request to the platform's own API, which on SQLite would wait for the
very lock the firing transaction holds): it runs first, with no transaction open, and the
timer is marked done after it succeeded. It may run again after a crash between the two, so
its receiver must be idempotent (the sandbox's notification is, by transaction id).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta

from app.domain.aftersales import insurance, refunding, settlement
from app.domain.aftersales import services as aftersales
from app.domain.aftersales.settings import AfterSaleTimes
from app.domain.clock import utcnow
from app.domain.logistics import tracking
from app.domain.orders import payment_services as payments
from app.domain.orders import services as orders
from app.domain.timers.model import FIRST_BACKOFF, MAX_ATTEMPTS, Timer, backoff
from app.infra.db.uow import SqlUnitOfWork
from app.infra.payments.sandbox import NOTIFY as SANDBOX_NOTIFY
from app.infra.payments.sandbox import REFUND_NOTIFY as SANDBOX_REFUND_NOTIFY

log = logging.getLogger("minishop.worker.timers")

TimerHandler = Callable[[SqlUnitOfWork, Timer], Awaitable[None]]
TimerEffect = Callable[[Timer], Awaitable[None]]

#: Timers claimed per transaction (each then fires in its own).
CLAIM_BATCH = 20


class TimerRegistry:
    """kind → handler. A worker claims only the kinds it has a handler for, so a worker of an
    older release, running beside a newer one, leaves the new kinds to the new workers."""

    def __init__(self) -> None:
        self._handlers: dict[str, TimerHandler] = {}
        self._effects: dict[str, TimerEffect] = {}

    def register(self, kind: str, handler: TimerHandler) -> None:
        if kind in self.kinds:
            raise ValueError(f"a handler for timer kind {kind!r} is already registered")
        self._handlers[kind] = handler

    def register_effect(self, kind: str, effect: TimerEffect) -> None:
        if kind in self.kinds:
            raise ValueError(f"a handler for timer kind {kind!r} is already registered")
        self._effects[kind] = effect

    def handler(self, kind: str) -> TimerHandler:
        return self._handlers[kind]

    def effect(self, kind: str) -> TimerEffect | None:
        return self._effects.get(kind)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers) | frozenset(self._effects)

    async def close(self) -> None:
        """Close what the effects hold (an HTTP client)."""
        # One effect may serve several kinds (the sandbox's payments and refunds): once each.
        for effect in {id(e): e for e in self._effects.values()}.values():
            close = getattr(effect, "aclose", None)
            if close is not None:
                await close()


async def _close_unpaid(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "an order's timer names its shop"
    await orders.close_unpaid(uow, timer.shop_id, timer.key)


async def _auto_confirm(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "an order's timer names its shop"
    await orders.auto_confirm(uow, timer.shop_id, timer.key)


async def _settle(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "an order's timer names its shop"
    await settlement.settle(uow, timer.shop_id, timer.key)


async def _pay_claim(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "a claim's timer names its shop"
    await insurance.pay_claim(uow, timer.shop_id, timer.key)


async def _query_payment(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "a payment's timer names its shop"
    await payments.check_pending(
        uow, timer.shop_id, timer.key, int(timer.payload.get("attempt", 1))
    )


async def _retry_refund(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "a refund's timer names its shop"
    await refunding.retry(uow, timer.shop_id, timer.key)


async def _aftersale_auto_accept(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "an after-sale's timer names its shop"
    times = AfterSaleTimes.from_json(timer.payload.get("times"))
    await aftersales.auto_accept(uow, timer.shop_id, timer.key, times)


async def _aftersale_close_unreturned(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "an after-sale's timer names its shop"
    await aftersales.close_unreturned(uow, timer.shop_id, timer.key)


async def _aftersale_auto_receive(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "an after-sale's timer names its shop"
    await aftersales.auto_receive(uow, timer.shop_id, timer.key)


async def _track_waybill(uow: SqlUnitOfWork, timer: Timer) -> None:
    assert timer.shop_id is not None, "a waybill's timer names its shop"
    await tracking.poll(uow, timer.shop_id, timer.key)


def build_registry(
    modules: Iterable[str] = (), *, sandbox: TimerEffect | None = None
) -> TimerRegistry:
    """The built-in handlers, then those of `modules`: each module's `register(registry)` is
    called (`MINISHOP_WORKER_TIMER_MODULES`; tests register their kinds that way). `sandbox`:
    the sandbox gateway's notifier (the worker plays the gateway); without it, the sandbox's
    notifications are left to a worker that has one."""
    registry = TimerRegistry()
    registry.register(orders.CLOSE_UNPAID, _close_unpaid)
    registry.register(orders.AUTO_CONFIRM, _auto_confirm)
    registry.register(orders.SETTLE, _settle)
    registry.register(insurance.PAY_CLAIM, _pay_claim)
    registry.register(payments.PAYMENT_QUERY, _query_payment)
    registry.register(refunding.RETRY, _retry_refund)
    registry.register(aftersales.AUTO_ACCEPT, _aftersale_auto_accept)
    registry.register(aftersales.CLOSE_UNRETURNED, _aftersale_close_unreturned)
    registry.register(aftersales.AUTO_RECEIVE, _aftersale_auto_receive)
    registry.register(tracking.TRACK, _track_waybill)
    if sandbox is not None:
        registry.register_effect(SANDBOX_NOTIFY, sandbox)
        registry.register_effect(SANDBOX_REFUND_NOTIFY, sandbox)
    for name in modules:
        importlib.import_module(name).register(registry)
    return registry


class TimerRunner:
    def __init__(
        self,
        uow: Callable[[], SqlUnitOfWork],
        registry: TimerRegistry,
        *,
        lease: timedelta,
        first_backoff: timedelta = FIRST_BACKOFF,
        batch: int = CLAIM_BATCH,
    ) -> None:
        self.uow = uow
        self.registry = registry
        self.lease = lease
        self.first_backoff = first_backoff
        self.batch = batch

    async def claim(self) -> list[Timer]:
        if not self.registry.kinds:
            return []
        async with self.uow() as uow:
            timers = await uow.timers.claim(
                self.registry.kinds, lease_until=utcnow() + self.lease, limit=self.batch
            )
            await uow.commit()
        return timers

    async def run_due(self, stop: asyncio.Event | None = None) -> int:
        """Fire due timers until none is left to claim (or `stop` is set); how many fired.
        Timers claimed but not fired when it stops go back when their lease runs out."""
        fired = 0
        while timers := await self.claim():
            for timer in timers:
                if stop is not None and stop.is_set():
                    return fired
                fired += await self.fire(timer)
            if len(timers) < self.batch:
                break
        return fired

    async def fire(self, timer: Timer) -> bool:
        """Run the timer's handler in the transaction that marks it done; False when it did
        not fire (no longer this worker's claim, or the handler failed)."""
        effect = self.registry.effect(timer.kind)
        try:
            if effect is not None:
                await effect(timer)
            async with self.uow() as uow:
                if not await uow.timers.start_firing(timer):
                    return False  # rescheduled, cancelled or taken over since the claim
                if effect is None:
                    await self.registry.handler(timer.kind)(uow, timer)
                await uow.commit()
        except Exception as e:
            log.exception(
                "timer handler failed",
                extra={"timer": timer.id, "kind": timer.kind, "attempt": timer.attempts},
            )
            await self._retry_later(timer, f"{type(e).__name__}: {e}")
            return False
        return True

    async def _retry_later(self, timer: Timer, error: str) -> None:
        gave_up = timer.attempts >= MAX_ATTEMPTS
        due_at = None if gave_up else utcnow() + backoff(timer.attempts, self.first_backoff)
        try:
            async with self.uow() as uow:
                await uow.timers.retry(timer, due_at=due_at, error=error)
                await uow.commit()
        except Exception:
            # The database itself is failing: the lease runs out and the timer is claimed
            # again, its attempt counted.
            log.exception("could not record the timer's failure", extra={"timer": timer.id})
            return
        if gave_up:
            log.error("timer failed for good", extra={"timer": timer.id, "kind": timer.kind})

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        """Until `stop` is set: fire what is due, then wait `poll_seconds` (or for `stop`)."""
        while not stop.is_set():
            try:
                await self.run_due(stop)
            except Exception:
                # The database is unreachable, say: keep the process, try again next poll.
                log.exception("timers could not be claimed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
