"""The real server process for end-to-end tests, started as `make run` starts it.

A fresh var dir and a fresh database already migrated to head (a copy of the process's
template, `tests/db_template.py`: `migrate` would run the same migrations again, in a process
of its own, for every server; `test_server_process` runs it), then `seed-demo` and `serve` on
a free port. `PORT` and the public base URL are set for
both seed-demo and serve, so the demo app's docs redirect URI and the token issuer name the
port the server listens on; with `port_from_cli=True` neither is set and only the commands'
`--port` says where the server is, as `make run` runs them.
The server runs in its own process group; teardown stops the whole group.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import db_template

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MINISHOP_TEST_DATABASE_URL", "")


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    var_dir: Path
    log: Path
    demo: dict[str, Any]
    #: The serving process (uvicorn runs in it with one worker).
    pid: int = 0
    #: The environment the processes ran with and the `serve` arguments: `serving` starts
    #: another server on the same database (after one died).
    env: dict[str, str] = field(default_factory=dict)
    listen: tuple[str, ...] = ()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def venv_python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv if venv.exists() else sys.executable)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def _database(var_dir: Path) -> Iterator[str]:
    """A database of its own, migrated to head (a copy of the process's template,
    `tests/db_template.py`): SQLite in the var dir, or, with PostgreSQL, dropped after."""
    var_dir.mkdir(parents=True, exist_ok=True)
    if not PG_URL:
        yield db_template.create_sqlite_database(var_dir / "minishop.db")
        return
    url = db_template.create_pg_database("minishop_e2e")
    try:
        yield url
    finally:
        db_template.drop_pg_database(url)


@contextmanager
def live_server(
    tmp_path_factory: pytest.TempPathFactory,
    settings: dict[str, str] | None = None,
    *,
    port_from_cli: bool = False,
) -> Iterator[LiveServer]:
    """`settings`: more environment for the processes (`MINISHOP_*` variables)."""
    root = tmp_path_factory.mktemp("live")
    var_dir = root / "var"
    log = root / "server.log"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_") and k != "PORT"}
    env.update(
        {
            "MINISHOP_VAR_DIR": str(var_dir),
            "MINISHOP_ENV": "development",
            # Explicit, so that a developer's .env cannot point the processes elsewhere (empty:
            # derived from where the server listens).
            "MINISHOP_PUBLIC_BASE_URL": "" if port_from_cli else base_url,
            "PYTHONUNBUFFERED": "1",
            # Cheap argon2 parameters, as in-process tests use (tests/conftest.py).
            "MINISHOP_PASSWORD_HASH_PROFILE": "fast",
            **(settings or {}),
        }
    )
    if not port_from_cli:
        env["PORT"] = str(port)
    listen = ["--host", "127.0.0.1", "--port", str(port)]
    env.update(settings or {})
    with _database(var_dir) as database_url:
        env["MINISHOP_DATABASE_URL"] = database_url
        step = ["seed-demo", *(listen if port_from_cli else [])]
        done = subprocess.run(
            [venv_python(), "-m", "app", *step],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"`minishop {' '.join(step)}` failed:\n{done.stdout}\n{done.stderr}")
        demo = json.loads((var_dir / "demo.json").read_text())

        with serving(env, listen, base_url, log) as proc:
            yield LiveServer(
                base_url, var_dir, log, demo, proc.pid, env=dict(env), listen=tuple(listen)
            )


#: What uvicorn logs once its socket is bound and the app's start-up has run.
LISTENING = b"Uvicorn running on"
#: Bounds a start that fails silently; a healthy start ends the wait as soon as the server
#: says it listens, however loaded the machine (a start-up takes seconds of CPU).
START_TIMEOUT = 300.0


def start_server(
    args: Sequence[str], env: dict[str, str], log: Path, *, cwd: Path = REPO
) -> subprocess.Popen[bytes]:
    """`python -m app <args>` (a `serve`) in its own process group, returned once it logs that
    it listens: its output is read line by line (and copied to `log`) rather than polled.
    Fails the test, with the log, if it exits first."""
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [venv_python(), "-m", "app", *args],
        cwd=cwd,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    listening, ended = threading.Event(), threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        with proc.stdout, log.open("ab") as out:
            # Until every process holding the pipe (a `--with-worker` worker too) has exited.
            for line in proc.stdout:
                out.write(line)
                out.flush()
                if LISTENING in line:
                    listening.set()
        ended.set()
        listening.set()  # wakes the wait below: the output ended before the server listened

    threading.Thread(target=pump, name=f"server-log-{proc.pid}", daemon=True).start()
    if not listening.wait(START_TIMEOUT) or ended.is_set():
        _stop(proc)
        ended.wait(10)
        pytest.fail(f"the server did not start (exit {proc.poll()}):\n{log.read_text()}")
    return proc


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def running(pid: int) -> bool:
    """Whether `pid` exists and has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Whether `pid` (any process, not only a child) exits within `timeout`: woken by the
    kernel when it does (a pidfd), not by polling."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


@contextmanager
def serving(
    env: dict[str, str], listen: Sequence[str], base_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`serve` with this environment, once it answers `/healthz`; stopped on exit. Its output
    goes straight to `log` (a browser test's Swagger UI stalled with it read through a pipe,
    cause not yet found), so this one polls `/healthz`, bounded by START_TIMEOUT."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [venv_python(), "-m", "app", "serve", *listen],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /healthz:\n{log.read_text()}")
            time.sleep(0.05)
        yield proc
    finally:
        _stop(proc)


def login_session(base_url: str, username: str, password: str) -> httpx.Client:
    """A plain client holding the merchant's session cookie (POST /auth/login)."""
    client = httpx.Client(base_url=base_url, timeout=10)
    r = client.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return client
