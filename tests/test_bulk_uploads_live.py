"""Bulk uploads against the real server process on loopback: clients that trickle their
bodies do not take the service down, and big uploads are streamed to storage, not held in
the server's memory."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer, live_server
from tests.product_support import Provider, provider

pytestmark = pytest.mark.slow

BODY_TIMEOUT = 10
MiB = 1 << 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {
        "MINISHOP_BODY_READ_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        # High enough that the twelve trickling uploads below are all let in: what keeps the
        # service up is that none of them holds a database connection.
        "MINISHOP_BULK_UPLOADS_PER_APP": "20",
    }
    with live_server(tmp_path_factory, settings) as s:
        yield s


async def _providers(server: LiveServer, n: int) -> list[Provider]:
    client = httpx.AsyncClient(base_url=server.base_url, timeout=30)
    return [await provider(client) for _ in range(n)]


async def _trickle(
    server: LiveServer, token: str, seconds: float, sending: asyncio.Event | None = None
) -> bytes:
    """Promise 100 000 bytes, then send one a second (`sending` is set once the first has
    gone out); what the server answers."""
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "POST /v1/products/bulk-imports HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: text/csv\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode()
    )
    answer = b""
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            writer.write(b"o")
            await writer.drain()
            if sending is not None:
                sending.set()
            try:
                answer = await asyncio.wait_for(reader.read(65536), 1.0)
            except TimeoutError:
                continue
            break
        while answer and b"\r\n\r\n" in answer and not answer.endswith(b"}"):
            more = await asyncio.wait_for(reader.read(65536), 5)
            if not more:
                break
            answer += more
    except ConnectionError:
        pass
    finally:
        writer.close()
    return answer


async def test_trickling_uploads_hold_no_connection_and_time_out(server: LiveServer) -> None:
    uploader, reader = await _providers(server, 2)
    token = uploader.auth.tokens["access_token"]
    sending = [asyncio.Event() for _ in range(12)]
    trickles = [asyncio.create_task(_trickle(server, token, BODY_TIMEOUT + 8, s)) for s in sending]
    async with asyncio.timeout(60):
        await asyncio.gather(*(s.wait() for s in sending))  # all twelve are sending bodies
    # Another shop's reads keep answering, fast, while the uploads trickle in.
    latencies = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as c:
        for _ in range(12):
            started = time.monotonic()
            r = await c.get("/v1/products", headers=reader.h)
            latencies.append(time.monotonic() - started)
            assert r.status_code == 200, r.text
            ready = await c.get("/readyz")
            assert ready.status_code == 200, ready.text
            await asyncio.sleep(0.3)
    assert max(latencies) < 2.0, latencies
    answers = await asyncio.gather(*trickles)
    # Each trickling upload is cut off after the body read timeout, with a problem.
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer
        assert b"application/problem+json" in head
        assert b'"code":"body_read_timeout"' in body.replace(b" ", b"")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as c:
        r = await c.get("/v1/bulk-jobs", headers=uploader.h)
        assert r.json()["data"] == []


def _rss(pid: int) -> int:
    """Resident memory of the process and its children, in bytes."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _big_csv(size: int) -> tuple[bytes, int]:
    header = b"out_product_id,title,category_id,out_sku_id,price,stock\n"
    filler = "x" * 200
    rows = []
    length = len(header)
    i = 0
    while length < size:
        row = f"big-{i},Dress {i} {filler},cat_apparel_women_dresses,big-{i}-m,19900,5\n".encode()
        rows.append(row)
        length += len(row)
        i += 1
    return header + b"".join(rows), i


async def test_four_concurrent_60_mib_uploads_stay_under_250_mib_of_server_memory(
    server: LiveServer,
) -> None:
    (p,) = await _providers(server, 1)
    content, lines = _big_csv(60 * MiB)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(server.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    before = _rss(server.pid)
    sampler.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as c:
            answers = await asyncio.gather(
                *(
                    c.post(
                        "/v1/products/bulk-imports",
                        content=content,
                        # The idempotency layer reads the body before the route: it spools too.
                        headers={**p.h, "Content-Type": "text/csv"}
                        | ({"Idempotency-Key": f"big-{i}"} if i % 2 else {}),
                    )
                    for i in range(4)
                )
            )
    finally:
        done.set()
        sampler.join()
    for r in answers:
        assert r.status_code == 202, r.text
        assert r.json()["total"] == lines
    print(f"server RSS before {before // MiB} MiB, peak {peak // MiB} MiB")
    assert peak < 250 * MiB, (before // MiB, peak // MiB)
