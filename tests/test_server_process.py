"""The real processes, started as `make run` starts them: migrate, seed-demo, serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests import db_template
from tests.live_server import free_port, start_server, wait_for_exit

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def minishop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    var = tmp_path_factory.mktemp("var")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")}
    env["MINISHOP_VAR_DIR"] = str(var)
    for step in (("migrate",), ("seed-demo",), ("seed-demo",)):
        done = minishop(env, *step)
        assert done.returncode == 0, done.stderr
    port = free_port()
    proc = start_server(["serve", "--port", str(port), "--with-worker"], env, var / "serve.log")
    base = f"http://127.0.0.1:{port}"
    workers = [p for p in children(proc.pid) if "app worker" in cmdline(p)]
    assert len(workers) == 1, [cmdline(p) for p in children(proc.pid)]
    yield base, var
    proc.terminate()
    proc.wait(timeout=15)
    # The background worker stops with the server: no stray `python -m app worker` left.
    if not wait_for_exit(workers[0], 10):
        os.kill(workers[0], 9)
        raise AssertionError("the worker outlived `serve --with-worker`")


def test_health_docs_and_spec(served: tuple[str, Path]) -> None:
    base, _ = served
    assert httpx.get(base + "/healthz").json() == {"status": "ok"}
    assert httpx.get(base + "/readyz").json() == {"status": "ok"}
    docs = httpx.get(base + "/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()
    spec = httpx.get(base + "/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/merchant/shops" in spec["paths"]
    metrics = httpx.get(base + "/metrics").text
    assert "minishop_http_requests_total" in metrics


def test_demo_data_is_complete_and_not_duplicated(served: tuple[str, Path]) -> None:
    base, var = served
    demo = json.loads((var / "demo.json").read_text())
    for key in ("operator", "merchant", "buyer", "developer", "app", "shops", "products"):
        assert key in demo
    app = demo["app"]
    assert app["client_id"].startswith("msc_") and app["client_secret"].startswith("mss_")
    assert app["redirect_uri"].startswith("http://127.0.0.1:")
    market = httpx.get(base + "/v1/market/apps").json()["data"]
    assert app["app_id"] in {a["id"] for a in market}  # published
    categories = httpx.get(base + "/openapi.json").json()["paths"]
    assert "/v1/categories" in categories
    # Five demo products, found again by out_product_id on the second run (no duplicates).
    assert len(demo["products"]) == len(set(demo["products"])) == 5
    with httpx.Client(base_url=base) as c:
        r = c.post(
            "/auth/login",
            json={
                "username": demo["merchant"]["username"],
                "password": demo["merchant"]["password"],
            },
        )
        assert r.status_code == 200, r.text
        shops = c.get("/merchant/shops").json()["data"]
    # seed-demo ran twice: still exactly the two demo shops, both open.
    assert sorted(s["subject_type"] for s in shops) == ["enterprise", "personal"]
    assert {s["id"] for s in shops} == {
        demo["shops"]["personal"]["id"],
        demo["shops"]["enterprise"]["id"],
    }
    assert all(s["status"] == "open" and s["role"] == "owner" for s in shops)
    with httpx.Client(base_url=base) as c:
        csrf = c.post(
            "/auth/login",
            json={
                "username": demo["merchant"]["username"],
                "password": demo["merchant"]["password"],
            },
        ).json()
        members = c.get(f"/merchant/shops/{demo['shops']['enterprise']['id']}/members").json()
    roles = sorted(m["role"] for m in members["data"])
    assert roles == ["admin", "customer_service", "finance", "operator", "owner"]
    assert csrf["csrf_token"]


@contextmanager
def bare_server(tmp_path: Path, **settings: str) -> Iterator[str]:
    """`minishop serve` on a migrated, empty database, with `MINISHOP_<NAME>` settings. The
    database is where `serve` looks by default, a copy of the migrated template (`served`
    runs `migrate` itself)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISHOP_")}
    env.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn's own variable must not matter either
    env["MINISHOP_VAR_DIR"] = str(tmp_path)
    env.update({f"MINISHOP_{k.upper()}": v for k, v in settings.items()})
    db_template.create_sqlite_database(tmp_path / "minishop.db")
    port = free_port()
    proc = start_server(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _guesses_from_changing_addresses(base: str) -> list[int]:
    """Three wrong logins from 127.0.0.1, each claiming another X-Forwarded-For."""
    statuses = []
    for i in range(3):
        r = httpx.post(
            base + "/auth/login",
            json={"username": f"nobody{i}", "password": "Wr0ng-passw0rd"},
            headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
        )
        statuses.append(r.status_code)
    return statuses


def test_the_server_believes_x_forwarded_for_only_from_listed_proxies(tmp_path: Path) -> None:
    # By default nobody is believed, 127.0.0.1 included: the third guess hits the limit.
    with bare_server(tmp_path / "default", login_attempts_per_ip="2") as base:
        assert _guesses_from_changing_addresses(base) == [401, 401, 429]
    # Behind a listed proxy each forwarded address has its own limit.
    with bare_server(
        tmp_path / "proxied", login_attempts_per_ip="2", forwarded_allow_ips="127.0.0.1"
    ) as base:
        assert _guesses_from_changing_addresses(base) == [401, 401, 401]
