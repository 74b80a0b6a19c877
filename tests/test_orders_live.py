"""Orders against the real server process on loopback (issue 13, Reliability and Events):
200 buyers racing for 50 units over real connections (PostgreSQL), and one order followed from
creation to completion, its events delivered by a real `minishop worker` to a receiver that
verifies each one with the `standardwebhooks` library."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.engine import make_url

from app.container import build_container
from app.domain.clock import utcnow
from app.domain.orders import services as orders
from app.infra.db import tables
from app.settings import Settings
from tests import factories as f
from tests.live_server import PG_URL, REPO, LiveServer, live_server, venv_python
from tests.logistics_support import account_body, address_body
from tests.order_support import key
from tests.product_support import Provider, listed, provider, sku
from tests.webhook_support import receiver, subscribe

pytestmark = pytest.mark.slow

BUYERS = 200
UNITS = 50


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {
        # Every buyer signs up and logs in from 127.0.0.1: the per-address counters would
        # otherwise refuse all but the first few.
        "MINISHOP_REGISTRATIONS_PER_IP": "1000",
        "MINISHOP_LOGIN_ATTEMPTS_PER_IP": "1000",
        # The receiver listens on loopback, on a port of the kernel's choosing.
        "MINISHOP_WEBHOOK_ALLOW_PRIVATE": "true",
        "MINISHOP_WEBHOOK_ALLOWED_PORTS": "1024-65535",
        # An order is settled as soon as it is done: the worker does it within the test.
        "MINISHOP_SETTLEMENT_DELAY_DAYS": "0",
        # The worker asks the carrier where e-waybills' parcels are every second.
        "MINISHOP_TRACKING_POLL_SECONDS": "1",
    }
    with live_server(tmp_path_factory, settings) as s:
        yield s


async def _operator(server: LiveServer) -> f.User:
    """The seed's platform operator, logged in over HTTP (it approves products)."""
    op = server.demo["operator"]
    client = httpx.AsyncClient(base_url=server.base_url, timeout=60)
    csrf = await f.login(client, username=op["username"], password=op["password"])
    return f.User(client, op["account_id"], op["username"], op["password"], csrf)


async def _on_sale(
    server: LiveServer, client: httpx.AsyncClient, stock: int
) -> tuple[Provider, str]:
    """A provider's shop with one listed product of one SKU; the SKU's id."""
    p = await provider(client)
    product = await p.create(skus=[sku(sale_attrs={"size": "M"}, price=9900, stock=stock)])
    await listed(p, await _operator(server), product["id"])
    return p, str(product["skus"][0]["id"])


async def _buyer(client: httpx.AsyncClient) -> f.Buyer:
    """Signed up, logged in through the storefront's token endpoint, with a default address."""
    account = await f.register(client, username=f"b{secrets.token_hex(6)}")
    tokens = await f.buyer_token(client, username=account["username"])
    b = f.Buyer(
        client, account["id"], account["username"], tokens["access_token"], tokens["refresh_token"]
    )
    await f.buyer_address(b)
    return b


async def _buyers(client: httpx.AsyncClient, n: int) -> list[f.Buyer]:
    # A few at a time: each sign-up and login hashes a password, and the server lets two
    # hashes run at once (a caller waiting more than a few seconds for a slot gets a 503).
    slots = asyncio.Semaphore(4)

    async def one() -> f.Buyer:
        async with slots:
            return await _buyer(client)

    return list(await asyncio.gather(*(one() for _ in range(n))))


def _dsn(server: LiveServer) -> str:
    u = make_url(server.env["MINISHOP_DATABASE_URL"])
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


async def test_200_buyers_racing_for_50_units_get_exactly_50_orders(server: LiveServer) -> None:
    if not PG_URL:
        pytest.skip(
            "the race needs concurrent transactions on several connections (PostgreSQL): "
            "SQLite runs one writer at a time, so nothing races"
        )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        p, sku_id = await _on_sale(server, client, UNITS)
        buyers = await _buyers(client, BUYERS)
    # A connection per buyer (not opened ahead: the server would close any left idle for its
    # keep-alive timeout while the test process, on a busy machine, is still sending).
    limits = httpx.Limits(max_connections=BUYERS, max_keepalive_connections=BUYERS)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as race:
        start = asyncio.Event()

        async def place(b: f.Buyer) -> httpx.Response:
            await start.wait()
            return await race.post(
                "/v1/storefront/orders",
                json={"shop_id": p.shop_id, "items": [{"sku_id": sku_id, "quantity": 1}]},
                headers={**b.h, **key()},
            )

        tasks = [asyncio.create_task(place(b)) for b in buyers]
        await asyncio.sleep(0)
        start.set()
        settled = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [repr(x) for x in settled if isinstance(x, BaseException)]
    assert not failed, failed[:5]
    answers = [x for x in settled if isinstance(x, httpx.Response)]

    outcomes = Counter((r.status_code, r.json().get("code")) for r in answers)
    assert outcomes == {(201, None): UNITS, (409, "out_of_stock"): BUYERS - UNITS}, outcomes
    refused = [r.json() for r in answers if r.status_code == 409]
    assert all(x["sku_id"] == sku_id and x["available"] == 0 for x in refused), refused[:3]
    placed = [r.json() for r in answers if r.status_code == 201]
    assert len({o["buyer_id"] for o in placed}) == UNITS, "one order per winning buyer"

    # What the provider sees: the SKU sold out, exactly the 50 orders.
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        p.client = client
        product = await p.get(f"/v1/products/{placed[0]['lines'][0]['product_id']}")
        assert product.json()["skus"][0]["stock"] == 0
        listed_ids = {o["id"] for o in (await p.get("/v1/orders", limit=100)).json()["data"]}
    assert listed_ids == {o["id"] for o in placed}
    # And in the database: every unit is either in stock or on an order line (nothing lost,
    # nothing sold twice); the CHECK on `skus.stock` never let it go below zero.
    conn = await asyncpg.connect(_dsn(server))
    try:
        stock = await conn.fetchval("SELECT stock FROM skus WHERE id = $1", sku_id)
        lines = await conn.fetchrow(
            "SELECT count(*) AS n, sum(quantity) AS units FROM order_lines WHERE sku_id = $1",
            sku_id,
        )
    finally:
        await conn.close()
    assert (stock, lines["n"], lines["units"]) == (0, UNITS, UNITS)


@contextmanager
def _worker(server: LiveServer) -> Iterator[subprocess.Popen[bytes]]:
    """`minishop worker` on the server's database, as `make run --with-worker` runs it."""
    env = {
        **server.env,
        "MINISHOP_WEBHOOK_POLL_SECONDS": "0.2",  # SQLite polls; PostgreSQL is woken by NOTIFY
        "MINISHOP_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [venv_python(), "-m", "app", "worker"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


async def _carrier_clock(server: LiveServer, shop_id: str, hours: float) -> None:
    """The sandbox carrier's clock: the shop's parcels were handed over `hours` ago."""
    settings = Settings(
        env="development",
        database_url=server.env["MINISHOP_DATABASE_URL"],
        var_dir=server.var_dir,
        public_base_url=server.base_url,
    )
    container = build_container(settings)
    sw = tables.sandbox_waybills
    try:
        async with container.engine.begin() as conn:
            await conn.execute(
                sa.update(sw)
                .where(sw.c.shop_id == shop_id)
                .values(created_at=utcnow() - timedelta(hours=hours))
            )
    finally:
        await container.close()


async def _pay(server: LiveServer, shop_id: str, order_id: str) -> None:
    """Payment is not built yet (the payments branch adds `POST .../payment` and the gateway's
    notification): until it lands, the domain transition it will make, in a unit of work
    against the server's database, as tests/test_orders_provider.py pays. It writes no event,
    so `order.paid` is not in the sequence below yet."""
    settings = Settings(
        env="development",
        database_url=server.env["MINISHOP_DATABASE_URL"],
        var_dir=server.var_dir,
        public_base_url=server.base_url,
    )
    container = build_container(settings)
    try:
        async with container.uow() as uow:
            (await orders.get(uow, shop_id, order_id, lock=True)).pay()
            await uow.commit()
    finally:
        await container.close()


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_one_order_from_creation_to_completion_reaches_the_provider_in_sequence(
    server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        p, sku_id = await _on_sale(server, client, 5)
        b = await _buyer(client)
        with receiver() as rx, _worker(server) as worker:
            endpoint = await subscribe(client, p.auth.app, rx.url, ["order.*"])
            r = await b.client.post(
                "/v1/storefront/orders",
                json={"shop_id": p.shop_id, "items": [{"sku_id": sku_id, "quantity": 2}]},
                headers={**b.h, **key()},
            )
            assert r.status_code == 201, r.text
            order_id = r.json()["id"]
            await _pay(server, p.shop_id, order_id)
            shipped = await p.post(
                f"/v1/orders/{order_id}/shipments",
                {"carrier": "SF", "waybill_no": "SF1234567890123"},
            )
            assert shipped.status_code == 201, shipped.text
            done = await b.client.post(f"/v1/storefront/orders/{order_id}/receipt", headers=b.h)
            assert done.status_code == 200 and done.json()["status"] == 100, done.text
            await _until(lambda: len(rx.received) >= 5 or worker.poll() is not None, 60, "5")
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            await asyncio.sleep(0.3)  # anything sent twice, or an event too many, arrives now
    # Each delivery checked as the provider checks it, in the order it arrived.
    bodies = rx.verified(endpoint["secret"])
    assert [(x["type"], x["data"]["sequence"]) for x in bodies] == [
        ("order.created", 1),
        ("order.shipped", 2),
        ("order.received", 3),
        ("order.completed", 4),
        ("order.settled", 5),  # by the worker's settlement timer (no delay here)
    ]
    assert {x["data"]["order_id"] for x in bodies} == {order_id}
    assert {x["data"]["shop_id"] for x in bodies} == {p.shop_id}
    assert [x["data"]["status"] for x in bodies] == [10, 30, 100, 100, 100]
    assert bodies[1]["data"]["shipment_id"] == shipped.json()["id"]
    assert bodies[2]["data"]["received_by"] == "buyer"
    # (Paid by hand above, past the books: nothing held, nothing settled but the status.)
    assert (bodies[4]["data"]["settled_amount"], bodies[4]["data"]["platform_fee"]) == (0, 0)
    assert len({r.headers["webhook-id"] for r in rx.received}) == 5


async def test_a_return_end_to_end_with_a_real_worker_playing_the_gateway(
    server: LiveServer,
) -> None:
    """Issue 14: a paid order of a shop that insures its orders, shipped; the buyer asks for
    a return of everything, the provider accepts it with an address, the buyer sends the
    goods back, the provider confirms them; the refund goes through the sandbox gateway,
    whose notifications (the payment's and the refund's) a real worker sends to the
    platform; the order closes, the worker pays the buyer's shipping insurance claim and
    settles the order (what it kept: nothing, less the premium the shop paid). The provider
    receives every event of the order, numbered, signed (checked with `standardwebhooks`)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        p, sku_id = await _on_sale(server, client, 5)
        b = await _buyer(client)
        with receiver() as rx, _worker(server) as worker:
            endpoint = await subscribe(
                client, p.auth.app, rx.url, ["order.*", "payment.*", "aftersale.*", "insurance.*"]
            )
            insured = await client.put(
                "/v1/aftersales/settings",
                json={"shipping_insurance": True},
                headers=p.h,
            )
            assert insured.status_code == 200, insured.text
            r = await b.client.post(
                "/v1/storefront/orders",
                json={"shop_id": p.shop_id, "items": [{"sku_id": sku_id, "quantity": 2}]},
                headers={**b.h, **key()},
            )
            assert r.status_code == 201, r.text
            order = r.json()
            paid = await b.client.post(
                f"/v1/storefront/orders/{order['id']}/payment", headers={**b.h, **key()}
            )
            assert paid.status_code == 201, paid.text

            async def order_status() -> int:
                got = await p.get(f"/v1/orders/{order['id']}")
                return int(got.json()["status"])

            deadline = time.monotonic() + 60
            while await order_status() != 20:  # the worker delivers the sandbox's notice
                assert time.monotonic() < deadline, "the payment's notification never came"
                assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
                await asyncio.sleep(0.1)
            shipped = await p.post(
                f"/v1/orders/{order['id']}/shipments",
                {"carrier": "SF", "waybill_no": "SF1234567890123"},
            )
            assert shipped.status_code == 201, shipped.text
            asked = await b.client.post(
                f"/v1/storefront/orders/{order['id']}/aftersales",
                json={
                    "type": "return_refund",
                    "reason": "wrong_item",
                    "lines": [{"line_id": order["lines"][0]["id"], "quantity": 2}],
                },
                headers=b.h,
            )
            assert asked.status_code == 201, asked.text
            afs = asked.json()["id"]
            r = await p.post(
                f"/v1/aftersales/{afs}/acceptance",
                {
                    "return_address": {
                        "recipient": "售后部",
                        "phone": "13800138000",
                        "region_code": "440305",
                        "detail": "1 Keyuan Road",
                    }
                },
            )
            assert r.status_code == 200, r.text
            r = await b.client.post(
                f"/v1/storefront/aftersales/{afs}/return-shipment",
                json={"carrier": "SF", "waybill_no": "SF9876543210987"},
                headers=b.h,
            )
            assert r.status_code == 200, r.text
            r = await p.post(f"/v1/aftersales/{afs}/return-receipt")
            assert r.status_code == 200 and r.json()["status"] == "platform_refunding", r.text
            deadline = time.monotonic() + 60
            while await order_status() != 200:  # the worker delivers the refund's notice
                assert time.monotonic() < deadline, "the refund's notification never came"
                assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
                await asyncio.sleep(0.1)
            assert (await p.get(f"/v1/aftersales/{afs}")).json()["status"] == "refunded"
            await _until(lambda: len(rx.received) >= 11, 60, "11 deliveries")
            await asyncio.sleep(0.3)  # anything sent twice, or an event too many, arrives now
            got = (await p.get(f"/v1/orders/{order['id']}")).json()
            funds = (await p.get("/v1/funds")).json()
    bodies = rx.verified(endpoint["secret"])
    sequence = [(x["type"], x["data"]["sequence"]) for x in bodies]
    assert sequence[:9] == [
        ("order.created", 1),
        ("order.paid", 2),
        ("order.shipped", 3),
        ("aftersale.created", 4),
        ("aftersale.updated", 5),
        ("aftersale.updated", 6),
        ("aftersale.updated", 7),
        ("aftersale.refunded", 8),
        ("order.closed", 9),
    ]
    # Then, by the worker's two timers, each in its own transaction: the claim paid and the
    # order settled, numbered in the order they committed.
    assert {t for t, _ in sequence[9:]} == {"insurance.claim_paid", "order.settled"}
    assert [n for _, n in sequence[9:]] == [10, 11]
    assert [x["data"].get("status") for x in bodies][3:8] == [
        "merchant_processing",
        "user_wait_return",
        "merchant_wait_receipt",
        "platform_refunding",
        "refunded",
    ]
    assert {x["data"]["order_id"] for x in bodies} == {order["id"]}
    assert bodies[8]["data"]["status"] == 200
    # The shop paid the premium when the goods left; the order kept nothing, so its
    # settlement takes the premium out of `available`. The buyer's claim was the platform's.
    (claim,) = got["insurance"]["claims"]
    assert got["insurance"]["premium"] == 150
    assert (claim["status"], claim["amount"]) == ("paid", 1000)
    assert got["settled_at"] is not None
    assert (funds["pending"], funds["available"], funds["insurance_premium"]) == (0, -150, 150)
    assert funds["refunded"] == order["total"]


async def test_batch_printing_and_tracking_with_real_worker_processes(
    server: LiveServer,
) -> None:
    """Issue 15 with real processes: two orders paid through the sandbox gateway (a real
    worker plays it) are printed and shipped by a batch that the worker's bulk process runs;
    the PDF holds both labels. The worker then polls the sandbox carrier: as its clock moves
    on, each shipment's steps arrive as `shipment.tracking_updated` and each order is
    delivered (`order.delivered`), all in the orders' sequences, signed."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        p, sku_id = await _on_sale(server, client, 10)
        b = await _buyer(client)
        with receiver() as rx, _worker(server) as worker:
            endpoint = await subscribe(client, p.auth.app, rx.url, ["order.*", "shipment.*"])
            order_ids = []
            for _ in range(2):
                r = await b.client.post(
                    "/v1/storefront/orders",
                    json={"shop_id": p.shop_id, "items": [{"sku_id": sku_id, "quantity": 1}]},
                    headers={**b.h, **key()},
                )
                assert r.status_code == 201, r.text
                order_ids.append(r.json()["id"])
                paid = await b.client.post(
                    f"/v1/storefront/orders/{order_ids[-1]}/payment", headers={**b.h, **key()}
                )
                assert paid.status_code == 201, paid.text

            async def statuses() -> list[int]:
                return [(await p.get(f"/v1/orders/{o}")).json()["status"] for o in order_ids]

            deadline = time.monotonic() + 60
            while await statuses() != [20, 20]:  # the worker delivers the sandbox's notices
                assert time.monotonic() < deadline, "the payments' notifications never came"
                assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
                await asyncio.sleep(0.1)
            account = await p.post("/v1/logistics/accounts", account_body())
            assert account.status_code == 201, account.text
            assert (await p.post("/v1/logistics/addresses", address_body())).status_code == 201
            started = await p.post(
                "/v1/waybill-batches",
                {
                    "logistics_account_id": account.json()["id"],
                    "order_ids": order_ids,
                    "ship": True,
                    "weight_grams": 400,
                },
            )
            assert started.status_code == 202, started.text
            batch_path = started.headers["Location"]
            deadline = time.monotonic() + 90
            while (batch := (await p.get(batch_path)).json())["status"] != "succeeded":
                assert batch["status"] != "failed", batch
                assert time.monotonic() < deadline, f"the batch never finished: {batch}"
                assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
                await asyncio.sleep(0.2)
            assert [x["outcome"] for x in batch["results"]] == ["issued", "issued"]
            pdf = await p.get(batch["links"]["labels"])
            assert pdf.status_code == 200, pdf.text
            pages = PdfReader(io.BytesIO(pdf.content)).pages
            numbers = [
                (await p.get(f"/v1/waybills/{x['waybill_id']}")).json()["waybill_no"]
                for x in batch["results"]
            ]
            assert len(pages) == 2
            assert all(n in page.extract_text() for page, n in zip(pages, numbers, strict=True))
            assert await statuses() == [30, 30]

            # A day and more later, as far as the carrier knows: the worker's polls find
            # every step up to delivery.
            await _carrier_clock(server, p.shop_id, 31)

            def delivered() -> int:
                return sum(b"order.delivered" in r.body for r in rx.received)

            await _until(lambda: delivered() >= 2 or worker.poll() is not None, 60, "delivery")
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            await asyncio.sleep(0.3)  # anything sent twice arrives now
            shipments = [(await p.get(f"/v1/orders/{o}")).json() for o in order_ids]
            tracked = [
                (
                    await p.get(
                        f"/v1/orders/{o['id']}/shipments/{o['shipments'][0]['id']}/tracking"
                    )
                ).json()
                for o in shipments
            ]
    bodies = rx.verified(endpoint["secret"])
    for order, track in zip(shipments, tracked, strict=True):
        mine = [x for x in bodies if x["data"]["order_id"] == order["id"]]
        types = [x["type"] for x in mine]
        assert types[:3] == ["order.created", "order.paid", "order.shipped"], types
        assert types[-1] == "order.delivered" and types.count("order.delivered") == 1, types
        assert set(types[3:-1]) == {"shipment.tracking_updated"}, types
        assert [x["data"]["sequence"] for x in mine] == list(range(1, len(mine) + 1))
        steps = [e["stage"] for x in mine[3:-1] for e in x["data"]["events"]]
        assert steps == [e["stage"] for e in track["events"]]
        assert steps[-1] == "delivered" and track["delivered_at"] == order["delivered_at"]
        assert order["delivered_at"] is not None and order["status"] == 30


async def test_an_in_store_pickup_with_a_real_worker_playing_the_gateway(
    server: LiveServer,
) -> None:
    """Issue 15's in-store pickup with real processes: the buyer orders for pickup at the
    shop's point and pays through the sandbox (the real worker delivers the notice); the
    order gets its code, shown to the buyer only; the provider marks it ready, a wrong code
    is refused, the buyer's code completes it. The provider hears each step, signed, in
    the order's sequence, and never the code."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        p, sku_id = await _on_sale(server, client, 5)
        b = await _buyer(client)
        with receiver() as rx, _worker(server) as worker:
            endpoint = await subscribe(client, p.auth.app, rx.url, ["order.*"])
            point = await p.post(
                "/v1/pickup-points",
                {
                    "name": "南山店",
                    "region_code": "440305",
                    "detail": "深南大道10000号",
                    "hours": "09:00-21:00",
                    "contact_name": "张伟",
                    "contact_phone": "13800138000",
                },
            )
            assert point.status_code == 201, point.text
            r = await b.client.post(
                "/v1/storefront/orders",
                json={
                    "shop_id": p.shop_id,
                    "items": [{"sku_id": sku_id, "quantity": 1}],
                    "delivery_method": "pickup",
                    "pickup_point_id": point.json()["id"],
                },
                headers={**b.h, **key()},
            )
            assert r.status_code == 201, r.text
            order_id = r.json()["id"]
            paid = await b.client.post(
                f"/v1/storefront/orders/{order_id}/payment", headers={**b.h, **key()}
            )
            assert paid.status_code == 201, paid.text
            deadline = time.monotonic() + 60
            while (await p.get(f"/v1/orders/{order_id}")).json()["status"] != 20:
                assert time.monotonic() < deadline, "the payment's notification never came"
                assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
                await asyncio.sleep(0.1)
            mine = await b.client.get(f"/v1/storefront/orders/{order_id}", headers=b.h)
            code = mine.json()["pickup_code"]
            assert isinstance(code, str) and len(code) >= 6
            provider_view = await p.get(f"/v1/orders/{order_id}")
            assert code not in provider_view.text
            ready = await p.post(f"/v1/orders/{order_id}/pickup-ready")
            assert ready.status_code == 200, ready.text
            wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
            refused = await p.post("/v1/pickup-verifications", {"code": wrong})
            assert refused.status_code == 422, refused.text
            done = await p.post("/v1/pickup-verifications", {"code": code})
            assert done.status_code == 200 and done.json()["status"] == 100, done.text
            await _until(lambda: len(rx.received) >= 5, 60, "5 deliveries")
            await asyncio.sleep(0.3)  # anything sent twice arrives now
    bodies = rx.verified(endpoint["secret"])
    sequence = [(x["type"], x["data"]["sequence"]) for x in bodies]
    assert sequence[:5] == [
        ("order.created", 1),
        ("order.paid", 2),
        ("order.ready_for_pickup", 3),
        ("order.received", 4),
        ("order.completed", 5),
    ]
    # Settled at once (no settlement delay here): its event may already be in, numbered next.
    assert sequence[5:] in ([], [("order.settled", 6)]), sequence
    assert bodies[3]["data"]["received_by"] == "pickup"
    assert all(code not in r.body.decode() for r in rx.received)
