"""A locked read refreshes what the session loaded before the lock (`app/infra/db/locks.py`):
a change made after it starts from what is committed, not from an earlier, unlocked read of
the same request. PostgreSQL (SQLite takes its write lock at BEGIN: no one commits between)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.container import Container
from app.domain.orders import services as orders
from tests import factories as f
from tests.order_support import on_sale


async def test_a_locked_order_and_its_lines_are_read_afresh(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("row locks: PostgreSQL")
    shop = await on_sale(client, container)
    buyer = await f.user(new_client())
    async with container.uow() as uow:
        order = await orders.place(
            uow,
            shop_id=shop.shop_id,
            buyer_id=buyer.id,
            items=[orders.Item(shop.sku(0), 2)],
            address=orders.Destination("Li Lei", "13800138000", "440305", "1 Keyuan Road"),
            buyer_note=None,
            payment_timeout=timedelta(minutes=30),
        )
        await uow.commit()
    async with container.uow() as first:
        seen = await orders.get_for_buyer(first, buyer.id, order.id)  # unlocked, held
        assert seen.status == orders.OrderStatus.PENDING_PAYMENT
        async with container.uow() as other:  # meanwhile, another request commits
            changed = await orders.get(other, shop.shop_id, order.id, lock=True)
            changed.pay()
            changed.lines[0].aftersale_quantity = 1
            await other.commit()
        again = await orders.get(first, shop.shop_id, order.id, lock=True)
        assert again is seen  # the same object, refreshed
        assert again.status == orders.OrderStatus.AWAITING_SHIPMENT
        assert again.lines[0].aftersale_quantity == 1
