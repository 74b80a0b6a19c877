"""Where webhooks may go: public addresses only (IPv6 forms that carry an IPv4 address judged by
it), a few ports, and the address that was checked is the one connected to (DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.container import Container
from app.infra.webhooks.dispatcher import NO_RESPONSE, Dispatcher
from app.infra.webhooks.urls import AddressGuard
from app.settings import Settings
from tests.oauth_support import AppCreds, authorized
from tests.webhook_support import receiver, subscribe

PUBLIC = "93.184.216.34"


async def _never(host: str, port: int) -> list[str]:
    raise AssertionError(f"an address literal was looked up: {host}")


# --- addresses and ports (items 8 and 9) --------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",  # IPv4-compatible
        "[::7f00:1]",
        "[64:ff9b::7f00:1]",  # NAT64 of loopback
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of the metadata address
        "[64:ff9b:1::a9fe:a9fe]",  # local-use NAT64
        "[2002:7f00:1::1]",  # 6to4 of loopback
        "[2002:a9fe:a9fe::1]",  # 6to4 of link-local
        "[::ffff:0:7f00:1]",  # IPv4-translated
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:a9fe:a9fe]",
        "[fec0::1]",  # site-local
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
        "[::1]",
        "[fe80::1]",
        "[fc00::1]",
        "[ff02::1]",  # multicast
        "224.0.0.1",
        "0.0.0.0",
        "100.64.0.1",  # shared address space (carrier NAT)
        "127.0.0.1",
        "169.254.169.254",
    ],
)
async def test_non_public_addresses_are_refused_in_every_form(host: str) -> None:
    guard = AddressGuard(allow_private=False, resolver=_never)
    refusal = await guard.refusal(f"https://{host}/hooks")
    assert refusal is not None and "public" in refusal


@pytest.mark.parametrize(
    "host",
    [
        PUBLIC,
        "[2606:4700:4700::1111]",
        "[::ffff:93.184.216.34]",  # IPv4-mapped public
        "[64:ff9b::5db8:d822]",  # NAT64 of a public address
        "[2002:5db8:d822::1]",  # 6to4 of a public address
    ],
)
async def test_public_addresses_are_accepted(host: str) -> None:
    guard = AddressGuard(allow_private=False, resolver=_never)
    assert await guard.refusal(f"https://{host}/hooks") is None


async def test_only_the_web_ports_unless_widened() -> None:
    strict = AddressGuard(allow_private=False, resolver=_never)
    for port in (22, 25, 6379, 8000, 8443, 9999):
        refusal = await strict.refusal(f"https://{PUBLIC}:{port}/")
        assert refusal is not None and f"Port {port}" in refusal, port
    for url in (f"https://{PUBLIC}/", f"https://{PUBLIC}:443/", f"https://{PUBLIC}:80/"):
        assert await strict.refusal(url) is None, url
    # Where private addresses are allowed (development), 8000-9999 too.
    dev = AddressGuard(allow_private=True)
    for port in (8000, 8080, 9999):
        assert await dev.refusal(f"http://127.0.0.1:{port}/") is None, port
    for port in (22, 5432, 7999, 10000):
        assert await dev.refusal(f"http://127.0.0.1:{port}/") is not None, port
    # A setting widens the list.
    widened = AddressGuard.from_settings(
        Settings(env="test", webhook_allowed_ports="8443, 9100-9102"), resolver=_never
    )
    for port in (8443, 9100, 9102, 443):
        assert await widened.refusal(f"https://{PUBLIC}:{port}/") is None, port
    for port in (22, 9103):
        assert await widened.refusal(f"https://{PUBLIC}:{port}/") is not None, port
    with pytest.raises(ValueError):
        Settings(env="test", webhook_allowed_ports="22-x")


async def test_the_api_refuses_such_urls(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = await authorized(client)
    dev = auth.app.developer
    monkeypatch.setattr(
        container, "webhook_guard", AddressGuard(allow_private=False, resolver=_never)
    )
    base = f"/v1/apps/{auth.app.id}/webhook-endpoints"
    for url in (f"https://{PUBLIC}:22/", "https://[64:ff9b::7f00:1]/h", "https://[fec0::1]/h"):
        r = await dev.client.post(base, json={"url": url, "topics": ["*"]}, headers=dev.h)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["errors"][0]["type"] == "url_refused"
    assert (await dev.client.get(base)).json()["data"] == []


# --- DNS rebinding (item 7) ---------------------------------------------------------------------


def _certificate(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for `name` and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@dataclass
class Net:
    """A stub network: names answer from queues (the last answer repeats), and connections to
    the mapped (address, port) pairs reach local servers; every connection is recorded."""

    answers: dict[str, list[str]]
    routes: dict[tuple[str, int], int | str] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)

    def answer(self, host: str) -> str:
        self.lookups.append(host)
        queue = self.answers[host]
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    """Patches the two places any resolution or connection goes through: `socket.getaddrinfo`
    (the stub resolver) and `anyio.connect_tcp` (httpcore's sockets)."""
    state = Net(answers={})
    real_getaddrinfo = socket.getaddrinfo
    real_connect = anyio.connect_tcp

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if host in state.answers:
            address = state.answer(host)
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, int(port or 0))
            return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
        return real_getaddrinfo(host, port, *args, **kwargs)

    async def connect_tcp(remote_host: str, remote_port: int, **kwargs: Any) -> Any:
        try:
            address = str(ipaddress.ip_address(remote_host))
        except ValueError:  # a name: resolved here, as anyio would
            address = getaddrinfo(remote_host, remote_port)[0][4][0]
        state.connects.append((address, remote_port))
        route = state.routes.get((address, remote_port), "refuse")
        if route == "hang":
            await asyncio.sleep(3600)
        if route == "refuse":
            raise ConnectionRefusedError(111, "Connection refused")
        return await real_connect("127.0.0.1", int(route))

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(anyio, "connect_tcp", connect_tcp)
    yield state


def _dispatcher(container: Container, verify: ssl.SSLContext) -> Dispatcher:
    """The worker as deployed: private addresses refused."""
    settings = container.settings.model_copy(
        update={"webhook_allow_private": False, "webhook_timeout_seconds": 0.5}
    )
    return Dispatcher(container.engine, container.cipher, settings, verify=verify)


async def _ping(app: AppCreds, endpoint: dict[str, Any]) -> None:
    dev = app.developer
    r = await dev.client.post(
        f"/v1/apps/{app.id}/webhook-endpoints/{endpoint['id']}/test", headers=dev.h
    )
    assert r.status_code == 202, r.text


async def _attempts(app: AppCreds, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    r = await app.developer.client.get(
        f"/v1/apps/{app.id}/webhook-endpoints/{endpoint['id']}/attempts"
    )
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def test_the_sender_connects_to_the_address_it_checked(
    client: httpx.AsyncClient, container: Container, net: Net, tmp_path: Path
) -> None:
    """The name answers a public address first and loopback after: the worker resolves once,
    connects to the public address (keeping Host, SNI and certificate checks for the name), and
    never to loopback. Later, the name answers loopback only: nothing is sent anywhere."""
    cert_pem, key_pem = _certificate("hooks.example")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    internal_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    internal_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    trust = ssl.create_default_context(cadata=cert_pem.decode())
    auth = await authorized(client)
    with receiver(tls=server_tls) as public, receiver(tls=internal_tls) as internal:
        net.answers["hooks.example"] = [PUBLIC, "127.0.0.1"]
        net.routes = {(PUBLIC, 443): public.port, ("127.0.0.1", 443): internal.port}
        endpoint = await subscribe(client, auth.app, "https://hooks.example/hooks", ["*"])
        await _ping(auth.app, endpoint)
        dispatcher = _dispatcher(container, trust)
        try:
            await dispatcher.run_once()
            assert [r.json["type"] for r in public.received] == ["webhook.ping"]
            assert public.received[0].headers["host"] == "hooks.example"
            assert public.server_names == ["hooks.example"]
            assert public.verified(endpoint["secret"])
            assert net.lookups == ["hooks.example"]  # resolved once, for the connection
            assert net.connects == [(PUBLIC, 443)]

            # The name now answers loopback only: a fresh connection is refused, and the
            # attempt log says no more than that nothing answered.
            net.answers["hooks.example"] = ["127.0.0.1"]
        finally:
            await dispatcher.close()
        await _ping(auth.app, endpoint)
        dispatcher = _dispatcher(container, trust)  # a fresh connection pool
        try:
            await dispatcher.run_once()
        finally:
            await dispatcher.close()
        assert internal.received == [] and internal.server_names == []
        assert all(address == PUBLIC for address, _ in net.connects)
        assert len(public.received) == 1
        latest = (await _attempts(auth.app, endpoint))[0]
        assert latest["status_code"] is None and latest["error"] == NO_RESPONSE
        assert "127.0.0.1" not in str(latest)


async def test_failed_connections_all_read_the_same(
    client: httpx.AsyncClient, container: Container, net: Net
) -> None:
    """A name that is blocked (private), a refused port, a port that never answers and a name
    that does not resolve: the provider reads one error and no timing for all of them."""
    net.answers |= {
        "blocked.example": ["10.0.0.7"],
        "refused.example": ["93.184.216.35"],
        "silent.example": ["93.184.216.36"],
        "nowhere.example": [],  # does not resolve
    }
    net.routes = {("93.184.216.36", 443): "hang"}
    auth = await authorized(client)
    endpoints = [
        await subscribe(client, auth.app, f"https://{name}/hooks", ["webhook.ping"])
        for name in ("blocked", "refused", "silent", "nowhere")
    ]
    for endpoint in endpoints:
        await _ping(auth.app, endpoint)
    dispatcher = _dispatcher(container, ssl.create_default_context())
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.close()
    seen = []
    for endpoint in endpoints:
        [attempt] = await _attempts(auth.app, endpoint)
        seen.append(
            tuple(attempt[k] for k in ("error", "latency_ms", "status_code", "response_head"))
        )
    assert seen == [(NO_RESPONSE, 0, None, None)] * 4
    assert ("10.0.0.7", 443) not in net.connects
