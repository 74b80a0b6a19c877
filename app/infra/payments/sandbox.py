"""The sandbox payment gateway: a stand-in for WeChat Pay and the like, for development,
tests and providers trying the platform.

As a gateway it keeps its own ledger (`sandbox_charges`): a payment opened here is paid at
once (the sandbox's buyer never hesitates), and the sandbox then tells the platform so, as a
real gateway does, by an HTTP notification to `POST /callbacks/payments/sandbox`, signed
with its own secret (HMAC-SHA256). The notification is sent by the worker, which plays the
gateway: a durable timer (`sandbox.notify`) scheduled when the payment is opened, whose
effect is the HTTP call, made outside any transaction and retried until the platform
answers. Its query answers from the ledger; its refund marks the ledger's charge refunded.

The ledger (`app/infra/db/repositories/sandbox.py`, the gateway port) lives in the platform's
database and is written in the caller's transaction, so a payment that fails to be recorded
leaves no charge behind; a real gateway's calls are HTTP requests that no rollback undoes,
which the settlement rules allow for (a refund is asked for once the outcome is decided, and
a gateway refund is idempotent per payment).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from app.domain.timers.model import Timer

log = logging.getLogger("minishop.payments.sandbox")

SANDBOX = "sandbox"
#: The timer whose effect is the sandbox's notification (key: the charge's reference).
NOTIFY = "sandbox.notify"
CALLBACK_PATH = "/callbacks/payments/sandbox"
#: The timer whose effect is the sandbox's refund notification (key: the refund's reference).
REFUND_NOTIFY = "sandbox.refund_notify"
REFUND_CALLBACK_PATH = "/callbacks/refunds/sandbox"
TIMESTAMP_HEADER = "Sandbox-Timestamp"
SIGNATURE_HEADER = "Sandbox-Signature"
#: A notification signed longer ago (or ahead) than this is refused: a replay window.
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
) -> bool:
    """The notification's signature is the sandbox's, made within the tolerance."""
    if not secret or not timestamp or not signature or not timestamp.isdigit():
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s.strip()) for s in signature.split(","))


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


@dataclass(frozen=True)
class SandboxSigner:
    """The sandbox's secret, as the platform's callback checks it."""

    secret: str | None
    timestamp_header: str = TIMESTAMP_HEADER
    signature_header: str = SIGNATURE_HEADER

    def verify(self, timestamp: str | None, signature: str | None, body: bytes) -> bool:
        return verify(self.secret, timestamp, signature, body)

    def headers(self, body: bytes) -> dict[str, str]:
        if not self.secret:
            raise RuntimeError("no sandbox payment secret")
        return signed_headers(self.secret, body)


def notification(row: Any) -> dict[str, Any]:
    """The body the sandbox sends for a paid charge."""
    return {
        "shop_id": row.shop_id,
        "reference": row.id,
        "out_trade_no": row.payment_id,
        "transaction_id": row.transaction_id,
        "amount": row.amount,
        "currency": "CNY",
        "state": str(row.state),
        "paid_at": row.paid_at.isoformat().replace("+00:00", "Z") if row.paid_at else None,
    }


def refund_notification(row: Any) -> dict[str, Any]:
    """The body the sandbox sends for a refund (a row of its refunds, as a mapping)."""
    return {
        "shop_id": row["shop_id"],
        "reference": row["id"],
        "out_refund_no": row["refund_id"],
        "amount": row["amount"],
        "currency": "CNY",
        "state": row["state"],
    }


class NotificationRefused(RuntimeError):
    """The platform did not take the notification; the timer tries again later."""


class SandboxNotifier:
    """The worker's side of the sandbox: sends a charge's notification, signed, to the
    platform's callback, and retries (by failing) until the platform answers."""

    def __init__(self, base_url: str, secret: str | None, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + CALLBACK_PATH
        self.secret = secret
        self.client = client

    @classmethod
    def over_http(cls, base_url: str, secret: str | None, timeout: float) -> SandboxNotifier:
        return cls(
            base_url,
            secret,
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False),
        )

    async def __call__(self, timer: Timer) -> None:
        if not self.secret:
            log.warning(
                "no sandbox payment secret: notification not sent", extra={"key": timer.key}
            )
            return
        body = json.dumps(timer.payload["notification"], separators=(",", ":")).encode()
        try:
            # A payment's notification goes to the payments callback; others name their path.
            url = self.base_url + timer.payload["path"] if "path" in timer.payload else self.url
            r = await self.client.post(url, content=body, headers=signed_headers(self.secret, body))
        except httpx.HTTPError as e:
            raise NotificationRefused(f"{type(e).__name__}: {e}") from e
        if r.is_success:
            return
        if r.status_code in (404, 422):
            # Nothing a retry would change (the payment is gone, the body refused): logged.
            log.error(
                "the platform refused a sandbox notification",
                extra={"key": timer.key, "status": r.status_code, "body": r.text[:500]},
            )
            return
        raise NotificationRefused(f"{r.status_code} {r.text[:200]}")

    async def aclose(self) -> None:
        await self.client.aclose()


def paid_at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
