"""`minishop serve --with-worker` stopped with SIGTERM (docker stop, systemd, a test's
teardown) stops its worker too instead of leaving it orphaned."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.live_server import REPO, free_port, start_server, venv_python, wait_for_exit

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
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


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigterm_to_serve_stops_its_worker(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")}
    env.update(
        {
            "MINISHOP_VAR_DIR": str(tmp_path),
            "MINISHOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'minishop.db'}",
            "PORT": str(port),
        }
    )
    migrated = subprocess.run(
        [venv_python(), "-m", "app", "migrate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    proc = start_server(["serve", "--port", str(port), "--with-worker"], env, tmp_path / "log")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
        workers = _children(proc.pid)
        assert workers, "serve --with-worker started no worker process"

        proc.send_signal(signal.SIGTERM)  # the server process only, not its group
        assert proc.wait(timeout=20) == 128 + signal.SIGTERM
        for w in workers:
            wait_for_exit(w, 10)
        assert not [w for w in workers if _running(w)], "the worker outlived serve"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
