"""Storage: SQLAlchemy Core tables, one module per context, all on one `metadata`
(`base.py`). The domain classes are mapped onto them in `mapping.py`."""

from app.infra.db.tables.accounts import accounts, sessions
from app.infra.db.tables.aftersales import aftersale_settings, aftersales, refunds
from app.infra.db.tables.audit import audit_log
from app.infra.db.tables.authz import apps, grants, oauth_codes, refresh_tokens, token_families
from app.infra.db.tables.base import ID, metadata
from app.infra.db.tables.buyers import buyer_addresses, buyer_refresh_tokens, buyer_token_families
from app.infra.db.tables.catalog import (
    bulk_job_file_parts,
    bulk_job_files,
    bulk_job_items,
    bulk_jobs,
    industry_qualifications,
    products,
    skus,
)
from app.infra.db.tables.events import event_sequences, outbox_events
from app.infra.db.tables.freight import freight_templates
from app.infra.db.tables.funds import ledger_entries
from app.infra.db.tables.idempotency import idempotency_keys
from app.infra.db.tables.insurance import insurance_claims, insurance_policies
from app.infra.db.tables.logistics import (
    logistics_accounts,
    sandbox_waybills,
    sender_addresses,
    waybill_tracking_events,
    waybills,
)
from app.infra.db.tables.orders import cart_lines, order_lines, orders, shipments
from app.infra.db.tables.payments import (
    payment_notifications,
    payments,
    sandbox_charges,
    sandbox_payouts,
    sandbox_refunds,
)
from app.infra.db.tables.pickup import pickup_code_throttles, pickup_points
from app.infra.db.tables.shops import shop_members, shop_qualifications, shops
from app.infra.db.tables.timers import timers
from app.infra.db.tables.webhooks import webhook_attempts, webhook_deliveries, webhook_endpoints

__all__ = [
    "ID",
    "accounts",
    "aftersale_settings",
    "aftersales",
    "apps",
    "audit_log",
    "bulk_job_file_parts",
    "bulk_job_files",
    "bulk_job_items",
    "bulk_jobs",
    "buyer_addresses",
    "buyer_refresh_tokens",
    "buyer_token_families",
    "cart_lines",
    "event_sequences",
    "freight_templates",
    "grants",
    "idempotency_keys",
    "industry_qualifications",
    "insurance_claims",
    "insurance_policies",
    "ledger_entries",
    "logistics_accounts",
    "metadata",
    "oauth_codes",
    "order_lines",
    "orders",
    "outbox_events",
    "payment_notifications",
    "payments",
    "pickup_code_throttles",
    "pickup_points",
    "products",
    "refresh_tokens",
    "refunds",
    "sandbox_charges",
    "sandbox_payouts",
    "sandbox_refunds",
    "sandbox_waybills",
    "sender_addresses",
    "sessions",
    "shipments",
    "shop_members",
    "shop_qualifications",
    "shops",
    "skus",
    "timers",
    "token_families",
    "waybill_tracking_events",
    "waybills",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
]
