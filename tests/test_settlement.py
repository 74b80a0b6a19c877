"""Settlement (issue 14, transaction guarantee): `MINISHOP_SETTLEMENT_DELAY_DAYS` after an
order completes — or closes without completing — its settlement timer moves what it holds
from `pending` to `available`, less the platform's fee (half up, once per order), and sends
`order.settled`; an open after-sale holds it back; a refund after it comes out of
`available`."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.container import Container
from app.domain.aftersales import settlement
from app.domain.clock import utcnow
from app.domain.funds.ledger import Account, SettlementTerms
from app.domain.orders import services as orders
from app.infra.db import tables
from app.worker.timers import build_registry
from tests import factories as f
from tests.aftersale_support import Sale, sale_with_freight
from tests.aftersale_support import sale as sale
from tests.funds_support import check_books
from tests.payment_support import fire


async def _timer(container: Container, order_id: str) -> Any:
    t = tables.timers
    async with container.engine.connect() as conn:
        return (
            await conn.execute(sa.select(t).where(t.c.kind == orders.SETTLE, t.c.key == order_id))
        ).one_or_none()


async def _received(sale: Sale) -> dict[str, Any]:
    await sale.ship()
    r = await sale.b.client.post(f"/v1/storefront/orders/{sale.id}/receipt", headers=sale.b.h)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _settle(sale: Sale) -> int:
    registry = build_registry()
    try:
        return await fire(sale.container, registry, orders.SETTLE, sale.id)
    finally:
        await registry.close()


async def test_a_completed_order_is_settled_after_the_delay_less_the_fee(sale: Sale) -> None:
    completed = await _received(sale)
    timer = await _timer(sale.container, sale.id)
    assert timer.status == "pending"
    done_at = datetime.fromisoformat(completed["completed_at"].replace("Z", "+00:00"))
    assert abs(timer.due_at - (done_at + timedelta(days=7))) < timedelta(seconds=1)
    assert (await sale.shop.p.get("/v1/funds")).json()["pending"] == 25000

    assert await _settle(sale) >= 1
    # 0.6 % of 25 000 fen: 150 to the platform, 24 850 the shop's.
    books = await check_books(sale.container, sale.shop.shop_id)
    assert (books[Account.PENDING], books[Account.AVAILABLE], books[Account.PLATFORM_FEE]) == (
        0,
        24850,
        150,
    )
    funds = (await sale.shop.p.get("/v1/funds")).json()
    assert (funds["pending"], funds["available"], funds["platform_fee"]) == (0, 24850, 150)
    order = await sale.provider_order()
    assert order["settled_at"] is not None
    assert order["timeline"][-1]["event"] == "settled"
    settled = [d for t, d in await sale.events() if t == "order.settled"]
    assert len(settled) == 1
    assert (settled[0]["settled_amount"], settled[0]["platform_fee"]) == (24850, 150)

    # Settled once: the timer again (a worker's retry, say) changes nothing.
    before = await f.fingerprint(sale.container, sale.shop.shop_id)
    async with sale.container.uow() as uow:
        assert not await settlement.settle(uow, sale.shop.shop_id, sale.id)
        await uow.commit()
    assert await f.fingerprint(sale.container, sale.shop.shop_id) == before

    # A refund after settlement comes out of `available` (the fee stays the platform's).
    await sale.refunded(1)
    books = await check_books(sale.container, sale.shop.shop_id)
    assert (books[Account.PENDING], books[Account.AVAILABLE], books[Account.REFUNDED]) == (
        0,
        24850 - 5000,
        5000,
    )


async def test_an_open_aftersale_holds_the_money_until_it_ends(sale: Sale) -> None:
    await _received(sale)
    asked = await sale.ask(
        type="refund", reason="other", lines=[{"line_id": sale.line(0), "quantity": 1}]
    )
    assert asked.status_code == 201, asked.text
    assert await _settle(sale) >= 1
    order = await sale.provider_order()
    assert order["settled_at"] is None
    assert (await sale.shop.p.get("/v1/funds")).json()["pending"] == 25000
    timer = await _timer(sale.container, sale.id)
    assert timer.status == "pending"  # looked at again a day later
    assert timer.due_at > utcnow() + timedelta(hours=23)

    r = await sale.shop.p.post(
        f"/v1/aftersales/{asked.json()['id']}/rejection", {"reason": "Used."}
    )
    assert r.status_code == 200, r.text
    assert await _settle(sale) >= 1
    funds = (await sale.shop.p.get("/v1/funds")).json()
    assert (funds["pending"], funds["available"], funds["platform_fee"]) == (0, 24850, 150)
    await check_books(sale.container, sale.shop.shop_id)


async def test_an_order_closed_by_refunds_is_settled_what_it_kept(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    """Every unit refunded after it shipped: the order closes (200) and keeps its freight
    (refundable only before anything shipped); that is settled from its closing."""
    b = await f.buyer(new_client())
    one = await sale_with_freight(client, container, b)
    shop = one.shop
    await one.ship()
    for line, units in ((0, 2), (1, 1)):
        for _ in range(units):
            await one.refunded(line)
    order = await one.provider_order()
    assert order["status"] == 200 and order["completed_at"] is None
    assert (await _timer(container, one.id)).status == "pending"
    assert await _settle(one) >= 1
    # 800 fen kept: 0.6 % is 4.8 → 5 fen.
    books = await check_books(container, shop.shop_id)
    assert (books[Account.PENDING], books[Account.AVAILABLE], books[Account.PLATFORM_FEE]) == (
        0,
        795,
        5,
    )
    assert (await one.provider_order())["settled_at"] is not None


@pytest.mark.parametrize(
    ("amount", "fee"),
    [(25000, 150), (12345, 74), (12375, 74), (12417, 75), (83, 0), (84, 1), (0, 0), (-500, 0)],
)
def test_the_fee_is_rounded_half_up_per_order(amount: int, fee: int) -> None:
    assert SettlementTerms().fee(amount) == fee


@given(amount=st.integers(0, 10**12), bps=st.integers(0, 9999))
def test_the_fee_is_the_nearest_fen_halves_up(amount: int, bps: int) -> None:
    rate = Decimal(bps) / 10000
    fee = SettlementTerms(fee_rate=rate).fee(amount)
    exact = Decimal(amount) * rate
    assert 0 <= fee <= amount
    assert fee - Decimal("0.5") <= exact < fee + Decimal("0.5")  # a half goes up
