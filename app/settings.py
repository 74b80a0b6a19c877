"""Typed settings, read from `MINISHOP_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.aftersales.settings import AfterSaleTimes
from app.domain.funds.ledger import SettlementTerms
from app.domain.orders.insurance import DEFAULT_CLAIM, DEFAULT_CLAIMS, InsuranceTerms

log = logging.getLogger("minishop.settings")


def port_set(spec: str) -> frozenset[int]:
    """`"8443, 9000-9100"` → those ports; ValueError on anything else."""
    ports: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"{part!r} is not a port or a range of ports (1-65535)")
        ports.update(range(first, last + 1))
    return frozenset(ports)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINISHOP_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None

    #: Fernet keys (comma separated, newest first). Generated into the var dir in development.
    encryption_keys: str | None = None
    #: PEM of the EC P-256 key that signs access tokens. Generated into the var dir in development.
    jwt_private_key: str | None = None

    #: PEMs of retired JWT keys still accepted for verification (key rotation).
    jwt_retired_keys: str | None = None

    access_token_ttl_seconds: int = 2 * 3600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    authorization_code_ttl_seconds: int = 600
    client_secret_grace_seconds: int = 24 * 3600
    #: Provider rate limit per (app, shop): a leaky bucket of this size, drained at this rate.
    rate_limit_burst: int = 80
    rate_limit_per_second: float = 4.0

    #: Buyers' storefront tokens (`POST /v1/storefront/token`): a short-lived access token
    #: and a refresh token that rotates on every use, each living this long.
    buyer_token_seconds: int = Field(default=900, ge=60)
    buyer_refresh_token_seconds: int = Field(default=30 * 24 * 3600, ge=300)
    #: The worker prunes a buyer's revoked login (token family) and a refresh token past its
    #: expiry this many days later, and a login whose refresh tokens have all been expired
    #: that long; until then a reused refresh token still revokes its login.
    buyer_token_retention_days: int = Field(default=7, ge=0)

    session_ttl_seconds: int = 14 * 24 * 3600
    max_body_bytes: int = 1_048_576
    #: The body limit of bulk import uploads (`POST /v1/products/bulk-imports`) instead of
    #: `max_body_bytes`: 64 MiB holds well over 100 000 SKU lines.
    bulk_max_body_bytes: int = 64 * 1_048_576
    #: A request's whole body must arrive within this many seconds of its first byte being
    #: awaited, else 408 `body_read_timeout`: a client that trickles its body holds nothing
    #: for longer than that.
    body_read_timeout_seconds: float = 120.0
    #: Bulk uploads one app may be sending at once to one API process; more answer 429
    #: `too_many_uploads`.
    bulk_uploads_per_app: int = 4
    #: Per shop: bulk jobs queued or running at once (429 `bulk_queue_full`), and the bytes
    #: of the uploads they hold (429 `bulk_storage_full`).
    bulk_max_pending_jobs: int = 5
    bulk_max_pending_bytes: int = 256 * 1_048_576
    #: Lines per chunk of a bulk import: one transaction, a few set-based statements.
    bulk_chunk_rows: int = 1000
    #: A running bulk job whose worker has been silent this long is taken over.
    bulk_stale_seconds: float = 60.0
    #: An order left unpaid this long is cancelled and its stock released.
    order_payment_timeout_seconds: int = 1800
    #: Receipt of an order is confirmed for the buyer this many days after it fully shipped.
    order_auto_confirm_days: int = 10
    #: An after-sale the shop leaves unanswered this many days is accepted by the platform.
    aftersale_response_days: float = Field(default=2, gt=0)
    #: An accepted return the buyer has not sent back this many days later closes.
    aftersale_return_days: float = Field(default=7, gt=0)
    #: A return the shop has not confirmed this many days after it was sent back is refunded.
    aftersale_receipt_days: float = Field(default=10, gt=0)

    #: A completed (or closed) order's money is held this many days, then settled: it
    #: becomes the shop's (`available`), less the platform's fee.
    settlement_delay_days: float = Field(default=7, ge=0)
    #: The platform's fee on a settled order, a fraction (0.006: 0.6 %), rounded half up to
    #: the fen per order.
    platform_fee_rate: Decimal = Field(default=Decimal("0.006"), ge=0, lt=1)

    #: The shipping insurance's premium per insured order, in fen, paid by the shop.
    insurance_premium: int = Field(default=150, ge=0)
    #: What a completed return of an insured order is compensated with, in fen, by province
    #: (the first two digits of the region code; JSON), and elsewhere.
    insurance_claims: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_CLAIMS))
    insurance_default_claim: int = Field(default=DEFAULT_CLAIM, ge=0)

    @field_validator("insurance_claims")
    @classmethod
    def _claims_by_province(cls, value: dict[str, int]) -> dict[str, int]:
        for province, amount in value.items():
            if len(province) != 2 or not province.isdigit() or amount < 0:
                raise ValueError(
                    "insurance claims map a province (two digits of a region code) to fen "
                    f"(not negative): {province!r}: {amount!r}"
                )
        return value

    @property
    def insurance_terms(self) -> InsuranceTerms:
        return InsuranceTerms(
            premium=self.insurance_premium,
            claims=MappingProxyType(dict(self.insurance_claims)),
            default_claim=self.insurance_default_claim,
        )

    @property
    def settlement_terms(self) -> SettlementTerms:
        return SettlementTerms(
            delay=timedelta(days=self.settlement_delay_days), fee_rate=self.platform_fee_rate
        )

    @property
    def aftersale_times(self) -> AfterSaleTimes:
        return AfterSaleTimes(
            response=timedelta(days=self.aftersale_response_days),
            return_shipment=timedelta(days=self.aftersale_return_days),
            receipt=timedelta(days=self.aftersale_receipt_days),
        )

    #: The sandbox payment gateway's own secret, signing its notifications (HMAC-SHA256).
    #: Generated into the var dir outside production; in production without it the sandbox
    #: sends no notifications and every sandbox callback is refused (payments then settle
    #: by the worker's query alone).
    sandbox_payment_secret: SecretStr | None = None
    #: The sandbox notifies the platform of a payment this long after it was made.
    sandbox_notify_delay_seconds: float = Field(default=2.0, ge=0)
    #: The sandbox carrier's failures on demand (app/infra/logistics/sandbox_carrier.py):
    #: the first N waybill creations of the process fail as an unavailable carrier would
    #: (503 carrier_unavailable), the first N tracking polls time out (504 carrier_timeout).
    #: 0, no failure, by default; for trying a client's retries against a local server.
    sandbox_carrier_fail_creations: int = Field(default=0, ge=0)
    sandbox_carrier_track_timeouts: int = Field(default=0, ge=0)
    #: How long a label batch's PDF is kept for download (its waybills stay).
    label_batch_ttl_hours: int = Field(default=24, ge=1)
    #: How often the worker asks a carrier where an e-waybill's parcel is (until delivered).
    tracking_poll_seconds: int = Field(default=3600, ge=1)
    #: A payment whose notification has not come this long after it was made is queried
    #: from its gateway by the worker.
    payment_query_after_seconds: int = Field(default=300, ge=1)
    #: How often an idle worker looks for queued bulk jobs and due timers.
    worker_poll_seconds: float = 1.0
    #: How long a worker holds the timers it claimed; a dead worker's timers are then
    #: claimed by another. A handler that runs longer keeps its timer all the same (it is
    #: marked done, and locked, in the handler's own transaction).
    timer_lease_seconds: float = 60.0
    #: Comma-separated modules whose `register(registry)` adds timer handlers to the
    #: worker's (tests, extensions); the built-in handlers are always there.
    worker_timer_modules: str = ""
    idempotency_ttl_seconds: int = 24 * 3600
    login_attempts_per_account: int = 10
    login_attempts_per_ip: int = 50
    login_window_seconds: int = 300
    #: Self-service registrations (`POST /auth/register`) per client address in this window.
    registrations_per_ip: int = 20
    registration_window_seconds: int = 3600
    #: Password hashes and verifications running at once per process (each ~64 MiB and a
    #: core); a caller waits at most `password_hash_wait_seconds` for a slot, then gets a 503.
    password_hash_concurrency: int = Field(default=2, ge=1)
    password_hash_wait_seconds: float = 5.0
    #: The argon2 parameters of new password hashes: `production` (RFC 9106 low memory) or
    #: `fast` (argon2's cheapest, for test runs; refused with `MINISHOP_ENV=production`).
    #: Existing hashes verify under either; a login rehashes one made with other parameters.
    password_hash_profile: Literal["production", "fast"] = "production"
    #: Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (comma-separated
    #: addresses or networks, `*` for any): the proxies in front of the service. Empty, the
    #: default: the headers are ignored and the client address is the TCP peer's.
    forwarded_allow_ips: str = ""
    db_pool_size: int = 10
    db_echo: bool = False
    log_level: str = "INFO"
    #: Where `minishop serve` listens (its `--host`/`--port` set these for the processes it
    #: starts); the public base URL is derived from them unless it is set.
    host: str = "127.0.0.1"
    port: int = 8000
    #: The issuer and the links the service gives out; defaults to `http://{host}:{port}`
    #: (a wildcard host is advertised as 127.0.0.1). When it is https, every response carries
    #: `Strict-Transport-Security`.
    public_base_url: str = ""
    #: Serve `/docs`, `/redoc` and `/openapi.json`. On by default, production included: the
    #: API is an open platform and its contract is public (`openapi/` in the repository too).
    docs_enabled: bool = True
    #: The bearer token `/metrics` requires (Prometheus: `authorization: {credentials: ...}`).
    #: Without one, `/metrics` is open outside production and not served (404) in production.
    metrics_token: SecretStr | None = None
    #: Webhooks may go to private, loopback and link-local addresses (development, tests).
    webhook_allow_private: bool = False
    #: Ports webhook URLs may name besides 443 and 80 (and 8000-9999 where private addresses
    #: are allowed): comma separated ports or ranges, `8443,9000-9100`.
    webhook_allowed_ports: str = ""
    #: Seconds between attempts after each failure; after the last, a delivery has failed.
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    webhook_timeout_seconds: float = 5.0
    #: Requests in flight at once per worker process (one endpoint gets at most half). Kept
    #: small on purpose: httpcore's pool does work per request that grows with the square of
    #: the connections in flight, and a fast receiver needs few connections.
    webhook_concurrency: int = 8
    #: An endpoint whose every attempt failed for this long is disabled.
    webhook_disable_after_seconds: int = 24 * 3600
    #: After a secret rotation the old secret signs too, for this long.
    webhook_secret_overlap_seconds: int = 24 * 3600
    #: Delivered and failed deliveries (and their events) are pruned after this many days.
    webhook_retention_days: int = 30
    #: How long a worker holds the deliveries it claimed; a dead worker's claims then expire.
    #: A claimed delivery still waiting for a free slot when less than the timeout is left
    #: is not sent (another claim takes it), so no delivery is ever in flight twice.
    webhook_lease_seconds: int = 60
    #: How often the worker looks for work when nothing wakes it (LISTEN/NOTIFY on PostgreSQL).
    webhook_poll_seconds: float = 1.0
    auto_approve_reviews: bool = Field(
        default=False, description="Development helper: approve submitted reviews at once."
    )
    fault_exit_after_commit: str = Field(
        default="",
        description="Tests only: `METHOD /path`; the process exits right after committing "
        "such a request, before answering it (a crash between the write and the response).",
    )

    @model_validator(mode="before")
    @classmethod
    def _plain_port(cls, data: object) -> object:
        """The conventional `PORT` (platforms set it) when MINISHOP_PORT is not given."""
        if isinstance(data, dict) and "port" not in data and os.environ.get("PORT"):
            return {**data, "port": os.environ["PORT"]}
        return data

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.public_base_url:
            if self.env == "production":
                # It is the OAuth issuer and every link handed out: never guess it.
                raise ValueError(
                    "MINISHOP_PUBLIC_BASE_URL is required when MINISHOP_ENV=production"
                )
            self.public_base_url = f"http://{_advertised(self.host)}:{self.port}"
        self.public_base_url = self.public_base_url.rstrip("/")
        if self.auto_approve_reviews and self.env == "production":
            # It would open every business shop without anyone reading its documents.
            raise ValueError(
                "MINISHOP_AUTO_APPROVE_REVIEWS is a development helper; it must "
                "not be set when MINISHOP_ENV=production"
            )
        if self.password_hash_profile != "production" and self.env == "production":
            # Cheap hashes are for test runs: stolen ones would be guessed at once.
            raise ValueError(
                "MINISHOP_PASSWORD_HASH_PROFILE=fast is for tests; it must not be set "
                "when MINISHOP_ENV=production"
            )
        if self.fault_exit_after_commit and self.env == "production":
            raise ValueError("MINISHOP_FAULT_EXIT_AFTER_COMMIT is for tests only")
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.var_dir / 'minishop.db').resolve()}"
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            # A claimed delivery is sent only while a whole attempt still fits in its lease.
            raise ValueError(
                "MINISHOP_WEBHOOK_LEASE_SECONDS must exceed MINISHOP_WEBHOOK_TIMEOUT_SECONDS"
            )
        return self

    @field_validator("webhook_allowed_ports")
    @classmethod
    def _ports_parse(cls, value: str) -> str:
        port_set(value)  # refuse a malformed list at start-up
        return value

    @property
    def webhook_extra_ports(self) -> frozenset[int]:
        return port_set(self.webhook_allowed_ports)

    @property
    def webhook_schedule(self) -> tuple[float, ...]:
        return tuple(float(x) for x in self.webhook_retry_schedule.split(",") if x.strip())

    @property
    def https(self) -> bool:
        """Whether clients reach the service over https (then HSTS is sent)."""
        return self.public_base_url.startswith("https://")

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def _advertised(host: str) -> str:
    """The host name links can use: a wildcard bind is reachable on loopback."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class MissingSecretError(RuntimeError):
    pass


@lru_cache
def get_settings() -> Settings:
    return Settings()
