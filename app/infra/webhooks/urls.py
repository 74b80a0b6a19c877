"""Webhook URLs may not reach the platform's own network: private, loopback, link-local,
multicast and reserved addresses are refused, IPv6 forms that carry an IPv4 address are judged
by that address, and only a few ports may be called, unless the deployment allows more.

A URL is checked when it is subscribed, and again by the sender for every new connection: the
sender resolves the name once, checks every address, and connects to a checked address (see
`app.infra.webhooks.transport`), so a name that answers a public address to the check and a
private one to the connect (DNS rebinding) never reaches the private one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from app.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Ports a webhook URL may name; 8000-9999 too where private addresses are allowed (local
#: development servers). `MINISHOP_WEBHOOK_ALLOWED_PORTS` adds more.
DEFAULT_PORTS = frozenset({80, 443})
PRIVATE_PORTS = frozenset(range(8000, 10000))

#: (host, port) → the addresses the name stands for, as text.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 "IPv4-translated"
_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated "IPv4-compatible"
_TEREDO = ipaddress.ip_network("2001::/32")


def is_public(ip: IPAddress) -> bool:
    """A globally routable unicast address; an IPv6 address that embeds an IPv4 one (mapped,
    NAT64, 6to4) is judged by the IPv4 address, and the deprecated or tunnelled forms
    (IPv4-compatible, IPv4-translated, local-use NAT64, Teredo, site-local) are refused."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if ip in _NAT64:
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            return is_public(ip.sixtofour)
        if (
            ip in _NAT64_LOCAL
            or ip in _TRANSLATED
            or ip in _COMPATIBLE
            or ip in _TEREDO
            or ip.is_site_local
        ):
            return False
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_unspecified
        and not ip.is_link_local
        and not ip.is_loopback
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class AddressRefused(Exception):
    """The name does not resolve, or not only to public addresses. The message names neither
    the addresses nor which of the two it was: it may reach the URL's owner."""


class AddressGuard:
    def __init__(
        self,
        *,
        allow_private: bool,
        extra_ports: frozenset[int] = frozenset(),
        resolver: Resolver | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.ports = DEFAULT_PORTS | extra_ports | (PRIVATE_PORTS if allow_private else frozenset())
        self.resolver = resolver or system_resolver

    @classmethod
    def from_settings(cls, settings: Settings, resolver: Resolver | None = None) -> AddressGuard:
        return cls(
            allow_private=settings.webhook_allow_private,
            extra_ports=settings.webhook_extra_ports,
            resolver=resolver,
        )

    def url_refusal(self, url: str) -> str | None:
        """What is wrong with the URL as written (no lookup): scheme, credentials, port, and an
        address literal that is not public."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            return "Give an absolute https URL."
        if parts.scheme == "http" and not self.allow_private:
            return "Webhook URLs must use https."
        if parts.username or parts.password:
            return "Credentials in the URL are not allowed; authenticate with the signature."
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return "The URL's port is not valid."
        if port not in self.ports:
            return f"Port {port} is not allowed; use 443 (or 80)."
        ip = _literal(parts.hostname)
        if ip is not None and not self.allow_private and not is_public(ip):
            return (
                f"{ip} is a private, loopback or reserved address; "
                "webhooks go to public addresses only."
            )
        return None

    async def refusal(self, url: str) -> str | None:
        """Why the URL may not be subscribed, or None."""
        refusal = self.url_refusal(url)
        if refusal or self.allow_private:
            return refusal
        host = urlsplit(url).hostname or ""
        try:
            await self.addresses(host, 443)
        except AddressRefused as e:
            return str(e)
        return None

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for `host`, resolved once, every one of them public
        (unless private ones are allowed); raises AddressRefused otherwise."""
        ip = _literal(host)
        if ip is not None:
            if not self.allow_private and not is_public(ip):
                raise AddressRefused(f"{ip} is not a public address.")
            return [str(ip)]
        refused = AddressRefused(f"{host} does not resolve to a public address.")
        try:
            found = await self.resolver(host, port)
        except (OSError, UnicodeError) as e:
            raise refused from e
        addresses = list(dict.fromkeys(found))
        if not addresses:
            raise refused
        if not self.allow_private:
            for address in addresses:
                literal = _literal(address)
                if literal is None or not is_public(literal):
                    raise refused
        return addresses
