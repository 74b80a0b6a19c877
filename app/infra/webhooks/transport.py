"""The webhook sender's HTTP client: every new connection goes to an address the guard
resolved and checked, in one step.

httpx would otherwise resolve the name a second time when it connects, and a name that
answers a public address to the check and a loopback one to the connect (DNS rebinding) would
reach the platform's own network. Here the name is resolved only inside `connect_tcp`, by the
guard, and the socket is opened to the checked address; the request still names the host
(`Host` header, TLS SNI and certificate verification), since httpx never learns of the swap.
"""

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx

from app.infra.webhooks.urls import AddressGuard, AddressRefused


class RefusedConnect(httpcore.ConnectError):
    """The guard refused the host's addresses: a connection failure like any other."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None):
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.guard.addresses(host, port)
        except AddressRefused as e:
            raise RefusedConnect(str(e)) from e
        failure: Exception | None = None
        for address in addresses:  # each checked; the first that answers
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                failure = e
        assert failure is not None  # `addresses` is never empty
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedConnect("Webhooks are sent over TCP only.")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def webhook_client(
    guard: AddressGuard,
    *,
    timeout: float,
    concurrency: int,
    headers: dict[str, str],
    verify: ssl.SSLContext | bool = True,
    network: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """No redirects, no proxies from the environment (a proxy would resolve the name itself),
    and the pinned backend under httpx's own connection pool."""
    transport = httpx.AsyncHTTPTransport()
    # httpx takes no network backend; its pool (httpcore) does: the pool httpx would build,
    # with the backend.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
        max_connections=concurrency,
        max_keepalive_connections=concurrency,
        keepalive_expiry=5.0,
        network_backend=PinnedBackend(guard, network),
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        headers=headers,
        trust_env=False,
    )
