"""Order events carry a per-order `sequence` (1, 2, 3… in commit order, no gaps), and the
worker never lets a later number reach an endpoint before an earlier one.

There is no order API yet, so the events are written as the orders module will write them:
`uow.outbox.add_in_sequence(Event("order.…", payload, resource_id=order_id))`, in the
transaction of the change, with `order.updated` catalogued for these tests only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.clock import utcnow
from app.domain.events.catalog import CATALOG, EventType, SequencedPayload
from app.domain.events.model import Event
from app.domain.ids import new_id
from app.infra.db import tables
from app.infra.webhooks.dispatcher import Dispatcher
from tests.event_support import product_updated
from tests.oauth_support import authorized
from tests.webhook_support import drain, receiver, subscribe

_o = tables.outbox_events


class OrderData(SequencedPayload):
    order_id: str
    step: str | None = None


@pytest.fixture(autouse=True)
def _order_events_catalogued(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = EventType("order.updated", "An order changed (tests only).", OrderData)
    monkeypatch.setitem(CATALOG, spec.name, spec)


def _order_event(
    order_id: str, shop_id: str = "shop_x", step: str | None = None, **kw: Any
) -> Event:
    data = OrderData(shop_id=shop_id, order_id=order_id, **({"step": step} if step else {}))
    return Event("order.updated", data, resource_id=order_id, **kw)


async def _numbered(uow: Any, event: Event) -> int:
    """Write the event and send it (on PostgreSQL it is deferred until the unit of work next
    sends something): the number it took."""
    await uow.outbox.add_in_sequence(event)
    await uow.flush()
    assert event.sequence is not None and event.data["sequence"] == event.sequence
    return event.sequence


async def _change(
    container: Container, order_id: str, shop_id: str = "shop_x", hold: float = 0.0
) -> int:
    """One change of the order in its own transaction; `hold` keeps the number a moment
    before committing, as a real change would."""
    async with container.uow() as uow:
        number = await _numbered(uow, _order_event(order_id, shop_id=shop_id))
        await asyncio.sleep(hold)
        await uow.commit()
        return number


async def _numbers(container: Container, order_id: str) -> list[tuple[int, int]]:
    """(column, data.sequence) of the order's events, by number."""
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(_o.c.sequence, _o.c.data)
            .where(_o.c.resource_id == order_id)
            .order_by(_o.c.sequence)
        )
        return [(r.sequence, r.data["sequence"]) for r in rows]


async def test_concurrent_changes_of_one_order_are_numbered_one_to_n(
    container: Container,
) -> None:
    order_a, order_b = new_id("order"), new_id("order")
    got = await asyncio.gather(
        *(_change(container, order_a, hold=0.005) for _ in range(12)),
        _change(container, order_b, hold=0.005),
    )
    assert sorted(got[:12]) == list(range(1, 13))
    assert got[12] == 1  # every order counts on its own
    assert await _numbers(container, order_a) == [(n, n) for n in range(1, 13)]
    assert await _numbers(container, order_b) == [(1, 1)]


async def _until_blocked(container: Container, sent: asyncio.Event) -> None:
    """Until the second change has sent its statement (SQLite: seen by SQLAlchemy; it shows
    no waiter, its busy handler retries inside the driver's thread) or, on PostgreSQL (where
    the writer sends it through the driver), waits on a lock."""
    async with asyncio.timeout(60):
        if container.engine.dialect.name != "postgresql":
            await sent.wait()
            return
        probe = sa.text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        while True:
            async with container.engine.connect() as conn:
                if (await conn.execute(probe)).scalar_one():
                    return
            await asyncio.sleep(0.02)


async def test_a_number_is_held_until_its_transaction_ends_so_it_follows_commit_order(
    container: Container,
) -> None:
    order_id = new_id("order")
    first = container.uow()
    await first.__aenter__()
    sent = asyncio.Event()

    def statement(*_: object) -> None:
        sent.set()  # the first change has run its statement: this one is the second's

    try:
        assert await _numbered(first, _order_event(order_id)) == 1
        sa.event.listen(container.engine.sync_engine, "before_cursor_execute", statement)
        try:
            waiting = asyncio.create_task(_change(container, order_id))
            await _until_blocked(container, sent)
        finally:
            sa.event.remove(container.engine.sync_engine, "before_cursor_execute", statement)
        # Blocked behind the first change's open transaction, however long it is given.
        done, _ = await asyncio.wait({waiting}, timeout=0.2)
        assert not done
        await first.commit()
    finally:
        await first.__aexit__(None, None, None)
    assert await asyncio.wait_for(waiting, 10) == 2


async def test_a_rolled_back_change_leaves_no_gap(container: Container) -> None:
    order_id = new_id("order")
    async with container.uow() as uow:
        assert await _numbered(uow, _order_event(order_id, step="kept")) == 1
        with pytest.raises(RuntimeError):
            async with uow.savepoint():
                await uow.outbox.add_in_sequence(_order_event(order_id, step="undone"))
                raise RuntimeError("the batch item failed")
        assert await _numbered(uow, _order_event(order_id, step="kept")) == 2
        await uow.commit()
    async with container.uow() as uow:
        await uow.outbox.add_in_sequence(_order_event(order_id, step="abandoned"))
        await uow.rollback()
    async with container.uow() as uow:
        assert await _numbered(uow, _order_event(order_id)) == 3
        await uow.commit()
    assert await _numbers(container, order_id) == [(1, 1), (2, 2), (3, 3)]


async def test_order_events_cannot_skip_their_number(container: Container) -> None:
    async with container.uow() as uow:
        with pytest.raises(ValueError, match="sequenced"):
            await uow.outbox.add(_order_event(new_id("order")))
        with pytest.raises(ValueError, match="not a sequenced"):
            await uow.outbox.add_in_sequence(product_updated("shop_x", "prod_x"))


async def test_order_events_reach_the_receiver_in_sequence(
    client: httpx.AsyncClient, container: Container
) -> None:
    """The first event of order A fails once; A's later events wait for it; order B's event,
    written while A's first is being retried, does not wait."""
    auth = await authorized(client)
    shop_id = auth.shop["id"]
    order_a, order_b = new_id("order"), new_id("order")
    with receiver(statuses=[500]) as rx:
        endpoint = await subscribe(client, auth.app, rx.url, ["order.*"])
        await drain(container)  # the app's own earlier events
        for _ in range(3):
            await _change(container, order_a, shop_id)
        dispatcher = Dispatcher(container.engine, container.cipher, container.settings)
        try:
            assert await dispatcher.run_once() == (3, 1)  # A's first only, answered 500
        finally:
            await dispatcher.close()
        await _change(container, order_b, shop_id)
        await drain(container)
        got = rx.verified(endpoint["secret"])
    sent = [(b["data"]["order_id"], b["data"]["sequence"]) for b in got]
    assert [n for order, n in sent if order == order_a] == [1, 1, 2, 3]
    assert [n for order, n in sent if order == order_b] == [1]
    assert sent.index((order_b, 1)) < sent.index((order_a, 2))


async def test_a_higher_number_with_an_older_id_waits_for_the_lower_number(
    client: httpx.AsyncClient, container: Container
) -> None:
    """Event ids made in two processes need not follow commit order: the event numbered 2 may
    sort first. Fanned out first, it still waits until number 1 is fanned out and sent."""
    auth = await authorized(client)
    order_id = new_id("order")
    second_id, first_id = new_id("evt"), new_id("evt")  # the id of number 2 sorts first
    with receiver() as rx:
        await subscribe(client, auth.app, rx.url, ["order.*"])
        await drain(container)  # nothing else waiting to be fanned out
        now = utcnow() + timedelta(seconds=1)  # after the endpoint was created
        async with container.uow() as uow:
            for event_id, number in ((first_id, 1), (second_id, 2)):
                event = _order_event(order_id, auth.shop["id"], id=event_id, created_at=now)
                assert await _numbered(uow, event) == number
            await uow.commit()
        dispatcher = Dispatcher(container.engine, container.cipher, container.settings)
        try:
            assert await dispatcher.fan_out(limit=1) == 1  # number 2 only
            assert await dispatcher.deliver_due() == 0  # number 1 is not fanned out yet
            assert await dispatcher.fan_out() == 1
            assert await dispatcher.deliver_due() == 1  # number 1; number 2 waits for it
            assert await dispatcher.deliver_due() == 1
        finally:
            await dispatcher.close()
    assert [r.json["data"]["sequence"] for r in rx.received] == [1, 2]
