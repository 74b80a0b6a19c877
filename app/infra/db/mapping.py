"""Imperative mapping: the domain's plain classes are persisted without knowing it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, foreign, registry, relationship
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.accounts.model import Account, Session
from app.domain.aftersales.model import AfterSale
from app.domain.aftersales.refunds import Refund
from app.domain.aftersales.settings import AfterSaleSettings
from app.domain.audit.model import AuditEntry
from app.domain.authz.model import App, AuthorizationCode, Grant, RefreshToken, TokenFamily
from app.domain.buyers.model import BuyerRefreshToken, BuyerTokenFamily
from app.domain.catalog.bulk_jobs import BulkJob
from app.domain.catalog.products import Product, Sku
from app.domain.catalog.qualifications import IndustryQualification
from app.domain.logistics.accounts import LogisticsAccount
from app.domain.logistics.senders import SenderAddress
from app.domain.logistics.waybills import EWaybill
from app.domain.orders.addresses import Address
from app.domain.orders.insurance import Claim, Policy
from app.domain.orders.model import CartLine, Order, OrderLine, Shipment
from app.domain.orders.payments import Payment, PaymentNotification
from app.domain.orders.pickup import PickupPoint, PickupThrottle
from app.domain.shops.model import Member, Qualification, Shop
from app.domain.webhooks.model import Attempt, Delivery, WebhookEndpoint
from app.infra.db import tables

mapper_registry = registry(metadata=tables.metadata)
_mapped = False


def map_domain() -> None:
    """Idempotent: safe to call from every entry point."""
    global _mapped
    if _mapped:
        return
    _mapped = True
    mr = mapper_registry
    mr.map_imperatively(Account, tables.accounts, version_id_col=tables.accounts.c.version)
    mr.map_imperatively(Session, tables.sessions)
    mr.map_imperatively(Shop, tables.shops, version_id_col=tables.shops.c.version)
    mr.map_imperatively(
        Qualification,
        tables.shop_qualifications,
        version_id_col=tables.shop_qualifications.c.version,
    )
    mr.map_imperatively(Member, tables.shop_members, version_id_col=tables.shop_members.c.version)
    mr.map_imperatively(AuditEntry, tables.audit_log)
    mr.map_imperatively(App, tables.apps, version_id_col=tables.apps.c.version)
    mr.map_imperatively(Grant, tables.grants, version_id_col=tables.grants.c.version)
    mr.map_imperatively(AuthorizationCode, tables.oauth_codes)
    mr.map_imperatively(TokenFamily, tables.token_families)
    mr.map_imperatively(RefreshToken, tables.refresh_tokens)
    mr.map_imperatively(BuyerTokenFamily, tables.buyer_token_families)
    mr.map_imperatively(BuyerRefreshToken, tables.buyer_refresh_tokens)
    mr.map_imperatively(
        Address, tables.buyer_addresses, version_id_col=tables.buyer_addresses.c.version
    )
    mr.map_imperatively(
        IndustryQualification,
        tables.industry_qualifications,
        version_id_col=tables.industry_qualifications.c.version,
    )
    # Tenant entities are identified by (shop_id, id), their tables' primary key, so every
    # UPDATE and DELETE the ORM flushes names the shop.
    mr.map_imperatively(Product, tables.products, version_id_col=tables.products.c.version)
    mr.map_imperatively(Sku, tables.skus, version_id_col=tables.skus.c.version)
    mr.map_imperatively(
        WebhookEndpoint,
        tables.webhook_endpoints,
        version_id_col=tables.webhook_endpoints.c.version,
    )
    mr.map_imperatively(Delivery, tables.webhook_deliveries)
    mr.map_imperatively(Attempt, tables.webhook_attempts)
    mr.map_imperatively(BulkJob, tables.bulk_jobs)
    _o, _l = tables.orders, tables.order_lines
    mr.map_imperatively(Shipment, tables.shipments, version_id_col=tables.shipments.c.version)
    mr.map_imperatively(CartLine, tables.cart_lines)
    mr.map_imperatively(OrderLine, _l)
    mr.map_imperatively(Payment, tables.payments, version_id_col=tables.payments.c.version)
    mr.map_imperatively(PaymentNotification, tables.payment_notifications)
    mr.map_imperatively(AfterSale, tables.aftersales, version_id_col=tables.aftersales.c.version)
    mr.map_imperatively(Refund, tables.refunds, version_id_col=tables.refunds.c.version)
    mr.map_imperatively(Policy, tables.insurance_policies)
    mr.map_imperatively(Claim, tables.insurance_claims)
    mr.map_imperatively(
        AfterSaleSettings,
        tables.aftersale_settings,
        version_id_col=tables.aftersale_settings.c.version,
    )
    mr.map_imperatively(LogisticsAccount, tables.logistics_accounts)
    mr.map_imperatively(EWaybill, tables.waybills, version_id_col=tables.waybills.c.version)
    mr.map_imperatively(
        SenderAddress,
        tables.sender_addresses,
        version_id_col=tables.sender_addresses.c.version,
    )
    mr.map_imperatively(
        PickupPoint, tables.pickup_points, version_id_col=tables.pickup_points.c.version
    )
    mr.map_imperatively(PickupThrottle, tables.pickup_code_throttles)
    mr.map_imperatively(
        Order,
        _o,
        version_id_col=_o.c.version,
        properties={
            # Saved with the order; loaded by the repository with the shop in the statement
            # (`SqlOrderRepository`), never lazily behind its back.
            "lines": relationship(
                OrderLine,
                primaryjoin=sa.and_(
                    foreign(_l.c.shop_id) == _o.c.shop_id, foreign(_l.c.order_id) == _o.c.id
                ),
                order_by=_l.c.id,
                cascade="save-update, merge",
                lazy="raise",
            )
        },
    )
    for mapper in mr.mappers:
        _construct_untracked(mapper)


class _Values:
    """What a mapped class's own `__init__` fills in, before the instance gets it."""


def _construct_untracked(mapper: Mapper[Any]) -> None:
    """A new instance of a mapped class is filled in as its plain dataclass is, then given
    its values at once, its relationships (an order's lines) as loaded collections.

    SQLAlchemy's `__init__` runs the class's own with every attribute instrumented: each
    assignment records history and marks the object modified (~4 µs an attribute; setting
    a collection copies it for its history), 0.2 ms of building an order and its two lines
    against 0.04 ms for the plain classes. A new object has no history to record: added to
    a session, its INSERT takes every value from its dict, the save-update cascade still
    reaches the objects in its collections (which carry their own keys: the mapping's
    foreign keys are the line's `shop_id` and `order_id`), and once it is persistent its
    changes are tracked as before.
    """
    manager = mapper.class_manager
    cls = mapper.class_
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return  # `__post_init__` runs on the instance itself: left to SQLAlchemy's way
    original: Callable[..., None] | None = manager.original_init
    assert original is not None
    related = tuple(mapper.relationships.keys())

    def fill(instance: Any, *args: Any, **kwargs: Any) -> None:
        values = _Values()
        original(values, *args, **kwargs)
        found = values.__dict__
        through_mapping = [(key, found.pop(key)) for key in related if key in found]
        instance.__dict__.update(found)
        for key, value in through_mapping:
            set_committed_value(instance, key, value)

    manager.original_init = fill
