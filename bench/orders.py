"""The order benchmark: placing orders through the storefront and reading the provider's order
list, each against its raw-asyncpg floor (`bench/order_floor.py`), under wrk.

    make bench                          # runs it after bench.run and bench.webhooks
    .venv/bin/python -m bench.orders    # alone: merges its rows into bench/results/latest.json

One run, everything on loopback, stops by itself:

1. a fresh PostgreSQL database (dropped at the end), migrated to head; through the domain
   services the actors of `bench.run` (an app with every scope, its rate limit raised, a
   shop authorized with a token), a second shop authorized the same way, a third shop that
   sells (flat freight 10.00 under a free-shipping threshold no bench order reaches) and a
   buyer account;
2. with COPY: 1 000 listed products of 3 SKUs (stock 10 000 000 each) in the selling shop,
   10 000 orders of 2 lines in the first provider shop and 1 000 000 in the second, then
   ANALYZE;
3. the project and the floor (one uvicorn worker each, pinned as in `bench.run`); the buyer
   logs in through `POST /v1/storefront/token` and saves a default address;
4. rounds of wrk, each floor and its project scenario back to back (the floor first in even
   rounds), as `bench.run` does:
   - `floor-order` / `storefront-order-create`: POST an order of one unit of each of two
     SKUs of one product, the products taken in turn from the 1 000 (the same sequence for
     both), a new Idempotency-Key per request, the buyer's token (project);
   - `floor-order-list` / `order-list`: the first page of 50 orders with their lines of the
     shop with 10 000 orders (`GET /v1/orders?limit=50`, the provider's token);
   - `floor-order-list-1m` / `order-list-1m`: the same in the shop with 1 000 000 orders;
5. after every order run, the oversell check: in the selling shop no SKU below zero, every
   SKU's stock plus the units on its order lines equal to what was loaded, every order with
   its 2 lines and its one `order.created` event (`oversell_checks` in the row);
6. a table, and the rows merged into `bench/results/latest.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.container import build_container
from app.domain.accounts import services as accounts
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.ids import new_id
from app.domain.shops import services as shop_services
from app.domain.shops.model import SubjectType
from app.infra.db.migrate import upgrade
from app.settings import Settings
from bench.run import (
    BENCH_DIR,
    DEFAULT_ADMIN_URL,
    RESULTS,
    ROOT,
    Cpus,
    Load,
    Row,
    Server,
    _admin,
    _check_tail,
    _dsn,
    _median_ratio,
    _ratios,
    _row,
    _sqlalchemy_url,
    authorize,
    create_actors,
    free_port,
    load_catalog,
    print_table,
    start_server,
)

ORDER_LUA = BENCH_DIR / "wrk_order.lua"
QUOTE_LUA = BENCH_DIR / "wrk_quote.lua"
PRODUCTS = 1_000
STOCK = 10_000_000
SMALL, LARGE = 10_000, 1_000_000
PAGE = 50
FREIGHT, FREE_FROM = 1_000, 1_000_000
PASSWORD = "bench-password-1"
ADDRESS = {
    "recipient": "王芳",
    "phone": "13800138000",
    "region_code": "440305",
    "detail": "科技园南区深南大道10000号 2栋 1801",
}
SNAPSHOT_ADDRESS = {
    **ADDRESS,
    "province": "广东省",
    "city": "深圳市",
    "district": "南山区",
}
#: Loaded orders cycle through these (status, paid, shipped, received).
STATES = ((10, False, False, False), (20, True, False, False), (30, True, True, False))
COPY_CHUNK = 50_000


@dataclass
class Setup:
    small_token: str
    large_token: str
    small_shop: str
    large_shop: str
    selling_shop: str
    buyer_id: str
    buyer_username: str


async def _authorize(
    settings: Settings, app_id: str, username: str, shop_name: str
) -> tuple[str, str]:
    """Another merchant's personal shop authorizes the bench app: the shop, its token."""
    c = build_container(settings)
    try:
        async with c.uow() as uow:
            merchant = await accounts.register(
                uow, c.hasher, username=username, password=PASSWORD, display_name=username
            )
            actor = Actor(type=ActorType.ACCOUNT, id=merchant.id, surface=Surface.MERCHANT)
            shop, _ = await shop_services.open_shop(
                uow, actor, name=shop_name, subject_type=SubjectType.PERSONAL
            )
            await uow.commit()
        return shop.id, await authorize(c, actor, app_id, shop.id)
    finally:
        await c.close()


async def _selling_shop_and_buyer(settings: Settings) -> tuple[str, str]:
    c = build_container(settings)
    try:
        async with c.uow() as uow:
            merchant = await accounts.register(
                uow, c.hasher, username="bench.seller", password=PASSWORD, display_name="Seller"
            )
            actor = Actor(type=ActorType.ACCOUNT, id=merchant.id, surface=Surface.MERCHANT)
            shop, _ = await shop_services.open_shop(
                uow, actor, name="Bench Selling Shop", subject_type=SubjectType.PERSONAL
            )
            # No use case sets the flat freight yet (freight templates will); the shop's row
            # is where `place` reads it.
            shop.freight_fee, shop.free_shipping_from = FREIGHT, FREE_FROM
            buyer = await accounts.register(
                uow, c.hasher, username="bench.buyer", password=PASSWORD, display_name="Buyer"
            )
            await uow.commit()
        return shop.id, buyer.id
    finally:
        await c.close()


async def create_setup(settings: Settings) -> Setup:
    base = await create_actors(settings)
    large_shop, large_token = await _authorize(
        settings, base.app_id, "bench.merchant2", "Bench Shop 1M"
    )
    selling, buyer_id = await _selling_shop_and_buyer(settings)
    return Setup(
        small_token=base.token,
        large_token=large_token,
        small_shop=base.shop_id,
        large_shop=large_shop,
        selling_shop=selling,
        buyer_id=buyer_id,
        buyer_username="bench.buyer",
    )


def _order_rows(
    shop_id: str, buyer_id: str, n: int, start: int, stop: int, base: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    address = json.dumps(SNAPSHOT_ADDRESS, ensure_ascii=False)
    snapshots = [
        json.dumps(
            {
                "title": f"Linen summer dress no. {k}",
                "image": f"https://cdn.example.com/bench/{k}.jpg",
                "sale_attrs": {"colour": "white", "size": size},
                "out_product_id": f"bench-{k}",
                "out_sku_id": f"bench-{k}-{size}",
            }
        )
        for k in range(10)
        for size in ("S", "M")
    ]
    orders: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    for i in range(start, stop):
        order_id = new_id("order")
        # One order a second up to now, oldest first: newest first is (created_at, id) DESC.
        at = base - timedelta(seconds=n - i)
        status, paid, shipped, _ = STATES[i % len(STATES)]
        product_total = 19900 + 20000
        orders.append(
            (
                order_id,
                shop_id,
                buyer_id,
                status,
                product_total,
                FREIGHT,
                0,
                product_total + FREIGHT,
                address,
                "Ring twice" if i % 7 == 0 else None,
                None,
                at + timedelta(minutes=5) if paid else None,
                at + timedelta(hours=20) if shipped else None,
                at,
                at + timedelta(hours=20) if shipped else at + timedelta(minutes=5) * paid,
                1 + paid + shipped,
            )
        )
        k = i % 10
        for j, (size, price) in enumerate((("S", 19900), ("M", 20000))):
            lines.append(
                (
                    new_id("oline"),
                    shop_id,
                    order_id,
                    f"prod_bench{k:04d}",
                    f"sku_bench{k:04d}{size}",
                    1,
                    price,
                    snapshots[2 * k + j],
                    1 if shipped else 0,
                    0,
                )
            )
    return orders, lines


ORDER_COPY_COLUMNS = [
    "id",
    "shop_id",
    "buyer_id",
    "status",
    "product_total",
    "freight",
    "discount_total",
    "total",
    "address",
    "buyer_note",
    "merchant_note",
    "paid_at",
    "shipped_at",
    "created_at",
    "updated_at",
    "version",
]
LINE_COPY_COLUMNS = [
    "id",
    "shop_id",
    "order_id",
    "product_id",
    "sku_id",
    "quantity",
    "unit_price",
    "snapshot",
    "shipped_quantity",
    "aftersale_quantity",
]


async def load_orders(dsn: str, shop_id: str, buyer_id: str, n: int) -> float:
    """`n` orders of 2 lines each in the shop, with COPY in chunks; seconds taken."""
    t0 = time.perf_counter()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    conn = await asyncpg.connect(dsn)
    try:
        for start in range(0, n, COPY_CHUNK):
            orders, lines = _order_rows(
                shop_id, buyer_id, n, start, min(n, start + COPY_CHUNK), base
            )
            await conn.copy_records_to_table("orders", records=orders, columns=ORDER_COPY_COLUMNS)
            await conn.copy_records_to_table(
                "order_lines", records=lines, columns=LINE_COPY_COLUMNS
            )
    finally:
        await conn.close()
    return time.perf_counter() - t0


async def sku_pairs(dsn: str, shop_id: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT array_agg(id ORDER BY id) AS ids FROM skus WHERE shop_id = $1 "
            "GROUP BY product_id ORDER BY min(id)",
            shop_id,
        )
    finally:
        await conn.close()
    return [(r["ids"][0], r["ids"][1]) for r in rows]


OVERSELL_SQL = """
SELECT
  (SELECT count(*) FROM skus WHERE shop_id = $1 AND stock < 0) AS negative,
  (SELECT count(*) FROM skus s
     LEFT JOIN (SELECT sku_id, sum(quantity) AS units FROM order_lines
                WHERE shop_id = $1 GROUP BY sku_id) l ON l.sku_id = s.id
   WHERE s.shop_id = $1 AND s.stock + coalesce(l.units, 0) <> $2) AS unbalanced,
  (SELECT count(*) FROM orders o WHERE o.shop_id = $1
     AND (SELECT count(*) FROM order_lines l
          WHERE l.shop_id = o.shop_id AND l.order_id = o.id) <> 2) AS bad_orders,
  (SELECT count(*) FROM orders WHERE shop_id = $1) AS orders,
  (SELECT count(*) FROM outbox_events WHERE shop_id = $1 AND type = 'order.created')
    AS created_events,
  (SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE shop_id = $1) AS units_sold
"""


async def oversell(dsn: str, shop_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        r = await conn.fetchrow(OVERSELL_SQL, shop_id, STOCK)
    finally:
        await conn.close()
    out = dict(r)
    out["ok"] = (
        out["negative"] == 0
        and out["unbalanced"] == 0
        and out["bad_orders"] == 0
        and out["orders"] == out["created_events"]
    )
    return out


def _buyer_login(project: Server, setup: Setup) -> str:
    with httpx.Client(base_url=project.base, timeout=30) as h:
        r = h.post(
            "/v1/storefront/token",
            json={
                "grant_type": "password",
                "username": setup.buyer_username,
                "password": PASSWORD,
            },
        )
        r.raise_for_status()
        token = str(r.json()["access_token"])
        a = h.post(
            "/v1/storefront/addresses",
            json={**ADDRESS, "is_default": True},
            headers={"Authorization": f"Bearer {token}"},
        )
        if a.status_code != 201:
            raise RuntimeError(f"address: {a.status_code} {a.text[:500]}")
    return token


def smoke(
    project: Server,
    floor: Server,
    setup: Setup,
    buyer_token: str,
    tokens: dict[str, str],
    pair: tuple[str, str],
) -> None:
    body = {
        "shop_id": setup.selling_shop,
        "items": [{"sku_id": pair[0], "quantity": 1}, {"sku_id": pair[1], "quantity": 1}],
    }
    with httpx.Client(timeout=30) as h:
        r = h.post(
            f"{project.base}/v1/storefront/orders",
            json=body,
            headers={"Authorization": f"Bearer {buyer_token}", "Idempotency-Key": "smoke"},
        )
        if r.status_code != 201:
            raise RuntimeError(f"storefront order: {r.status_code} {r.text[:500]}")
        order = r.json()
        assert len(order["lines"]) == 2 and order["freight"] == FREIGHT, order
        f = h.post(f"{floor.base}/orders", json=body)
        assert f.status_code == 201 and f.json()["total"] == order["total"], (f.text, order)
        quote = {"items": body["items"], "region_code": "440305"}
        path = f"/shops/{setup.selling_shop}/freight-quote"
        q = h.post(f"{project.base}/v1/storefront{path}", json=quote)
        fq = h.post(f"{floor.base}{path}", json=quote)
        assert q.status_code == 200 and q.json()["freight"] == FREIGHT, q.text
        assert fq.status_code == 200 and fq.json() == q.json(), (fq.text, q.text)
        for shop_id, size in ((setup.small_shop, SMALL), (setup.large_shop, LARGE)):
            p = h.get(
                f"{project.base}/v1/orders",
                params={"limit": PAGE},
                headers={"Authorization": f"Bearer {tokens[shop_id]}"},
            )
            p.raise_for_status()
            data = p.json()["data"]
            assert len(data) == PAGE and all(len(o["lines"]) == 2 for o in data), size
            fp = h.get(f"{floor.base}/orders", params={"shop_id": shop_id, "limit": PAGE})
            fp.raise_for_status()
            assert [o["id"] for o in fp.json()["data"]] == [o["id"] for o in data], size


def run(args: argparse.Namespace) -> list[Row]:
    if subprocess.run([str(BENCH_DIR / "ensure-wrk.sh")], check=False).returncode != 0:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    db = f"minishop_bench_{uuid.uuid4().hex[:8]}"
    dsn = _dsn(args.admin_url, db)
    asyncio.run(_admin(args.admin_url, f'CREATE DATABASE "{db}"'))
    servers: list[Server] = []
    cpus = Cpus.split()
    print(f"bench.orders: {cpus.describe()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="minishop-bench-orders-"))
    try:
        t0 = time.perf_counter()
        upgrade(_sqlalchemy_url(dsn))
        api_port, floor_port = free_port(), free_port()
        base_url = f"http://127.0.0.1:{api_port}"
        settings = Settings(
            env="development",
            var_dir=tmp / "var",
            database_url=_sqlalchemy_url(dsn),
            public_base_url=base_url,
        )
        setup = asyncio.run(create_setup(settings))
        small_token, large_token = setup.small_token, setup.large_token
        tokens = {setup.small_shop: small_token, setup.large_shop: large_token}
        asyncio.run(load_catalog(dsn, setup.selling_shop, PRODUCTS, stock=STOCK))
        pairs = asyncio.run(sku_pairs(dsn, setup.selling_shop))
        pairs_file = tmp / "pairs.txt"
        pairs_file.write_text("".join(f"{setup.selling_shop} {a} {b}\n" for a, b in pairs))
        load_s = {}
        for shop_id, size in ((setup.small_shop, args.small), (setup.large_shop, args.large)):
            load_s[size] = asyncio.run(load_orders(dsn, shop_id, setup.buyer_id, size))
            print(f"bench.orders: {size} orders loaded in {load_s[size]:.1f} s", flush=True)
        asyncio.run(_admin(dsn, "ANALYZE"))
        print(f"bench.orders: database {db} ready in {time.perf_counter() - t0:.1f} s", flush=True)

        project_env = {
            "MINISHOP_ENV": "development",
            "MINISHOP_DATABASE_URL": _sqlalchemy_url(dsn),
            "MINISHOP_VAR_DIR": str(tmp / "var"),
            "MINISHOP_PUBLIC_BASE_URL": base_url,
            "MINISHOP_LOG_LEVEL": "WARNING",
        }
        servers.append(
            start_server(
                "project",
                ["app.main:app_factory", "--factory", "--no-proxy-headers"],
                project_env,
                api_port,
                tmp,
                "/healthz",
                cpus.server,
            )
        )
        servers.append(
            start_server(
                "floor",
                ["bench.order_floor:app"],
                {"FLOOR_DSN": dsn, "FLOOR_BUYER_ID": setup.buyer_id},
                floor_port,
                tmp,
                "/health",
                cpus.server,
            )
        )
        project, floor = servers
        buyer_token = _buyer_login(project, setup)
        smoke(project, floor, setup, buyer_token, tokens, pairs[0])

        threads = args.threads or len(cpus.load) or 2
        gets = Load(threads, args.connections, args.duration, args.warmup, cpus=cpus.load)
        posts = Load(
            threads, args.connections, args.duration, args.warmup, cpus=cpus.load, script=ORDER_LUA
        )
        quotes = Load(
            threads, args.connections, args.duration, args.warmup, cpus=cpus.load, script=QUOTE_LUA
        )
        quote_path = f"/shops/{setup.selling_shop}/freight-quote"
        # name, server, load, path, file, token
        scenario = tuple[str, Server, Load, str, Path | None, str | None]
        page = f"?limit={PAGE}"
        scenarios: list[tuple[scenario, scenario]] = [
            (
                ("floor-order", floor, posts, "/orders", pairs_file, None),
                (
                    "storefront-order-create",
                    project,
                    posts,
                    "/v1/storefront/orders",
                    pairs_file,
                    buyer_token,
                ),
            ),
            (
                ("floor-freight-quote", floor, quotes, quote_path, pairs_file, None),
                (
                    "freight-quote",
                    project,
                    quotes,
                    f"/v1/storefront{quote_path}",
                    pairs_file,
                    None,
                ),
            ),
            (
                (
                    "floor-order-list",
                    floor,
                    gets,
                    f"/orders{page}&shop_id={setup.small_shop}",
                    None,
                    None,
                ),
                ("order-list", project, gets, f"/v1/orders{page}", None, small_token),
            ),
            (
                (
                    "floor-order-list-1m",
                    floor,
                    gets,
                    f"/orders{page}&shop_id={setup.large_shop}",
                    None,
                    None,
                ),
                ("order-list-1m", project, gets, f"/v1/orders{page}", None, large_token),
            ),
        ]
        runs: dict[str, list[dict[str, Any]]] = {sc[0]: [] for pair in scenarios for sc in pair}
        checks: list[dict[str, Any]] = []
        for rnd in range(args.rounds):
            for pair in scenarios:
                for name, server, load, path, idf, token in pair if rnd % 2 == 0 else pair[::-1]:
                    print(
                        f"bench.orders: round {rnd + 1}/{args.rounds} {name} "
                        f"({args.warmup} s warm-up, {args.duration} s) ...",
                        flush=True,
                    )
                    m = load.measure(server, path, idf, token)
                    m.pop("raw")
                    runs[name].append(m)
                    if load is posts:
                        check = asyncio.run(oversell(dsn, setup.selling_shop))
                        check["after"] = f"{name} round {rnd + 1}"
                        checks.append(check)
                        if not check["ok"]:
                            print(f"bench.orders: OVERSELL CHECK FAILED {check}", flush=True)
        return _rows(runs, checks, args, load_s)
    finally:
        for s in servers:
            s.stop()
        for s in servers:
            if args.verbose:
                print(f"--- {s.name} log\n{s.log.read_text()[-2000:]}")
        with contextlib.suppress(Exception):
            asyncio.run(_admin(args.admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


def _rows(
    runs: dict[str, list[dict[str, Any]]],
    checks: list[dict[str, Any]],
    args: argparse.Namespace,
    load_s: dict[int, float],
) -> list[Row]:
    sizes = {
        "floor-order-list": args.small,
        "order-list": args.small,
        "floor-order-list-1m": args.large,
        "order-list-1m": args.large,
    }
    rows = {
        name: _row(
            name,
            m,
            **({"orders_in_shop": sizes[name]} if name in sizes else {}),
            **({"load_seconds": round(load_s[sizes[name]], 1)} if name in sizes else {}),
        )
        for name, m in runs.items()
    }
    sold_ok = all(c["ok"] for c in checks)
    create = rows["storefront-order-create"]
    create.ratio_to_floor = _median_ratio(runs[create.name], runs["floor-order"], "rps")
    create.extra["ratios"] = _ratios(runs[create.name], runs["floor-order"], "rps")
    create.extra["oversell_checks"] = checks
    create.extra["oversell_ok"] = sold_ok
    rows["floor-order"].extra["oversell_ok"] = sold_ok
    for name, floor_name in (
        ("order-list", "floor-order-list"),
        ("order-list-1m", "floor-order-list-1m"),
    ):
        row = rows[name]
        row.ratio_to_floor = _median_ratio(runs[name], runs[floor_name], "rps")
        row.extra["ratios"] = _ratios(runs[name], runs[floor_name], "rps")
    quote = rows["freight-quote"]
    quote.ratio_to_floor = _median_ratio(runs[quote.name], runs["floor-freight-quote"], "rps")
    quote.extra["ratios"] = _ratios(runs[quote.name], runs["floor-freight-quote"], "rps")
    quote.extra["target"] = ">= 50% of floor-freight-quote"
    quote.extra["ok"] = (quote.ratio_to_floor or 0) >= 0.5 and quote.extra["non_2xx"] == 0
    vs_small = _median_ratio(runs["order-list-1m"], runs["order-list"], "p50_ms")
    for name in ("storefront-order-create", "freight-quote", "order-list", "order-list-1m"):
        _check_tail(rows[name])
    for name in ("floor-order", "floor-freight-quote", "floor-order-list", "floor-order-list-1m"):
        rows[name].extra["target"] = "floor"
    tail = create.extra.get("tail_ok", False)
    create.extra["target"] = ">= 50% of floor-order, p99 <= 5 x p50, no oversell"
    create.extra["ok"] = (
        (create.ratio_to_floor or 0) >= 0.5 and tail and sold_ok and create.extra["non_2xx"] == 0
    )
    small = rows["order-list"]
    small.extra["target"] = ">= 50% of floor-order-list"
    small.extra["ok"] = (small.ratio_to_floor or 0) >= 0.5 and small.extra["non_2xx"] == 0
    large = rows["order-list-1m"]
    large.extra["p50_vs_10k"] = vs_small
    large.extra["target"] = ">= 50% of floor; p50 within 20% of order-list"
    large.extra["ok"] = (
        (large.ratio_to_floor or 0) >= 0.5
        and vs_small is not None
        and abs(vs_small - 1) <= 0.2
        and large.extra["non_2xx"] == 0
    )
    for r in rows.values():
        if "tail_ok" in r.extra:
            r.extra["note"] = (
                f"p99/p50 = {r.extra['p99_over_p50']} "
                f"({'ok' if r.extra['tail_ok'] else 'FAILS'} p99 <= 5 x p50)"
            )
    order = [
        "floor-order",
        "storefront-order-create",
        "floor-freight-quote",
        "freight-quote",
        "floor-order-list",
        "order-list",
        "floor-order-list-1m",
        "order-list-1m",
    ]
    return [rows[n] for n in order]


def merge(output: Path, new: list[dict[str, Any]]) -> None:
    """Replace this benchmark's rows in the results file, keep the others."""
    names = {r["name"] for r in new}
    current = json.loads(output.read_text()) if output.exists() else []
    kept = [r for r in current if r.get("name") not in names]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps([*kept, *new], indent=2, default=str) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_ADMIN_URL),
        help="libpq URL of a database to run CREATE/DROP DATABASE from",
    )
    parser.add_argument("--small", type=int, default=SMALL, help="orders in the first shop")
    parser.add_argument("--large", type=int, default=LARGE, help="orders in the second shop")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("-v", "--verbose", action="store_true", help="print server logs")
    args = parser.parse_args()

    started = datetime.now(UTC)
    idle_load = round(os.getloadavg()[0], 2)
    rows = run(args)
    print()
    print(
        f"MiniShop order benchmark, {started:%Y-%m-%d %H:%M} UTC, {args.rounds} rounds of wrk "
        f"-c{args.connections} -d{args.duration}s, one uvicorn worker each "
        f"({Cpus.split().describe()}), {os.cpu_count()} CPUs, load average before the run "
        f"{idle_load}"
    )
    print_table(rows)
    if idle_load > 1.0:
        print(
            f"\nwarning: 1-minute load average {idle_load} on {os.cpu_count()} CPUs before the "
            "run: something else was busy, absolute figures are low; compare ratios."
        )
    merge(args.output, [r.as_json() for r in rows])
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"\nmerged into {shown}")
    during = statistics.median(r.extra["loadavg_1m"] for r in rows)
    print(f"median 1-minute load average right after the scenarios: {during}")


if __name__ == "__main__":
    main()
