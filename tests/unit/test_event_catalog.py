"""The event catalogue spells out the product and order statuses it publishes (it sits below
the contexts, so it cannot import them): they must stay theirs."""

from __future__ import annotations

from typing import get_args

from app.domain.catalog.products import ProductStatus
from app.domain.events.catalog import CATALOG, OrderEventData, OrderStatusCode, ProductStatusName
from app.domain.orders.model import CancelReason, OrderStatus, ReceivedBy
from app.domain.webhooks.model import FAMILY_SCOPES, family


def test_product_events_publish_the_product_statuses() -> None:
    assert set(get_args(ProductStatusName)) == {s.value for s in ProductStatus}


def test_order_events_publish_the_order_statuses_and_reasons() -> None:
    assert set(get_args(OrderStatusCode)) == {int(s) for s in OrderStatus}
    fields = OrderEventData.model_fields
    assert set(get_args(get_args(fields["reason"].annotation)[0])) == {
        r.value for r in CancelReason
    }
    assert set(get_args(get_args(fields["received_by"].annotation)[0])) == {
        r.value for r in ReceivedBy
    }


def test_refund_events_publish_the_refund_reasons() -> None:
    from app.domain.orders.payments import RefundReason

    fields = OrderEventData.model_fields
    assert set(get_args(get_args(fields["refund_reason"].annotation)[0])) == {
        r.value for r in RefundReason
    }


def test_aftersale_events_and_documents_publish_the_aftersale_enums() -> None:
    from app.api.schemas.aftersales import (
        AfterSaleReasonName,
        AfterSaleStatusName,
        AfterSaleTypeName,
    )
    from app.domain.aftersales.model import AfterSaleReason, AfterSaleStatus, AfterSaleType
    from app.domain.events.catalog import AfterSaleEventData

    statuses = {s.value for s in AfterSaleStatus}
    fields = AfterSaleEventData.model_fields
    assert set(get_args(fields["status"].annotation)) == statuses
    assert set(get_args(fields["type"].annotation)) == {t.value for t in AfterSaleType}
    assert set(get_args(AfterSaleStatusName)) == statuses
    assert set(get_args(AfterSaleTypeName)) == {t.value for t in AfterSaleType}
    assert set(get_args(AfterSaleReasonName)) == {r.value for r in AfterSaleReason}


def test_every_family_of_the_catalogue_says_which_scope_reads_it() -> None:
    """A family missing from `FAMILY_SCOPES` could not be subscribed to, and its events
    would reach no app (the dispatcher refuses what nobody said who may read)."""
    assert {family(name) for name in CATALOG} <= set(FAMILY_SCOPES)
