"""The races a payment runs on PostgreSQL (and, serialised, on SQLite): its notification
against the close timer of its order, and against a price change. Each side runs in its own
unit of work, all at once, many times over; every order must end in exactly one of the
allowed states, and the stock must match."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.container import Container
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.errors import DomainError
from app.domain.orders import payment_services as payments
from app.domain.orders import services as orders
from app.domain.orders.payments import ChargeState, GatewayCharge
from tests import factories as f
from tests.order_support import OnSale, buyer_order, on_sale
from tests.payment_support import charge, events, paid_payment, payment_row, stock

SYSTEM = Actor(type=ActorType.SYSTEM, id="system:test", surface=Surface.SYSTEM)


@pytest.fixture
def rounds(is_postgres: bool) -> int:
    return 30 if is_postgres else 5


async def _paying_orders(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient, n: int
) -> tuple[OnSale, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """`n` orders of one unit each, each with a pending payment (charged at the sandbox)."""
    shop = await on_sale(client, container, stock=50)
    b = await f.buyer(new_client())
    made = []
    for _ in range(n):
        order = await buyer_order(b, shop, 1)
        made.append((order, await paid_payment(b, order["id"])))
    return shop, made


async def _notification(container: Container, payment: dict[str, Any]) -> GatewayCharge:
    row = await charge(container, payment["shop_id"], payment["gateway_reference"])
    return GatewayCharge(row.id, ChargeState.PAID, row.amount, row.transaction_id, row.paid_at)


async def _settle(
    container: Container, shop_id: str, notice: GatewayCharge, delay: float = 0.0
) -> None:
    await asyncio.sleep(delay)
    async with container.uow() as uow:
        await payments.settle(uow, shop_id, "sandbox", notice)
        await uow.commit()


async def _close(container: Container, shop_id: str, order_id: str, delay: float = 0.0) -> None:
    await asyncio.sleep(delay)
    async with container.uow() as uow:
        await orders.close_unpaid(uow, shop_id, order_id)
        await uow.commit()


@dataclass
class _Order:
    status: int
    cancel_reason: str | None
    total: int
    freight: int


async def _order(container: Container, shop_id: str, order_id: str) -> _Order:
    async with container.uow() as uow:
        o = await orders.get(uow, shop_id, order_id)
        return _Order(int(o.status), o.cancel_reason, o.total, o.freight)


async def test_notification_against_the_close_timer_ends_paid_or_cancelled_and_refunded(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient, rounds: int
) -> None:
    shop, made = await _paying_orders(client, container, new_client, rounds)
    notices = [await _notification(container, p) for _, p in made]
    assert await stock(container, shop.shop_id, shop.sku(0)) == 50 - rounds
    results = await asyncio.gather(
        *(
            work
            for (order, _), notice in zip(made, notices, strict=True)
            for work in (
                # A few milliseconds either way, at random: each side wins some of the races.
                _close(container, shop.shop_id, order["id"], random.random() * 0.02),
                _settle(container, shop.shop_id, notice, random.random() * 0.02),
            )
        ),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    paid = 0
    for order, payment in made:
        o = await _order(container, shop.shop_id, order["id"])
        row = await payment_row(container, shop.shop_id, payment["id"])
        ledger = await charge(container, shop.shop_id, payment["gateway_reference"])
        kinds = [t for t, _ in await events(container, order["id"])]
        if o.status == 20:
            paid += 1
            assert (row.status, ledger.state) == ("succeeded", "paid")
            assert kinds == ["order.created", "order.paid"], kinds
        else:
            assert (o.status, o.cancel_reason) == (250, "timeout")
            assert (row.status, row.refund_reason) == ("refunded", "order_cancelled")
            assert ledger.state == "refunded"
            assert kinds == ["order.created", "order.cancelled", "payment.refunded"], kinds
    print(f"race: {paid} paid, {len(made) - paid} cancelled and refunded")
    # Released exactly once for each cancelled order, never for a paid one.
    assert await stock(container, shop.shop_id, shop.sku(0)) == 50 - paid


async def test_price_change_against_the_payment_never_pays_another_total(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient, rounds: int
) -> None:
    shop, made = await _paying_orders(client, container, new_client, rounds)
    notices = [await _notification(container, p) for _, p in made]

    async def reprice(order_id: str) -> None:
        await asyncio.sleep(random.random() * 0.02)
        async with container.uow() as uow:
            await orders.reprice(
                uow,
                SYSTEM,
                shop.shop_id,
                order_id,
                unit_prices={},
                freight=999,
                expected_version=None,
            )
            await uow.commit()

    results = await asyncio.gather(
        *(
            work
            for (order, _), notice in zip(made, notices, strict=True)
            for work in (
                reprice(order["id"]),
                _settle(container, shop.shop_id, notice, random.random() * 0.02),
            )
        ),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    # Only a price change can fail: the order was paid first (409 invalid_order_transition).
    assert all(
        isinstance(r, DomainError) and r.code == "invalid_order_transition" for r in refused
    ), refused
    paid = 0
    for order, payment in made:
        o = await _order(container, shop.shop_id, order["id"])
        row = await payment_row(container, shop.shop_id, payment["id"])
        if o.status == 20:
            paid += 1
            assert o.total == payment["amount"] == row.amount, "paid at the total it was shown"
            assert row.status == "succeeded"
        else:
            assert o.status == 10 and o.freight == 999
            assert o.total == payment["amount"] - order["freight"] + 999
            assert (row.status, row.refund_reason) == ("refunded", "total_changed")
    print(f"price race: {paid} paid, {len(made) - paid} re-priced and refunded")
    # Each paid order refused its price change; each re-priced one refunded its payment.
    assert len(refused) == paid
