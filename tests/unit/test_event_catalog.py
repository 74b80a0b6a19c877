"""The event catalogue spells out the product statuses it publishes (it sits below the
catalogue context, so it cannot import them): they must stay the products API's."""

from __future__ import annotations

from typing import get_args

from app.domain.catalog.products import ProductStatus
from app.domain.events.catalog import ProductStatusName


def test_product_events_publish_the_product_statuses() -> None:
    assert set(get_args(ProductStatusName)) == {s.value for s in ProductStatus}
