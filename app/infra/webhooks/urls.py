"""Webhook URLs may not reach the platform's own network: private, loopback, link-local,
multicast and reserved addresses are refused, when subscribing and again before every send
(a name can be re-pointed after it was checked), unless the deployment allows them."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class AddressGuard:
    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def refusal(self, url: str) -> str | None:
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
        if self.allow_private:
            return None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError):
            return f"{parts.hostname} does not resolve."
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if not ip.is_global:
                return (
                    f"{parts.hostname} resolves to {ip}, a private, loopback or reserved "
                    "address; webhooks go to public addresses only."
                )
        return None
