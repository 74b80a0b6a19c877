"""The catalog benchmark: the project's product reads against their floors, under wrk.

    make bench                        # or: .venv/bin/python -m bench.run
    .venv/bin/python -m bench.run --rounds 3 --duration 5 --warmup 1 --connections 64

One run, everything on loopback, stops by itself:

1. a fresh PostgreSQL database (dropped at the end), migrated to head;
2. through the domain services: an operator, a merchant with a personal shop, a published app
   with every scope, an approved grant and its access token; the app's rate limit raised
   through the per-app override (the limiter still runs on every request, never refuses);
3. 100 000 listed products of 3 SKUs each in that shop, loaded with COPY, then ANALYZE;
4. the project (`uvicorn app.main:app_factory`, one worker) and the floor (`bench/floor.py`,
   one worker) on free loopback ports;
5. rounds of wrk runs (warm-up, then the measured run, with `--latency`): in each round every
   floor and its project scenario back to back, the floor first in even rounds and the
   project first in odd ones; a row reports the medians over the rounds, and
   `ratio_to_floor` is the median of the in-round ratios (both sides of a ratio ran under the
   same conditions); peak RSS of each server from /proc/<pid>/status VmHWM;
6. a table on stdout and `bench/results/latest.json`.

With two CPUs or more the servers run on one (`taskset`) and wrk on the others, so the load
generator does not take CPU from the server it measures. PostgreSQL is not pinned.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.api.pagination import encode_cursor
from app.container import Container, build_container
from app.domain.accounts import services as accounts
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.authz import apps as app_services
from app.domain.authz import oauth
from app.domain.authz.scopes import Scope
from app.domain.catalog.products import attrs_key
from app.domain.ids import new_id
from app.domain.shops import services as shop_services
from app.domain.shops.model import SubjectType
from app.infra.db.migrate import upgrade
from app.settings import Settings
from bench import bulk_import as bulk
from bench.rss import peak_rss_mb

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "latest.json"
LUA = BENCH_DIR / "wrk.lua"

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PRODUCTS = 100_000
SKUS_PER_PRODUCT = 3
PAGE = 50
DEEP_AT = 90_000
LEAF = "cat_apparel_women_dresses"
#: How long a server may take to answer its health check: one pinned CPU shared with a busy
#: machine can take a minute to import the app.
SERVER_START_SECONDS = 180
PEAK_RSS_TARGET_MB = 160.0
#: Every product in the shop changed over the last PRODUCTS seconds, one a second.
STEP = timedelta(seconds=1)


# ---------------------------------------------------------------------------------------------
# Database


def _dsn(admin_url: str, database: str) -> str:
    u = urllib.parse.urlsplit(admin_url)
    return urllib.parse.urlunsplit(u._replace(path=f"/{database}"))


def _sqlalchemy_url(dsn: str) -> str:
    return "postgresql+asyncpg://" + dsn.split("://", 1)[1]


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Setup:
    token: str
    shop_id: str
    app_id: str


async def authorize(c: Container, actor: Actor, app_id: str, shop_id: str) -> str:
    """The shop's merchant (`actor`) authorizes the app with every scope, as a provider gets
    it (authorization code with PKCE); the access token."""
    async with c.uow() as uow:
        app = await app_services.operator_get_app(uow, app_id)
        verifier = "v" * 43
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .decode()
            .rstrip("=")
        )
        req = oauth.AuthorizationRequest(
            app=app,
            redirect_uri="http://127.0.0.1:1/cb",
            scopes=frozenset(Scope),
            state=None,
            code_challenge=challenge,
            shop_id=shop_id,
        )
        code = await oauth.approve(uow, actor, req, shop_id, c.oauth)
        tokens = await oauth.exchange_code(
            uow,
            c.tokens,
            c.oauth,
            app,
            code=code,
            redirect_uri=req.redirect_uri,
            code_verifier=verifier,
        )
        await uow.commit()
    return tokens.access_token


async def create_actors(settings: Settings) -> Setup:
    """Operator, merchant, personal shop, published app, grant and token: the domain's way."""
    c = build_container(settings)
    try:
        async with c.uow() as uow:
            operator = await accounts.register(
                uow,
                c.hasher,
                username="bench.operator",
                password="bench-password-1",
                display_name="Bench operator",
                is_operator=True,
            )
            merchant = await accounts.register(
                uow,
                c.hasher,
                username="bench.merchant",
                password="bench-password-1",
                display_name="Bench merchant",
            )
            actor = Actor(type=ActorType.ACCOUNT, id=merchant.id, surface=Surface.MERCHANT)
            shop, _ = await shop_services.open_shop(
                uow, actor, name="Bench Shop", subject_type=SubjectType.PERSONAL
            )
            app, _ = await app_services.register_app(
                uow,
                actor,
                app_services.AppFields(
                    name="Bench",
                    description="The benchmark's provider app.",
                    logo_url=None,
                    homepage_url=None,
                    install_url=None,
                    support_email=None,
                    service_types=["other"],
                    redirect_uris=["http://127.0.0.1:1/cb"],
                    scopes=list(Scope),
                ),
            )
            app.publish()
            await uow.commit()

        async with c.uow() as uow:
            op_actor = Actor(type=ActorType.ACCOUNT, id=operator.id, surface=Surface.PLATFORM)
            await app_services.set_rate_limit(
                uow, op_actor, app.id, burst=10**9, per_second=float(10**9)
            )
            await uow.commit()

        token = await authorize(c, actor, app.id, shop.id)
        return Setup(token=token, shop_id=shop.id, app_id=app.id)
    finally:
        await c.close()


async def load_catalog(
    dsn: str, shop_id: str, products: int, stock: int | None = None
) -> dict[str, Any]:
    """`products` listed products of 3 SKUs each, with COPY; returns ids and cursors. Each
    SKU's stock is `stock` when given (50-52 otherwise)."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - STEP * (products + 10)
    product_rows: list[tuple[Any, ...]] = []
    sku_rows: list[tuple[Any, ...]] = []
    sizes = ("S", "M", "L")
    description = json.dumps([{"type": "text", "text": "Pure linen, cut for summer."}])
    attributes = json.dumps([{"name": "Material", "value": "Linen"}])
    regions = json.dumps(["11", "31", "44"])
    ids: list[str] = []
    times: list[datetime] = []
    for i in range(products):
        pid = new_id("prod")
        # A microsecond part too, so the cursor's ISO time round-trips in full.
        at = start + STEP * i + timedelta(microseconds=1 + i % 997)
        ids.append(pid)
        times.append(at)
        product_rows.append(
            (
                pid,
                shop_id,
                f"Linen summer dress no. {i}",
                "Breathable linen",
                description,
                json.dumps([f"https://cdn.example.com/bench/{i}.jpg"]),
                LEAF,
                None,  # no brand (brand_id defaults to brand_none)
                attributes,
                "new",
                regions,
                f"bench-{i}",
                "listed",
                None,
                None,
                at,
                at,
                at,
                True,
                at,
                at,
                4,
            )
        )
        for k, size in enumerate(sizes[:SKUS_PER_PRODUCT]):
            attrs = {"colour": "white", "size": size}
            sku_rows.append(
                (
                    new_id("sku"),
                    shop_id,
                    pid,
                    json.dumps(attrs),
                    attrs_key(attrs),
                    19900 + 100 * k,
                    25900,
                    50 + k if stock is None else stock,
                    f"bench-{i}-{size}",
                    None,
                    350,
                    at,
                    at,
                    1,
                )
            )
    conn = await asyncpg.connect(dsn)
    try:
        t0 = time.perf_counter()
        await conn.copy_records_to_table(
            "products",
            records=product_rows,
            columns=[
                "id",
                "shop_id",
                "title",
                "subtitle",
                "description",
                "images",
                "category_id",
                "brand",
                "attributes",
                "condition",
                "regions",
                "out_product_id",
                "status",
                "rejection_reason",
                "ban_reason",
                "submitted_at",
                "reviewed_at",
                "listed_at",
                "ever_listed",
                "created_at",
                "updated_at",
                "version",
            ],
        )
        await conn.copy_records_to_table(
            "skus",
            records=sku_rows,
            columns=[
                "id",
                "shop_id",
                "product_id",
                "sale_attrs",
                "attrs_key",
                "price",
                "market_price",
                "stock",
                "out_sku_id",
                "barcode",
                "weight_g",
                "created_at",
                "updated_at",
                "version",
            ],
        )
        await conn.execute("ANALYZE")
        load_s = time.perf_counter() - t0
        counted = await conn.fetchval("SELECT count(*) FROM skus WHERE shop_id = $1", shop_id)
    finally:
        await conn.close()
    # Product number 90 000 of 100 000 (1-based, in (updated_at, id) order), or the same share
    # of a smaller catalog: the deep page starts right after it.
    deep = products * DEEP_AT // PRODUCTS - 1
    return {
        "ids": ids,
        "load_seconds": load_s,
        "skus": counted,
        "deep_after": (times[deep].isoformat(), ids[deep]),
    }


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass(frozen=True)
class Cpus:
    """Which CPUs the servers and the load generator may use (empty: not pinned)."""

    server: tuple[int, ...]
    load: tuple[int, ...]

    @classmethod
    def split(cls) -> Cpus:
        """The first usable CPU for the server under test, the rest for wrk; nothing pinned
        on a single CPU or without `taskset`."""
        usable = sorted(os.sched_getaffinity(0))
        if len(usable) < 2 or shutil.which("taskset") is None:
            return cls((), ())
        return cls((usable[0],), tuple(usable[1:]))

    @staticmethod
    def prefix(cpus: tuple[int, ...]) -> list[str]:
        return ["taskset", "--cpu-list", ",".join(map(str, cpus))] if cpus else []

    def describe(self) -> str:
        if not self.server:
            return "not pinned"
        return f"servers on CPU {self.server}, wrk on CPU {self.load}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_server(
    name: str,
    target: list[str],
    env: dict[str, str],
    port: int,
    tmp: Path,
    health: str,
    cpus: tuple[int, ...] = (),
) -> Server:
    log = tmp / f"{name}.log"
    cmd = [
        *Cpus.prefix(cpus),
        sys.executable,
        "-m",
        "uvicorn",
        *target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name, proc, port, log)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(server.base + health, timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not become healthy:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------------------------------------
# wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    def grab(pattern: str) -> str | None:
        m = re.search(pattern, output, re.M)
        return m.group(1) if m else None

    rps = grab(r"^Requests/sec:\s+([\d.]+)")
    p50 = grab(r"^\s+50%\s+(\S+)")
    p99 = grab(r"^\s+99%\s+(\S+)")
    total = grab(r"^\s+(\d+) requests in")
    non2xx = grab(r"^\s+Non-2xx or 3xx responses:\s+(\d+)")
    sock = grab(r"^\s+Socket errors:\s+(.+)$")
    if rps is None or p50 is None or p99 is None:
        raise RuntimeError(f"could not parse wrk output:\n{output}")
    return {
        "rps": round(float(rps), 1),
        "p50_ms": round(_ms(p50), 2),
        "p99_ms": round(_ms(p99), 2),
        "requests": int(total or 0),
        "non_2xx": int(non2xx or 0),
        "socket_errors": sock,
    }


@dataclass
class Load:
    threads: int
    connections: int
    duration: int
    warmup: int
    timeout: int = 10
    cpus: tuple[int, ...] = ()
    #: The wrk script (bench/wrk.lua: GETs; bench/wrk_order.lua: order POSTs).
    script: Path = LUA

    def run(
        self, url: str, path: str, ids_file: Path | None, token: str | None, seconds: int
    ) -> str:
        cmd = [
            *Cpus.prefix(self.cpus),
            "wrk",
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds}s",
            f"--timeout={self.timeout}s",
            "--latency",
            "-s",
            str(self.script),
            url,
            "--",
            path,
            str(ids_file) if ids_file else "",
        ]
        # A prefix of its own per wrk run: Idempotency-Keys (bench/wrk_order.lua) never repeat.
        env = {**os.environ, "BENCH_TOKEN": token or "", "BENCH_KEY_PREFIX": uuid.uuid4().hex}
        res = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        if res.returncode != 0:
            raise RuntimeError(f"wrk failed ({res.returncode}): {res.stderr}{res.stdout}")
        return res.stdout

    def measure(
        self, server: Server, path: str, ids_file: Path | None, token: str | None
    ) -> dict[str, Any]:
        if self.warmup > 0:
            self.run(server.base, path, ids_file, token, self.warmup)
        out = self.run(server.base, path, ids_file, token, self.duration)
        result = parse_wrk(out)
        result["rss_mb"] = server.peak_rss_mb()
        # Other work on the machine skews every figure: keep what the load was.
        result["loadavg_1m"] = round(os.getloadavg()[0], 2)
        result["raw"] = out
        return result


# ---------------------------------------------------------------------------------------------
# Scenarios and report


@dataclass
class Row:
    name: str
    rps: float | None
    p50_ms: float | None
    p99_ms: float | None
    rss_mb: float | None
    ratio_to_floor: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "rss_mb": self.rss_mb,
            "ratio_to_floor": self.ratio_to_floor,
            **self.extra,
        }


def _fmt(v: Any, spec: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return format(v, spec)


def print_table(rows: list[Row]) -> None:
    head = f"{'scenario':<24}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'RSS MiB':>9}"
    head += f"{'÷floor':>8}  {'target':<34}{'ok':>4}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.name:<24}{_fmt(r.rps, '.0f'):>10}{_fmt(r.p50_ms, '.2f'):>9}"
            f"{_fmt(r.p99_ms, '.2f'):>9}{_fmt(r.rss_mb, '.1f'):>9}"
            f"{_fmt(r.ratio_to_floor, '.2f'):>8}  {r.extra.get('target', ''):<34}"
            f"{_fmt(r.extra.get('ok')):>4}"
        )
        if r.extra.get("note"):
            print(f"{'':<24}note: {r.extra['note']}")


def _ratios(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], key: str) -> list[float]:
    """`ours[key] / theirs[key]` round by round."""
    return [round(a[key] / b[key], 3) for a, b in zip(ours, theirs, strict=True) if b[key]]


def _median_ratio(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any]], key: str
) -> float | None:
    ratios = _ratios(ours, theirs, key)
    return round(statistics.median(ratios), 3) if ratios else None


def _row(name: str, runs: list[dict[str, Any]], **extra: Any) -> Row:
    """A scenario's rounds: the median of each figure, the peak RSS, the sums of counts."""

    def median(key: str) -> float:
        return round(float(statistics.median(m[key] for m in runs)), 2)

    return Row(
        name=name,
        rps=round(statistics.median(m["rps"] for m in runs), 1),
        p50_ms=median("p50_ms"),
        p99_ms=median("p99_ms"),
        rss_mb=max((m["rss_mb"] for m in runs if m["rss_mb"] is not None), default=None),
        ratio_to_floor=None,
        extra={
            "requests": sum(m["requests"] for m in runs),
            "non_2xx": sum(m["non_2xx"] for m in runs),
            "loadavg_1m": median("loadavg_1m"),
            "rounds": [{k: m[k] for k in ("rps", "p50_ms", "p99_ms", "loadavg_1m")} for m in runs],
            **extra,
        },
    )


def _check_tail(row: Row) -> None:
    """p99 under the benchmark's connections at most 5 x p50."""
    if row.p50_ms and row.p99_ms is not None:
        row.extra["p99_over_p50"] = round(row.p99_ms / row.p50_ms, 2)
        row.extra["tail_ok"] = row.p99_ms <= 5 * row.p50_ms


def _vs_floor(
    row: Row, ours: list[dict[str, Any]], floor: list[dict[str, Any]], minimum: float
) -> None:
    """`ratio_to_floor`: the median of the in-round ratios of req/s."""
    row.ratio_to_floor = _median_ratio(ours, floor, "rps")
    row.extra["ratios"] = _ratios(ours, floor, "rps")
    if row.ratio_to_floor is not None:
        row.extra["target"] = f">= {minimum:.0%} of {row.name.replace('project', 'floor')} req/s"
        row.extra["ok"] = row.ratio_to_floor >= minimum and row.extra.get("non_2xx", 0) == 0


def smoke(project: Server, floor: Server, token: str, pid: str, deep_cursor: str) -> None:
    """Each path answers 200 with what it should before wrk hammers it."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30) as h:
        r = h.get(f"{project.base}/v1/products/{pid}", headers=auth)
        r.raise_for_status()
        assert len(r.json()["skus"]) == SKUS_PER_PRODUCT, r.text[:500]
        first = h.get(f"{project.base}/v1/products", params={"limit": PAGE}, headers=auth)
        first.raise_for_status()
        body = first.json()
        assert len(body["data"]) == PAGE and body["next_cursor"], first.text[:500]
        assert all(len(p["skus"]) == SKUS_PER_PRODUCT for p in body["data"])
        deep = h.get(
            f"{project.base}/v1/products",
            params={"limit": PAGE, "cursor": deep_cursor},
            headers=auth,
        )
        deep.raise_for_status()
        assert len(deep.json()["data"]) == PAGE, deep.text[:500]
        f = h.get(f"{floor.base}/products/{pid}")
        f.raise_for_status()
        assert len(f.json()["skus"]) == SKUS_PER_PRODUCT
        fp = h.get(f"{floor.base}/products", params={"limit": PAGE})
        fp.raise_for_status()
        assert len(fp.json()["data"]) == PAGE
        # The first pages of both hold the same products in the same order.
        assert [p["id"] for p in fp.json()["data"]] == [p["id"] for p in body["data"]]


def run(args: argparse.Namespace) -> list[Row]:
    if subprocess.run([str(BENCH_DIR / "ensure-wrk.sh")], check=False).returncode != 0:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    db = f"minishop_bench_{uuid.uuid4().hex[:8]}"
    dsn = _dsn(args.admin_url, db)
    asyncio.run(_admin(args.admin_url, f'CREATE DATABASE "{db}"'))
    servers: list[Server] = []
    rows: list[Row] = []
    cpus = Cpus.split()
    print(f"bench: {cpus.describe()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="minishop-bench-"))
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
        setup = asyncio.run(create_actors(settings))
        loaded = asyncio.run(load_catalog(dsn, setup.shop_id, args.products))
        print(
            f"bench: database {db} ready in {time.perf_counter() - t0:.1f} s "
            f"({args.products} products, {loaded['skus']} SKUs, COPY + ANALYZE "
            f"{loaded['load_seconds']:.1f} s)",
            flush=True,
        )
        ids: list[str] = loaded["ids"]
        sample = random.Random(42).sample(ids, min(5000, len(ids)))
        ids_file = tmp / "ids.txt"
        ids_file.write_text("\n".join(sample) + "\n")
        deep_after = loaded["deep_after"]
        deep_cursor = encode_cursor(deep_after)
        assert deep_cursor is not None

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
                ["bench.floor:app"],
                {"FLOOR_DSN": dsn, "FLOOR_SHOP_ID": setup.shop_id},
                floor_port,
                tmp,
                "/health",
                cpus.server,
            )
        )
        project, floor = servers
        smoke(project, floor, setup.token, sample[0], deep_cursor)

        load = Load(
            args.threads or len(cpus.load) or 2,
            args.connections,
            args.duration,
            args.warmup,
            cpus=cpus.load,
        )
        tok = setup.token
        floor_after = urllib.parse.quote(f"{deep_after[0]},{deep_after[1]}", safe="")
        scenario = tuple[str, Server, str, Path | None, str | None]
        pairs: list[tuple[scenario, scenario]] = [
            (
                ("floor-read", floor, "/products/{id}", ids_file, None),
                ("project-read", project, "/v1/products/{id}", ids_file, tok),
            ),
            (
                ("floor-page", floor, f"/products?limit={PAGE}", None, None),
                ("project-page", project, f"/v1/products?limit={PAGE}", None, tok),
            ),
            (
                (
                    "floor-page-deep",
                    floor,
                    f"/products?limit={PAGE}&after={floor_after}",
                    None,
                    None,
                ),
                (
                    "project-page-deep",
                    project,
                    f"/v1/products?limit={PAGE}&cursor={deep_cursor}",
                    None,
                    tok,
                ),
            ),
        ]
        runs: dict[str, list[dict[str, Any]]] = {sc[0]: [] for pair in pairs for sc in pair}
        raw: dict[str, str] = {}
        for rnd in range(args.rounds):
            for pair in pairs:
                # Floor first in even rounds, project first in odd ones: neither side always
                # gets the warmer (or the quieter) half of the pair.
                for name, server, path, idf, token in pair if rnd % 2 == 0 else pair[::-1]:
                    print(
                        f"bench: round {rnd + 1}/{args.rounds} {name} "
                        f"({args.warmup} s warm-up, {args.duration} s) ...",
                        flush=True,
                    )
                    m = load.measure(server, path, idf, token)
                    raw[f"{name} round {rnd + 1}"] = m.pop("raw")
                    runs[name].append(m)
        measured: dict[str, Row] = {}
        for pair in pairs:
            for name, server, path, _, _ in pair:
                row = _row(name, runs[name], server=server.name, path=path.split("?")[0])
                measured[name] = row
                rows.append(row)

        _vs_floor(measured["project-read"], runs["project-read"], runs["floor-read"], 0.5)
        _vs_floor(measured["project-page"], runs["project-page"], runs["floor-page"], 0.5)
        measured["floor-page-deep"].extra["target"] = "floor of project-page-deep"
        deep = measured["project-page-deep"]
        deep.ratio_to_floor = _median_ratio(
            runs["project-page-deep"], runs["floor-page-deep"], "rps"
        )
        deep.extra["ratios"] = _ratios(runs["project-page-deep"], runs["floor-page-deep"], "rps")
        vs_first = _median_ratio(runs["project-page-deep"], runs["project-page"], "p50_ms")
        if vs_first is not None:
            deep.extra["p50_vs_first_page"] = vs_first
            deep.extra["target"] = "p50 within 20% of project-page"
            deep.extra["ok"] = abs(vs_first - 1) <= 0.2
        for name in ("project-read", "project-page", "project-page-deep"):
            _check_tail(measured[name])
        for r in (measured["floor-read"], measured["floor-page"]):
            r.extra["target"] = "floor"

        peak = project.peak_rss_mb()
        rows.append(
            Row(
                name="project-peak-rss",
                rps=None,
                p50_ms=None,
                p99_ms=None,
                rss_mb=peak,
                ratio_to_floor=(
                    round(peak / floor.peak_rss_mb(), 3) if peak and floor.peak_rss_mb() else None
                ),
                extra={
                    "target": f"API process peak RSS <= {PEAK_RSS_TARGET_MB:.0f} MiB",
                    "ok": peak is not None and peak <= PEAK_RSS_TARGET_MB,
                    "floor_rss_mb": floor.peak_rss_mb(),
                    "note": "measured over the read scenarios, before the bulk import (whose "
                    "upload the API holds in memory: see api_rss_mb of bulk-import-100k-skus)",
                },
            )
        )
        # Last, after the peak RSS of the reads: 100 000 SKUs through the API and a worker.
        print(f"bench: bulk-import-100k-skus ({bulk.SKUS} SKUs, API + worker) ...", flush=True)
        worker = bulk.start_worker(project_env, tmp / "worker.log")
        try:
            result = bulk.measure(project.base, setup.token, worker.pid)
        finally:
            worker.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(10)
        measured_row = result.row()
        extra = {
            k: v
            for k, v in measured_row.items()
            if k not in ("name", "rps", "p50_ms", "p99_ms", "rss_mb", "ratio_to_floor")
        }
        extra["api_rss_mb"] = project.peak_rss_mb()
        rows.insert(
            len(rows) - 1,
            Row(
                name="bulk-import-100k-skus",
                rps=measured_row["rps"],
                p50_ms=measured_row["p50_ms"],
                p99_ms=None,
                rss_mb=measured_row["rss_mb"],
                ratio_to_floor=None,
                extra=extra,
            ),
        )
        for r in rows:
            if "tail_ok" in r.extra:
                r.extra["note"] = (
                    f"p99/p50 = {r.extra['p99_over_p50']} "
                    f"({'ok' if r.extra['tail_ok'] else 'FAILS'} p99 <= 5 x p50)"
                )
        if args.keep_raw:
            (BENCH_DIR / "results" / "wrk-raw.tmp").write_text(
                "\n".join(f"== {k}\n{v}" for k, v in raw.items())
            )
        return rows
    finally:
        for s in servers:
            s.stop()
        for s in servers:
            if args.verbose:
                print(f"--- {s.name} log\n{s.log.read_text()[-2000:]}")
        with contextlib.suppress(Exception):
            asyncio.run(_admin(args.admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_ADMIN_URL),
        help="libpq URL of a database to run CREATE/DROP DATABASE from",
    )
    parser.add_argument("--products", type=int, default=PRODUCTS)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every scenario")
    parser.add_argument("--duration", type=int, default=5, help="seconds per scenario run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=0, help="wrk threads (default: one per load CPU)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep-raw", action="store_true", help="write wrk's raw output too")
    parser.add_argument("-v", "--verbose", action="store_true", help="print server logs")
    args = parser.parse_args()

    started = datetime.now(UTC)
    idle_load = round(os.getloadavg()[0], 2)
    rows = run(args)
    print()
    print(
        f"MiniShop catalog benchmark, {started:%Y-%m-%d %H:%M} UTC, {args.products} products "
        f"x {SKUS_PER_PRODUCT} SKUs, {args.rounds} rounds of wrk -c{args.connections} "
        f"-d{args.duration}s, one uvicorn worker each ({Cpus.split().describe()}), "
        f"{os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average before the run {idle_load}"
    )
    print_table(rows)
    # During the run the benchmark makes its own load (wrk, the server, PostgreSQL backends:
    # the deep page keeps a pool's worth of them busy), so only the load before it tells
    # whether something else was using the machine.
    if idle_load > 1.0:
        print(
            f"\nwarning: 1-minute load average {idle_load} on {os.cpu_count()} CPUs before the "
            "run: something else was busy, absolute figures are low; compare ratios."
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps([r.as_json() for r in rows], indent=2) + "\n")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"\nwrote {shown}")


if __name__ == "__main__":
    main()
