"""CPU per order, the server's and PostgreSQL's, timed in process.

Under wrk (`bench.orders`) both servers saturate their CPU (the floor too: ~1 400 orders a
second is its ~0.7 ms an order), so `storefront-order-create ÷ floor-order` follows the
servers' CPU an order, `the servers` below; PostgreSQL, on the other CPU with wrk, weighs
in when the machine is busy (its share differs: the project's Idempotency-Key, timer, event
sequence, offers read and token check are work the floor does not do).

This drives `POST /v1/storefront/orders` (or the floor's `POST /orders`) in a child process
— a minimal ASGI call on uvloop, as `bench.order_instructions` does — and measures, over
the difference of two runs (200 orders, and `--orders` more than that) divided by the
orders between them, so that start-up, login and warm-up cancel out:

* the child's user and system CPU (`os.times`);
* PostgreSQL's: the CPU of the backends, read from the postmaster's reaped children
  (`/proc/<postmaster>/stat`, cutime + cstime) before the child starts and after it has
  exited and its connections with it. PostgreSQL must run on this machine; its other work
  in the meantime (autovacuum, the checkpointer's writes go to their own processes) is not
  counted, another client's is.

    .venv/bin/python -m bench.order_cpu                 # project and floor, ~1 min
    .venv/bin/python -m bench.order_cpu --orders 6000   # steadier

Timed, so as noisy as the machine (±5 % between runs): run it twice. Creates a database of
its own and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

from bench.order_instructions import _drive, child_command, order_database, parser

_TICK = os.sysconf("SC_CLK_TCK")
#: Orders of the shorter of the two runs whose difference is measured.
SHORT = 200


def _postmaster(dsn: str) -> int:
    """The postmaster's pid: a backend's parent, read while the backend runs."""

    async def parent() -> int:
        import asyncpg

        conn = await asyncpg.connect(dsn)
        try:
            return int(_stat(int(await conn.fetchval("SELECT pg_backend_pid()")))[1])
        finally:
            await conn.close()

    return asyncio.run(parent())


def _stat(pid: int) -> list[str]:
    """`/proc/<pid>/stat` from its state on (fields 3 ...), past the command's parentheses."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _reaped_seconds(postmaster: int) -> float:
    fields = _stat(postmaster)
    return (int(fields[13]) + int(fields[14])) / _TICK  # cutime, cstime


def _run(
    kind: str, orders: int, dsn: str, var: Path, setup: Path, postmaster: int
) -> dict[str, float]:
    """One child placing `orders` after the warm-up: its CPU and PostgreSQL's, in seconds."""
    out = var.parent / f"{kind}-{orders}.json"
    before = _reaped_seconds(postmaster)
    cmd = [*child_command("bench.order_cpu", kind, orders, dsn, var, setup), "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{kind}: the driver failed:\n{res.stderr[-3000:]}")
    time.sleep(0.5)  # the backends exit once their connections have closed
    child: dict[str, float] = json.loads(out.read_text())
    return {**child, "postgres": _reaped_seconds(postmaster) - before}


def _measure(
    kind: str, orders: int, dsn: str, var: Path, setup: Path, postmaster: int
) -> dict[str, int]:
    """Per order: the difference of two runs (`SHORT` and `SHORT + orders` orders), so the
    start-up, the login and the warm-up cancel out."""
    short = _run(kind, SHORT, dsn, var, setup, postmaster)
    long = _run(kind, SHORT + orders, dsn, var, setup, postmaster)
    per = {k: (long[k] - short[k]) / orders * 1e6 for k in ("user", "system", "postgres")}
    server = per["user"] + per["system"]
    return {
        "user_us": round(per["user"]),
        "sys_us": round(per["system"]),
        "server_us": round(server),
        "postgres_us": round(per["postgres"]),
        "total_us": round(server + per["postgres"]),
    }


def _child(args: argparse.Namespace) -> None:
    import uvloop

    setup = json.loads(Path(args.setup).read_text())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_drive(args.child, args.orders, args.dsn, Path(args.var), setup))
    spent = os.times()
    Path(args.out).write_text(json.dumps({"user": spent.user, "system": spent.system}))


def main() -> None:
    cli = parser(__doc__, 3000, "orders between the two runs (after 200)")
    cli.add_argument("--out", help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child:
        _child(args)
        return
    with order_database(args.admin_url, "cpu") as (dsn, var, setup):
        postmaster = _postmaster(dsn)
        found: dict[str, dict[str, int]] = {}
        for kind in (args.only,) if args.only else ("project", "floor"):
            found[kind] = r = _measure(kind, args.orders, dsn, var, setup, postmaster)
            print(
                f"{kind}: server {r['server_us']} µs an order (user {r['user_us']}, system "
                f"{r['sys_us']}), PostgreSQL {r['postgres_us']} µs, together {r['total_us']} µs"
            )
        if len(found) == 2:
            floor, project = found["floor"], found["project"]
            server = floor["server_us"] / project["server_us"]
            together = floor["total_us"] / project["total_us"]
            print(
                f"floor ÷ project: the servers {server:.2f}, with PostgreSQL {together:.2f} "
                f"(load {os.getloadavg()[0]:.2f})"
            )


if __name__ == "__main__":
    main()
