"""Events written by tests themselves, built as the application builds them (typed payloads)."""

from __future__ import annotations

from app.domain.catalog.products import ProductStatus
from app.domain.events.catalog import ProductEventData
from app.domain.events.model import Event


def product_updated(shop_id: str, product_id: str, *changed: str) -> Event:
    """`product.updated` of `product_id`; `changed` tells a test's events apart."""
    data = ProductEventData(
        shop_id=shop_id,
        product_id=product_id,
        out_product_id=None,
        status=ProductStatus.LISTED,
        changed=list(changed) or ["title"],
    )
    return Event("product.updated", data, resource_id=product_id)
