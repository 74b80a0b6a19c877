"""Instructions per order: the server's part of placing an order, counted, not timed.

Timings on a shared machine swing by ±20 % between runs; an instruction count does not. This
drives `POST /v1/storefront/orders` (or the floor's `POST /orders`) in process — a minimal
ASGI call on uvloop, no HTTP server, no client — against a PostgreSQL database with the
bench's selling shop, under `valgrind --tool=cachegrind --cache-sim=no`, twice with different
numbers of orders; the difference of the totals divided by the orders between them is what
one order costs the server's process (PostgreSQL's processes are not counted).

    .venv/bin/python -m bench.order_instructions              # project and floor
    .venv/bin/python -m bench.order_instructions --only project

Needs valgrind (apt-get install -y valgrind). Creates a database of its own and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from bench.orders import ADDRESS, PASSWORD, PRODUCTS, create_setup, sku_pairs
from bench.run import DEFAULT_ADMIN_URL, _admin, _dsn, _sqlalchemy_url, load_catalog

WARM = 30


async def _setup(dsn: str, var: Path) -> dict[str, Any]:
    from app.infra.db.migrate import upgrade
    from app.settings import Settings

    await asyncio.to_thread(upgrade, _sqlalchemy_url(dsn))
    settings = Settings(
        env="development",
        var_dir=var,
        database_url=_sqlalchemy_url(dsn),
        public_base_url="http://127.0.0.1:9",
    )
    s = await create_setup(settings)
    await load_catalog(dsn, s.selling_shop, PRODUCTS, stock=10_000_000)  # as many as bench.orders
    await _admin(dsn, "ANALYZE")
    return {
        "shop": s.selling_shop,
        "buyer_id": s.buyer_id,
        "pairs": await sku_pairs(dsn, s.selling_shop),
    }


class _Asgi:
    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app, self.state = app, state

    async def __call__(
        self, method: str, path: str, body: Any = None, headers: tuple[tuple[str, str], ...] = ()
    ) -> tuple[int, bytes]:
        raw = orjson.dumps(body) if body is not None else b""
        hs = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
        hs += [(b"content-length", str(len(raw)).encode())]
        hs += [(k.encode(), v.encode()) for k, v in headers]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": hs,
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "state": self.state,
        }  # fmt: skip
        sent = False
        status, out = 0, bytearray()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                out.extend(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, bytes(out)


async def _drive(kind: str, n: int, dsn: str, var: Path, setup: dict[str, Any]) -> None:
    if kind == "project":
        os.environ.update(
            MINISHOP_ENV="development",
            MINISHOP_DATABASE_URL=_sqlalchemy_url(dsn),
            MINISHOP_VAR_DIR=str(var),
            MINISHOP_PUBLIC_BASE_URL="http://127.0.0.1:9",
            MINISHOP_LOG_LEVEL="WARNING",
        )
        from app.main import app_factory

        app = app_factory()
        path = "/v1/storefront/orders"
    else:
        os.environ.update(FLOOR_DSN=dsn, FLOOR_BUYER_ID=setup["buyer_id"])
        from bench.order_floor import app

        path = "/orders"
    async with app.router.lifespan_context(app) as state:
        call = _Asgi(app, dict(state or {}))
        headers: tuple[tuple[str, str], ...] = ()
        if kind == "project":
            s, b = await call(
                "POST",
                "/v1/storefront/token",
                {"grant_type": "password", "username": "bench.buyer", "password": PASSWORD},
            )
            assert s == 200, b
            headers = (("authorization", f"Bearer {orjson.loads(b)['access_token']}"),)
            s, b = await call("GET", "/v1/storefront/addresses", None, headers)
            if not orjson.loads(b)["data"]:
                s, b = await call(
                    "POST", "/v1/storefront/addresses", {**ADDRESS, "is_default": True}, headers
                )
                assert s == 201, b
        prefix = uuid.uuid4().hex[:8]
        pairs = setup["pairs"]
        for i in range(WARM + n):
            a, b2 = pairs[i % len(pairs)]
            body = {
                "shop_id": setup["shop"],
                "items": [{"sku_id": a, "quantity": 1}, {"sku_id": b2, "quantity": 1}],
            }
            s, r = await call("POST", path, body, (*headers, ("idempotency-key", f"{prefix}-{i}")))
            assert s == 201, (s, r[:300])


def _child(args: argparse.Namespace) -> None:
    import uvloop

    setup = json.loads(Path(args.setup).read_text())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_drive(args.child, args.orders, args.dsn, Path(args.var), setup))


def child_command(
    module: str, kind: str, orders: int, dsn: str, var: Path, setup: Path
) -> list[str]:
    """How `module` runs its driver child (`--child`) on the database `order_database` made."""
    return [
        sys.executable, "-m", module, "--child", kind, "--orders", str(orders),
        "--dsn", dsn, "--var", str(var), "--setup", str(setup),
    ]  # fmt: skip


def parser(doc: str, orders: int, orders_help: str) -> argparse.ArgumentParser:
    """The arguments of an order measurement (`bench.order_instructions`, `bench.order_cpu`),
    its child's among them."""
    found = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    found.add_argument("--admin-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_ADMIN_URL))
    found.add_argument("--only", choices=("project", "floor"))
    found.add_argument("--orders", type=int, default=orders, help=orders_help)
    found.add_argument("--child", choices=("project", "floor"), help=argparse.SUPPRESS)
    found.add_argument("--dsn", help=argparse.SUPPRESS)
    found.add_argument("--var", help=argparse.SUPPRESS)
    found.add_argument("--setup", help=argparse.SUPPRESS)
    return found


@contextmanager
def order_database(admin_url: str, name: str) -> Iterator[tuple[str, Path, Path]]:
    """A database of its own with the selling shop (`_setup`), dropped after: its DSN, the
    var dir (signing keys) and the setup file the children read."""
    db = f"minishop_{name}_{uuid.uuid4().hex[:8]}"
    dsn = _dsn(admin_url, db)
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{db}"'))
    tmp = Path(tempfile.mkdtemp(prefix=f"minishop-{name}-"))
    try:
        setup = tmp / "setup.json"
        setup.write_text(json.dumps(asyncio.run(_setup(dsn, tmp / "var"))))
        yield dsn, tmp / "var", setup
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


def _instructions(kind: str, orders: int, dsn: str, var: Path, setup: Path) -> int:
    cmd = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
        *child_command("bench.order_instructions", kind, orders, dsn, var, setup),
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", res.stderr)
    if res.returncode != 0 or found is None:
        raise SystemExit(f"{kind}: valgrind run failed:\n{res.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    args = parser(__doc__, 200, "orders between the two runs").parse_args()
    if args.child:
        _child(args)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install -y valgrind")
    with order_database(args.admin_url, "instr") as (dsn, var, setup):
        for kind in (args.only,) if args.only else ("project", "floor"):
            short = _instructions(kind, 10, dsn, var, setup)
            long = _instructions(kind, 10 + args.orders, dsn, var, setup)
            print(f"{kind}: {(long - short) / args.orders / 1e6:.2f} M instructions per order")


if __name__ == "__main__":
    main()
