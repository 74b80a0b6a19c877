"""An order's price: a pure function of its lines, a freight quote and discount lines.

All amounts are integer fen. Discounts (coupons and promotions, later) reduce the goods, never
the freight: together they are capped at the product total, so a total is never negative and
never less than the freight. Freight is a flat per-shop fee waived from a threshold of the
product total (before discounts) until freight templates replace the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: The most units of one SKU an order line may carry.
MAX_LINE_QUANTITY = 999
#: The most lines one order may carry.
MAX_LINES = 50


@dataclass(frozen=True)
class LineAmount:
    """One line's unit price and quantity."""

    unit_price: int
    quantity: int

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Discount:
    """A reduction of the goods' price, named for the buyer (`label`) and its source."""

    label: str
    amount: int


@dataclass(frozen=True)
class FlatFreight:
    """A flat fee per order, waived when the product total reaches `free_from` (when set)."""

    fee: int = 0
    free_from: int | None = None

    def quote(self, product_total: int) -> int:
        if self.free_from is not None and product_total >= self.free_from:
            return 0
        return self.fee


@dataclass(frozen=True)
class Amounts:
    product_total: int
    freight: int
    discount_total: int
    total: int


def price(lines: Sequence[LineAmount], freight: int, discounts: Iterable[Discount] = ()) -> Amounts:
    """The amounts of an order of `lines` with `freight` (already quoted) and `discounts`."""
    if any(line.unit_price < 0 or line.quantity < 1 for line in lines):
        raise ValueError("unit prices are non-negative and quantities positive")
    if freight < 0 or any(d.amount < 0 for d in discounts):
        raise ValueError("freight and discounts are non-negative")
    product_total = sum(line.total for line in lines)
    discount_total = min(sum(d.amount for d in discounts), product_total)
    return Amounts(
        product_total=product_total,
        freight=freight,
        discount_total=discount_total,
        total=product_total - discount_total + freight,
    )


def quote(
    lines: Sequence[LineAmount], rule: FlatFreight, discounts: Iterable[Discount] = ()
) -> Amounts:
    """Price `lines` with the freight `rule` quotes for their product total."""
    return price(lines, rule.quote(sum(line.total for line in lines)), discounts)
