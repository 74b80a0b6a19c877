"""Pure rules of the product model: no database, no HTTP."""

from __future__ import annotations

import pytest

from app.domain.catalog.products import (
    REGION_CODES,
    Product,
    ProductStatus,
    Sku,
    StockChange,
    attrs_key,
)
from app.domain.errors import InvalidTransition


def product() -> Product:
    return Product(shop_id="shop_1", title="Dress", category_id="cat_apparel_women_dresses")


def test_sale_attribute_key_ignores_order() -> None:
    assert attrs_key({"size": "M", "colour": "red"}) == attrs_key({"colour": "red", "size": "M"})
    assert attrs_key({"size": "M"}) != attrs_key({"size": "L"})
    sku = Sku(shop_id="shop_1", product_id="prod_1", sale_attrs={"颜色": "红"}, price=1)
    assert sku.attrs_key == attrs_key({"颜色": "红"})


def test_region_codes_are_the_34_provinces() -> None:
    assert len(REGION_CODES) == 34
    assert {"11", "31", "44", "65", "71", "81", "82"} <= REGION_CODES
    assert "10" not in REGION_CODES


def test_happy_lifecycle_and_back_to_draft() -> None:
    p = product()
    p.submit()
    assert p.status is ProductStatus.IN_REVIEW and p.submitted_at is not None
    p.approve()
    p.list_for_sale()
    assert p.ever_listed
    p.delist()
    p.back_to_draft()
    assert p.status is ProductStatus.DRAFT


def test_back_to_draft_leaves_other_states_alone() -> None:
    p = product()
    p.submit()
    p.reject("Blurry.")
    p.back_to_draft()
    assert p.status is ProductStatus.REJECTED


@pytest.mark.parametrize("action", ["approve", "list_for_sale", "delist"])
def test_illegal_transitions_name_the_current_status(action: str) -> None:
    p = product()
    with pytest.raises(InvalidTransition) as e:
        getattr(p, action)()
    assert e.value.extra == {"current_status": "draft"}


def test_banned_is_final() -> None:
    p = product()
    p.ban("Counterfeit.")
    for action in ("submit", "list_for_sale"):
        with pytest.raises(InvalidTransition):
            getattr(p, action)()
    with pytest.raises(InvalidTransition):
        p.ban("Again.")


@pytest.mark.parametrize(
    ("before", "after", "threshold", "alert"),
    [
        (10, 5, 5, True),  # down to the threshold
        (6, 0, 5, True),  # through it
        (5, 4, 5, False),  # already low
        (3, 8, 5, False),  # rising
        (4, 9, 5, False),  # rising above
        (10, 6, 5, False),  # still above
        (10, 0, None, False),  # no threshold, no alert
        (1, 0, 0, True),  # threshold 0: the alert is "sold out"
    ],
)
def test_low_stock_is_raised_on_the_way_down_only(
    before: int, after: int, threshold: int | None, alert: bool
) -> None:
    change = StockChange("sku_1", "prod_1", before, after, threshold)
    assert change.fell_to_low_stock is alert
