"""A new mapped object is built without attribute history (`mapping._construct_untracked`):
what the ORM does with it afterwards must not change — it is inserted whole with the
objects in its collections, and once persistent its changes are tracked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from app.domain.orders.model import Order, OrderLine, OrderStatus
from app.infra.db import tables
from app.infra.db.mapping import map_domain
from tests.unit.test_order_rules import make_order


@pytest.fixture
def session() -> Iterator[Session]:
    map_domain()
    engine = sa.create_engine("sqlite://")
    tables.orders.create(engine)
    tables.order_lines.create(engine)
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


def test_a_new_order_is_inserted_with_its_lines_and_read_back_whole(session: Session) -> None:
    order = make_order((1, 2))
    assert [x.sku_id for x in order.lines] == ["sku_0", "sku_1"]
    assert order.status is OrderStatus.PENDING_PAYMENT and order.version == 1
    session.add(order)
    session.commit()
    session.expunge_all()

    loaded = session.scalars(
        sa.select(Order).where(Order.id == "order_1").options(selectinload(Order.lines))  # type: ignore[arg-type]
    ).one()
    assert loaded is not order
    assert (loaded.product_total, loaded.freight, loaded.total) == (3_000, 800, 3_800)
    assert loaded.address == order.address
    assert [(x.sku_id, x.quantity, x.snapshot) for x in loaded.lines] == [
        ("sku_0", 1, {"title": "Dress"}),
        ("sku_1", 2, {"title": "Dress"}),
    ]


def test_once_persistent_its_changes_and_new_lines_are_tracked(session: Session) -> None:
    order = make_order((1, 2))
    session.add(order)
    session.commit()

    order.merchant_note = "已备货"
    order.lines.append(
        OrderLine(
            shop_id="shop_1",
            order_id="order_1",
            product_id="prod_2",
            sku_id="sku_9",
            quantity=1,
            unit_price=500,
            snapshot={},
        )
    )
    session.commit()
    assert order.version == 2  # the version column moved: the UPDATE ran
    row = session.execute(
        sa.select(tables.orders.c.merchant_note, tables.orders.c.version).where(
            tables.orders.c.id == "order_1"
        )
    ).one()
    assert tuple(row) == ("已备货", 2)
    skus = session.scalars(
        sa.select(tables.order_lines.c.sku_id).where(tables.order_lines.c.order_id == "order_1")
    ).all()
    assert sorted(skus) == ["sku_0", "sku_1", "sku_9"]
