"""The outbox guard and the catalogue check of `tests/outbox_plugin.py`: what they accept,
and that they catch what they are for.

The guard runs in every test of the suite; here it is shown seeing the writer's statements in
representative flows (single events, a bulk import's many, the webhook worker's own), and
catching the ways around the writer: a Core INSERT, a COPY (the ORM cannot write an `Event`:
it is not mapped).
"""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import UnmappedInstanceError

from app.container import Container
from app.domain.events.catalog import CATALOG
from app.domain.events.model import Event
from app.infra.db import tables
from app.infra.db.outbox import OUTBOX_WRITER_TAG
from app.infra.db.rows import insert_rows
from tests import factories as f
from tests.bulk_support import NDJSON, imported, line, to_jsonl
from tests.event_support import product_updated
from tests.order_support import on_sale, place
from tests.outbox_plugin import check_event, expected_bypasses, outbox_insert, problems, recorder
from tests.product_support import provider, sku

_o = tables.outbox_events


def test_the_parser_tells_the_writer_from_other_inserts() -> None:
    assert outbox_insert(f"INSERT {OUTBOX_WRITER_TAG} INTO outbox_events (id) VALUES (?)") == (
        "tagged"
    )
    assert outbox_insert("INSERT INTO outbox_events (id, type) VALUES ($1, $2)") == "untagged"
    assert outbox_insert('INSERT INTO "outbox_events" (id) SELECT id FROM x') == "untagged"
    assert outbox_insert("INSERT OR IGNORE INTO outbox_events (id) VALUES (?)") == "untagged"
    assert outbox_insert("INSERT /* other */ INTO outbox_events(id) VALUES (?)") == "untagged"
    # Not inserts into the outbox.
    assert outbox_insert("UPDATE outbox_events SET dispatched_at=? WHERE id = ?") is None
    assert outbox_insert("INSERT INTO outbox_events_archive (id) VALUES (?)") is None
    assert outbox_insert("SELECT * FROM outbox_events") is None


def test_the_catalogue_check_names_what_is_wrong() -> None:
    good = product_updated("shop_a", "prod_a")
    assert check_event(good.type, good.shop_id, good.data) is None
    assert "not in the event catalogue" in str(check_event("product.renamed", "shop_a", {}))
    wrong = {**good.data, "colour": "red"}
    assert "does not match ProductEventData" in str(check_event(good.type, "shop_a", wrong))
    missing = {k: v for k, v in good.data.items() if k != "status"}
    assert "does not match" in str(check_event(good.type, "shop_a", missing))
    assert "is not data.shop_id" in str(check_event(good.type, "shop_b", good.data))
    # A subset run validates what it saw; the whole suite must also emit every type.
    assert problems({"product.updated"}, ["x: wrong"], whole_suite=False) == ["x: wrong"]
    missed = problems({"product.updated"}, [], whole_suite=True)
    assert len(missed) == len(CATALOG) - 1
    assert "app.authorized: catalogued but never emitted by the suite" in missed
    assert problems(set(CATALOG), [], whole_suite=True) == []


def test_an_event_is_built_only_from_its_catalogued_payload() -> None:
    data = product_updated("shop_a", "prod_a")
    ping = CATALOG["webhook.ping"].payload(endpoint_id="we_1", app_id="app_1")
    with pytest.raises(TypeError, match="carries PingData, not ProductEventData"):
        Event("webhook.ping", CATALOG["product.listed"].payload.model_validate(data.data))
    with pytest.raises(ValueError, match="not in the event catalogue"):
        Event("product.renamed", ping)
    with pytest.raises(ValueError, match="colour"):
        CATALOG["webhook.ping"].payload.model_validate({**ping.model_dump(), "colour": "red"})
    assert Event("webhook.ping", ping).shop_id is None
    assert data.shop_id == data.data["shop_id"] == "shop_a"


async def test_the_writer_is_seen_in_every_flow(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    p = await provider(client)
    before = recorder.by_writer
    product = await p.create(
        out_product_id="og-1", skus=[sku(out_sku_id="og-1-m", stock=9, low_stock_threshold=5)]
    )
    r = await client.patch(
        f"/v1/products/{product['id']}", json={"title": "Outbox guard"}, headers=p.h
    )
    assert r.status_code == 200, r.text
    rows = [line("og-1", out_sku_id="og-1-m", price=1200, stock=2)]
    job = await imported(p, container, to_jsonl(rows), NDJSON)
    assert (job["succeeded"], job["failed"]) == (1, 0)
    # The PATCH's event, and the import's chunk (a statement or a COPY).
    assert recorder.by_writer - before >= 2
    assert {"product.updated", "product.stock_low"} <= recorder.seen
    # A sequenced event (through the driver on PostgreSQL): an order placed.
    before = recorder.by_writer
    recorder.seen.discard("order.created")
    shop = await on_sale(client, container)
    buyer = await f.buyer(new_client())
    await f.buyer_address(buyer)
    assert (await place(buyer, shop, 1)).status_code == 201
    assert recorder.by_writer - before >= 1 and "order.created" in recorder.seen
    assert recorder.bypasses == []


async def test_the_guard_catches_a_write_around_the_writer(
    container: Container, is_postgres: bool
) -> None:
    event = product_updated("shop_guard", "prod_guard")
    row = {c.key: getattr(event, c.key) for c in _o.columns}
    with expected_bypasses() as caught:
        async with container.uow() as uow:
            await uow.session.execute(sa.insert(_o), [row | {"id": "evt_guard_core"}])
            # The ORM cannot write one at all: events are not mapped, only the writer inserts.
            with pytest.raises(UnmappedInstanceError):
                uow.session.add(product_updated("shop_guard", "prod_guard"))
            if is_postgres:
                conn = await uow.session.connection()
                await insert_rows(conn, _o, [row | {"id": "evt_guard_copy"}])
                # Straight through the driver, as the hot paths write: seen there too.
                assert uow.driver is not None
                await uow.driver.write(
                    "INSERT INTO outbox_events (id, type, shop_id, data, created_at) "
                    "VALUES ($1, $2, $3, $4::text::jsonb, $5)",
                    "evt_guard_driver",
                    event.type,
                    event.shop_id,
                    "{}",
                    event.created_at,
                )
            await uow.rollback()
    assert len(caught) == (3 if is_postgres else 1), caught
    assert all("outbox_events" in c for c in caught)
