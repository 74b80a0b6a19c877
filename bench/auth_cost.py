"""What token validation costs per provider request, in microseconds.

    .venv/bin/python -m bench.auth_cost                      # SQLite under a temp dir
    .venv/bin/python -m bench.auth_cost --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

Measures, on one core, the three steps every provider request pays before its handler runs:
the ES256 signature and claims check (python-jose; the first time a process sees a token, and
then from the per-process cache of verified tokens), the live-state query (token family,
grant and app in one indexed join, in its own unit of work here), and the rate-limit bucket
(in memory) — then all three together as the `provider_access` dependency runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from app.container import build_container
from app.domain.authz import oauth
from app.infra.db.migrate import upgrade
from app.settings import Settings
from bench.run import create_actors


async def _pg(url: str, sql: str) -> None:
    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, database=u.database or "postgres"
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _timed(fn: Any, n: int) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            await fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


async def measure(database_url: str, var_dir: Path, n: int) -> dict[str, Any]:
    settings = Settings(env="test", var_dir=var_dir, database_url=database_url)
    token = (await create_actors(settings)).token  # the same setup as `make bench`
    c = build_container(settings)
    try:

        async def decode() -> None:
            c.tokens.decode(token)

        async def verify_cold() -> None:
            c.tokens._verify(token)  # what a token costs the first time a process sees it

        claims = oauth.claims_of(c.tokens.decode(token))

        async def state() -> None:
            async with c.uow() as uow:
                await uow.oauth.token_state(claims.family_id)

        async with c.uow() as shared:
            await shared.oauth.token_state(claims.family_id)  # the request's transaction is open

            async def state_in_request() -> None:
                await shared.oauth.token_state(claims.family_id)

            in_request = round(await _timed(state_in_request, n), 1)

        async def limiter() -> None:
            await c.rate_limiter.hit("bench", 10**9, 10**9)

        async def everything() -> None:
            async with c.uow() as uow:
                await oauth.live_access_claims(uow, c.tokens, token)
                await c.rate_limiter.hit("bench", 10**9, 10**9)

        async def session_only() -> None:
            async with c.uow() as uow:
                uow.session  # noqa: B018 - the cost of opening a unit of work, for reference

        return {
            "database": make_url(database_url).get_backend_name(),
            "jwt_verify_first_sight_us": round(await _timed(verify_cold, n), 1),
            "jwt_verify_remembered_us": round(await _timed(decode, n), 1),
            "state_query_own_unit_of_work_us": round(await _timed(state, n), 1),
            "state_query_in_request_us": in_request,
            "rate_limit_us": round(await _timed(limiter, n), 1),
            "token_validation_total_us": round(await _timed(everything, n), 1),
            "empty_unit_of_work_us": round(await _timed(session_only, n), 1),
        }
    finally:
        await c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        url = args.database_url
        db = None
        if url.startswith("postgresql"):
            db = f"minishop_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg(url, f'CREATE DATABASE "{db}"'))
            url = make_url(url).set(database=db).render_as_string(hide_password=False)
        elif not url:
            url = f"sqlite+aiosqlite:///{var / 'bench.db'}"
        try:
            upgrade(url)
            print(json.dumps(asyncio.run(measure(url, var, args.n)), indent=2))
        finally:
            if db:
                asyncio.run(_pg(args.database_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
