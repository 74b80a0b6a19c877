"""`minishop serve --with-worker` stopped with SIGTERM (docker stop, systemd, a test's
teardown) stops its worker, and the worker its bulk process, instead of leaving them
orphaned."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests import db_template
from tests.live_server import (
    children,
    free_port,
    running,
    start_server,
    wait_for_exit,
)

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigterm_to_serve_stops_its_worker(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")}
    env.update(
        {
            "MINISHOP_VAR_DIR": str(tmp_path),
            # Migrated already (a copy of the template, tests/db_template.py).
            "MINISHOP_DATABASE_URL": db_template.create_sqlite_database(tmp_path / "minishop.db"),
            "PORT": str(port),
        }
    )
    proc = start_server(["serve", "--port", str(port), "--with-worker"], env, tmp_path / "log")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
        workers = children(proc.pid)
        assert workers, "serve --with-worker started no worker process"
        bulk = _bulk_processes(workers)

        proc.send_signal(signal.SIGTERM)  # the server process only, not its group
        assert proc.wait(timeout=20) == 128 + signal.SIGTERM
        for pid in [*workers, *bulk]:
            wait_for_exit(pid, 10)
        assert not [w for w in workers if running(w)], "the worker outlived serve"
        assert not [b for b in bulk if running(b)], "the bulk process outlived serve"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _bulk_processes(workers: list[int], timeout: float = 60) -> list[int]:
    """The bulk process each worker starts (`minishop bulk-worker`), once they all have one."""
    deadline = time.monotonic() + timeout
    while True:
        found = [c for w in workers for c in children(w)]
        if len(found) == len(workers):
            return found
        assert time.monotonic() < deadline, "the worker started no bulk process"
        time.sleep(0.05)
