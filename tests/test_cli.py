"""The `minishop` command: every command documents itself, create-operator makes an operator
who can log in, `worker --once` prunes what expired, and a production server without keys
refuses to start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from typer.testing import CliRunner

from app.cli import cli
from app.container import Container
from app.domain.accounts.services import hash_token
from app.domain.clock import utcnow
from app.infra.db import tables
from app.settings import Settings
from tests import factories as f

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["serve", "worker", "migrate", "seed-demo", "create-operator", "export-openapi"]


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def env_for(settings: Settings) -> dict[str, str]:
    return {
        "MINISHOP_ENV": "test",
        "MINISHOP_DATABASE_URL": settings.database_url,
        "MINISHOP_VAR_DIR": str(settings.var_dir),
    }


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0, top.output
    for name in COMMANDS:
        assert name in top.output
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage" in result.output, name
    # The worker's --parent-pid is plumbing for `serve --with-worker`, not for people.
    assert "--parent-pid" not in runner.invoke(cli, ["worker", "--help"]).output


async def test_create_operator_through_the_cli_can_log_in(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    username = f.unique("op")
    done = run_cli(env_for(settings), "create-operator", username, "--password", f.PASSWORD)
    assert done.returncode == 0, done.stderr
    assert username in done.stdout
    r = await client.post("/auth/login", json={"username": username, "password": f.PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["account"]["is_operator"] is True
    r = await client.get("/v1/platform/review-queue/shops")
    assert r.status_code == 200, r.text

    # Again on an existing account: the role is kept and the password updated.
    other = f.PASSWORD + "-2"
    done = run_cli(env_for(settings), "create-operator", username, "--password", other)
    assert done.returncode == 0, done.stderr
    r = await client.post("/auth/login", json={"username": username, "password": other})
    assert r.status_code == 200, r.text


async def test_worker_once_prunes_expired_keys_and_sessions(
    settings: Settings, container: Container, client: httpx.AsyncClient
) -> None:
    u = await f.user(client)
    now = utcnow()
    keys, sessions = tables.idempotency_keys, tables.sessions
    expired_key, live_key = secrets.token_hex(32), secrets.token_hex(32)
    expired_session, live_session = f"sess_{secrets.token_hex(10)}", f"sess_{secrets.token_hex(10)}"
    async with container.engine.begin() as conn:
        for scope_key, expires in (
            (expired_key, now - timedelta(seconds=5)),
            (live_key, now + timedelta(hours=1)),
        ):
            await conn.execute(
                sa.insert(keys).values(
                    scope_key=scope_key,
                    request_hash="0" * 64,
                    method="POST",
                    path="/x",
                    state="completed",
                    created_at=now - timedelta(days=2),
                    locked_until=now - timedelta(days=2),
                    expires_at=expires,
                )
            )
        for sid, expires in (
            (expired_session, now - timedelta(seconds=5)),
            (live_session, now + timedelta(hours=1)),
        ):
            await conn.execute(
                sa.insert(sessions).values(
                    id=sid,
                    account_id=u.id,
                    token_hash=hash_token(sid),
                    csrf_token="x",
                    created_at=now - timedelta(days=2),
                    expires_at=expires,
                )
            )

    done = run_cli(env_for(settings), "worker", "--once")
    assert done.returncode == 0, done.stderr

    async with container.engine.connect() as conn:
        left_keys = set((await conn.execute(sa.select(keys.c.scope_key))).scalars())
        left_sessions = set((await conn.execute(sa.select(sessions.c.id))).scalars())
    assert expired_key not in left_keys and live_key in left_keys
    assert expired_session not in left_sessions and live_session in left_sessions
    # The logged-in user's own session is untouched.
    assert (await client.get("/auth/me")).status_code == 200


@pytest.mark.slow
def test_production_without_keys_refuses_to_serve(tmp_path: Path) -> None:
    env = {
        "MINISHOP_ENV": "production",
        "MINISHOP_VAR_DIR": str(tmp_path),
        "MINISHOP_PUBLIC_BASE_URL": "https://shop.example.com",
    }
    started = time.monotonic()
    done = run_cli(env, "serve", "--workers", "2", "--port", "0", timeout=30)
    assert done.returncode != 0
    assert time.monotonic() - started < 20
    assert "MINISHOP_ENCRYPTION_KEYS" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_production_with_auto_approve_refuses_to_serve(tmp_path: Path) -> None:
    env = {
        "MINISHOP_ENV": "production",
        "MINISHOP_VAR_DIR": str(tmp_path),
        "MINISHOP_AUTO_APPROVE_REVIEWS": "true",
        "MINISHOP_PUBLIC_BASE_URL": "https://shop.example.com",
    }
    done = run_cli(env, "serve", "--port", "0", timeout=30)
    assert done.returncode != 0
    assert "MINISHOP_AUTO_APPROVE_REVIEWS" in done.stderr


def test_auto_approve_is_refused_in_production(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MINISHOP_AUTO_APPROVE_REVIEWS"):
        Settings(
            env="production",
            var_dir=tmp_path,
            public_base_url="https://shop.example.com",
            auto_approve_reviews=True,
        )
    assert Settings(env="development", var_dir=tmp_path, auto_approve_reviews=True)
    assert not Settings(
        env="production", var_dir=tmp_path, public_base_url="https://shop.example.com"
    ).auto_approve_reviews


def test_production_needs_the_public_base_url(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MINISHOP_PUBLIC_BASE_URL"):
        Settings(env="production", var_dir=tmp_path)
    dev = Settings(env="development", var_dir=tmp_path)
    assert dev.public_base_url.startswith("http://127.0.0.1:")


def test_a_webhook_lease_must_outlast_an_attempt(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MINISHOP_WEBHOOK_LEASE_SECONDS"):
        Settings(var_dir=tmp_path, webhook_lease_seconds=5, webhook_timeout_seconds=5)
    assert Settings(var_dir=tmp_path, webhook_lease_seconds=6, webhook_timeout_seconds=5)


def test_public_base_url_follows_where_the_server_listens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PORT", "MINISHOP_PORT", "MINISHOP_HOST", "MINISHOP_PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(var_dir=tmp_path, port=9123).public_base_url == "http://127.0.0.1:9123"
    # A wildcard bind is advertised on loopback; an IPv6 host in brackets.
    assert Settings(var_dir=tmp_path, host="0.0.0.0", port=9124).public_base_url == (
        "http://127.0.0.1:9124"
    )
    assert Settings(var_dir=tmp_path, host="::1", port=9125).public_base_url == (
        "http://[::1]:9125"
    )
    monkeypatch.setenv("PORT", "9126")
    assert Settings(var_dir=tmp_path).public_base_url == "http://127.0.0.1:9126"
    monkeypatch.setenv("MINISHOP_PORT", "9127")
    assert Settings(var_dir=tmp_path).public_base_url == "http://127.0.0.1:9127"
    # Set explicitly, the public base URL (a proxy's address) wins.
    monkeypatch.setenv("MINISHOP_PUBLIC_BASE_URL", "https://shop.example.com/")
    assert Settings(var_dir=tmp_path).public_base_url == "https://shop.example.com"
