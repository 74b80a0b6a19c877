"""A real `minishop worker` process plays the sandbox gateway: it sends the notification of a
payment made over HTTP, signed, to the service's public base URL (here the suite's app, served
by uvicorn on a loopback port), and the order is paid."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from app.container import Container
from app.infra.db import tables
from tests import factories as f
from tests.live_server import free_port
from tests.order_support import buyer_order, on_sale
from tests.own_database import own_database
from tests.payment_support import paid_payment

ROOT = Path(__file__).resolve().parent.parent

#: A database of this module's own (tests/own_database.py): the worker processes take up
#: only this module's work, none left behind by the tests before on this xdist worker.
database_url, is_postgres, settings, container, app = own_database()


@pytest.mark.slow
async def test_a_worker_process_delivers_the_sandbox_notification(
    app: FastAPI, client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    settings = container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")}
    env |= {
        "MINISHOP_ENV": "test",
        "MINISHOP_DATABASE_URL": settings.database_url,
        # The same var dir: the same generated keys, the sandbox's secret among them.
        "MINISHOP_VAR_DIR": str(settings.var_dir),
        "MINISHOP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "MINISHOP_WORKER_POLL_SECONDS": "0.2",
    }
    worker = None
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        shop = await on_sale(client, container)
        b = await f.buyer(new_client())
        order = await buyer_order(b, shop, 1)
        payment = await paid_payment(b, order["id"])
        worker = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        o = tables.orders
        status = sa.select(o.c.status).where(o.c.shop_id == shop.shop_id, o.c.id == order["id"])
        async with asyncio.timeout(120):  # bounds a worker that never starts
            while True:
                async with container.engine.connect() as conn:
                    if (await conn.execute(status)).scalar_one() == 20:
                        break
                await asyncio.sleep(0.1)
        p = tables.payments
        async with container.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(p.c.status).where(
                        p.c.shop_id == shop.shop_id, p.c.id == payment["id"]
                    )
                )
            ).one()
        assert row.status == "succeeded"
    finally:
        if worker is not None:
            worker.kill()
            worker.wait(10)
        server.should_exit = True
        await serving
