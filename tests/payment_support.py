"""Helpers for the payment tests: pay an order over HTTP, play the sandbox gateway (its
notification signed with its secret, its timers fired), read what the platform recorded."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.infra.db import tables
from app.infra.payments import sandbox
from app.infra.payments.sandbox import SandboxNotifier
from app.worker.timers import TimerRegistry, TimerRunner, build_registry
from tests import factories as f

CALLBACK = "/callbacks/payments/sandbox"


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"pay-{secrets.token_hex(8)}"}


async def pay(b: f.Buyer, order_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return await b.client.post(
        f"/v1/storefront/orders/{order_id}/payment", headers={**b.h, **(headers or key())}
    )


async def paid_payment(b: f.Buyer, order_id: str) -> dict[str, Any]:
    r = await pay(b, order_id)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def charge(container: Container, shop_id: str, reference: str) -> Any:
    """The sandbox gateway's ledger row of a payment."""
    c = tables.sandbox_charges
    async with container.engine.connect() as conn:
        return (
            await conn.execute(sa.select(c).where(c.c.shop_id == shop_id, c.c.id == reference))
        ).one()


async def notification(container: Container, payment: dict[str, Any]) -> dict[str, Any]:
    """The body the sandbox sends for `payment` (from its ledger), as the gateway builds it."""
    return sandbox.notification(
        await charge(container, payment["shop_id"], payment["gateway_reference"])
    )


async def notify(
    client: httpx.AsyncClient, container: Container, body: dict[str, Any], **headers: str
) -> httpx.Response:
    """Post a notification signed by the sandbox (unless headers are given instead)."""
    raw = json.dumps(body).encode()
    signed = headers or container.sandbox_signer.headers(raw)
    return await client.post(
        CALLBACK, content=raw, headers={"Content-Type": "application/json", **signed}
    )


def sandbox_registry(app: Any, container: Container) -> TimerRegistry:
    """The worker's timer handlers, its sandbox notifier posting to `app` over HTTP (ASGI)."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    notifier = SandboxNotifier("http://testserver", container.keys.sandbox_payment_secret, client)
    return build_registry(sandbox=notifier)


async def fire(container: Container, registry: TimerRegistry, kind: str, key: str) -> int:
    """Make the pending timer `(kind, key)` due now, and run the worker's due timers."""
    t = tables.timers
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.update(t)
            .where(t.c.kind == kind, t.c.key == key, t.c.status == "pending")
            .values(due_at=utcnow() - timedelta(seconds=1))
        )
    runner = TimerRunner(container.uow, registry, lease=timedelta(seconds=30))
    return await runner.run_due()


async def pending_timers(container: Container, *keys: str) -> list[tuple[str, str]]:
    t = tables.timers
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(t.c.kind, t.c.key)
            .where(t.c.key.in_(keys), t.c.status == "pending")
            .order_by(t.c.kind)
        )
        return [(r.kind, r.key) for r in rows]


async def payment_row(container: Container, shop_id: str, payment_id: str) -> Any:
    p = tables.payments
    async with container.engine.connect() as conn:
        return (
            await conn.execute(sa.select(p).where(p.c.shop_id == shop_id, p.c.id == payment_id))
        ).one()


async def events(container: Container, order_id: str) -> list[tuple[str, dict[str, Any]]]:
    o = tables.outbox_events
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(o.c.type, o.c.data).where(o.c.resource_id == order_id).order_by(o.c.id)
        )
        return [(r.type, r.data) for r in rows]


async def stock(container: Container, shop_id: str, sku_id: str) -> int:
    s = tables.skus
    async with container.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(s.c.stock).where(s.c.shop_id == shop_id, s.c.id == sku_id)
                )
            ).scalar_one()
        )


async def open_payment(container: Container, buyer_id: str, order_id: str) -> Any:
    """A payment of the order, made in process (as `POST .../payment` makes it)."""
    from app.domain.orders import payment_services

    async with container.uow() as uow:
        payment = await payment_services.create(
            uow, buyer_id, order_id, query_after=timedelta(minutes=5)
        )
        await uow.commit()
        return payment


async def settle_in_process(container: Container, payment: Any) -> str:
    """The sandbox's notification of `payment`, settled in process; the outcome."""
    from app.domain.orders import payment_services
    from app.domain.orders.payments import ChargeState, GatewayCharge

    row = await charge(container, payment.shop_id, payment.gateway_reference)
    async with container.uow() as uow:
        _, outcome = await payment_services.settle(
            uow,
            payment.shop_id,
            "sandbox",
            GatewayCharge(row.id, ChargeState.PAID, row.amount, row.transaction_id, row.paid_at),
        )
        await uow.commit()
    return outcome.value
