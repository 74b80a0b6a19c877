"""Freight templates: what an order's delivery costs, by destination, as the Mini Shop's
`freight_template` prices it. Pure: the functions here read nothing and write nothing.

A template values an order's lines by the piece or by weight (grams). Its `default_rate`
prices every destination its `rates` do not name; a regional rate names GB/T 2260 codes
(a province's two digits, `44`, or a city's four, `4403`) and the most precise code that
covers the destination wins. A rate charges `first_price` for the first `first_units` and
`additional_price` for each further `additional_units` begun. Free-shipping conditions
(each: an order amount of at least `min_amount` fen and/or at least `min_pieces` pieces,
optionally for some regions only) waive the freight when any one holds. The regions in
`not_delivered` are refused.

An order whose lines name several templates (a product names its template; one naming none
uses the shop's default template) pays **each template's freight for its own lines, summed**:
each template sees only its lines' pieces, weight and amount, for its rates and its free
shipping. Lines with no template at all (the product names none and the shop has no default)
pay the shop's flat freight (`pricing.FlatFreight`) on their amount, added likewise. So
adding a line or a piece never lowers the freight unless it meets a free-shipping condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.orders.pricing import FlatFreight

#: The most regional rates, free-shipping conditions and refused regions a template holds.
MAX_RATES = 100
MAX_FREE_CONDITIONS = 20
MAX_NOT_DELIVERED = 400


class Valuation(StrEnum):
    """What a rate counts: pieces, or grams of the lines' SKU weight."""

    PIECE = "piece"
    WEIGHT = "weight"


def covers(code: str, region_code: str) -> bool:
    """A rule's code (province `44` or city `4403`) covers a destination's division code."""
    return region_code.startswith(code)


@dataclass(frozen=True)
class Rate:
    """First `first_units` (pieces or grams) for `first_price` fen, then `additional_price`
    fen for each further `additional_units` begun."""

    first_units: int
    first_price: int
    additional_units: int
    additional_price: int

    def __post_init__(self) -> None:
        if self.first_units < 1 or self.additional_units < 1:
            raise ValueError("units are positive")
        if self.first_price < 0 or self.additional_price < 0:
            raise ValueError("prices are non-negative")

    def charge(self, units: int) -> int:
        """The freight of `units` (a parcel of nothing still pays the first price)."""
        extra = max(0, units - self.first_units)
        steps = -(-extra // self.additional_units)
        return self.first_price + steps * self.additional_price

    def as_dict(self) -> dict[str, int]:
        return {
            "first_units": self.first_units,
            "first_price": self.first_price,
            "additional_units": self.additional_units,
            "additional_price": self.additional_price,
        }


@dataclass(frozen=True)
class RegionalRate:
    """A rate for the destinations its `regions` codes cover."""

    regions: tuple[str, ...]
    rate: Rate

    def as_dict(self) -> dict[str, Any]:
        return {"regions": list(self.regions), **self.rate.as_dict()}


@dataclass(frozen=True)
class FreeShipping:
    """Free when the template's lines reach `min_amount` fen and/or `min_pieces` pieces (the
    thresholds given must all be reached), to `regions` (empty: everywhere)."""

    min_amount: int | None = None
    min_pieces: int | None = None
    regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.min_amount is None and self.min_pieces is None:
            raise ValueError("a free-shipping condition needs a threshold")

    def holds(self, region_code: str, amount: int, pieces: int) -> bool:
        if self.regions and not any(covers(c, region_code) for c in self.regions):
            return False
        if self.min_amount is not None and amount < self.min_amount:
            return False
        return self.min_pieces is None or pieces >= self.min_pieces

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_amount": self.min_amount,
            "min_pieces": self.min_pieces,
            "regions": list(self.regions),
        }


@dataclass(eq=False)
class FreightTemplate:
    shop_id: str
    name: str
    valuation: Valuation
    default_rate: Rate
    rates: tuple[RegionalRate, ...] = ()
    free_shipping: tuple[FreeShipping, ...] = ()
    not_delivered: tuple[str, ...] = ()
    is_default: bool = False
    id: str = field(default_factory=lambda: new_id("ftpl"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    def delivers_to(self, region_code: str) -> bool:
        return not any(covers(c, region_code) for c in self.not_delivered)

    def rate_for(self, region_code: str) -> Rate:
        """The most precise regional rate covering the destination, else the default."""
        best: tuple[int, Rate] | None = None
        for regional in self.rates:
            for code in regional.regions:
                if covers(code, region_code) and (best is None or len(code) > best[0]):
                    best = (len(code), regional.rate)
        return self.default_rate if best is None else best[1]

    def charge(self, region_code: str, units: int, pieces: int, amount: int) -> int | None:
        """The freight of lines of `units` (pieces or grams), `pieces` and `amount` fen to
        `region_code`; None when the template does not deliver there."""
        if not self.delivers_to(region_code):
            return None
        if any(f.holds(region_code, amount, pieces) for f in self.free_shipping):
            return 0
        return self.rate_for(region_code).charge(units)

    # -- storage as plain values (JSON columns) ---------------------------------------------

    def rules(self) -> dict[str, Any]:
        return {
            "default_rate": self.default_rate.as_dict(),
            "rates": [r.as_dict() for r in self.rates],
            "free_shipping": [f.as_dict() for f in self.free_shipping],
            "not_delivered": list(self.not_delivered),
        }


def rules_of(
    default_rate: dict[str, Any],
    rates: Iterable[dict[str, Any]],
    free_shipping: Iterable[dict[str, Any]],
    not_delivered: Iterable[str],
) -> dict[str, Any]:
    """The template's rules from their plain values (as stored or as given)."""
    return {
        "default_rate": rate_of(default_rate),
        "rates": tuple(RegionalRate(tuple(r["regions"]), rate_of(r)) for r in rates),
        "free_shipping": tuple(
            FreeShipping(f.get("min_amount"), f.get("min_pieces"), tuple(f.get("regions") or ()))
            for f in free_shipping
        ),
        "not_delivered": tuple(not_delivered),
    }


def rate_of(values: dict[str, Any]) -> Rate:
    return Rate(
        int(values["first_units"]),
        int(values["first_price"]),
        int(values["additional_units"]),
        int(values["additional_price"]),
    )


@dataclass(frozen=True)
class FreightLine:
    """One line as freight sees it: its template (None: the shop's flat freight), pieces,
    the SKU's weight per piece (grams; none: 0) and the line's amount (fen)."""

    template: FreightTemplate | None
    quantity: int
    weight_g: int
    amount: int
    key: str = ""


@dataclass(frozen=True)
class FreightQuote:
    """The freight of an order's lines to a destination, or the lines' keys (SKU ids) that
    their template does not deliver there (`freight` then 0)."""

    freight: int
    not_delivered: tuple[str, ...] = ()

    @property
    def deliverable(self) -> bool:
        return not self.not_delivered


def quote_freight(
    lines: Sequence[FreightLine], region_code: str, flat: FlatFreight
) -> FreightQuote:
    """Each template's freight for its own lines, summed, plus the flat freight of lines
    with no template (see the module's docstring)."""
    groups: dict[str, list[FreightLine]] = {}
    templates: dict[str, FreightTemplate] = {}
    flat_amount: int | None = None
    refused: list[str] = []
    for line in lines:
        if line.template is None:
            flat_amount = (flat_amount or 0) + line.amount
            continue
        templates[line.template.id] = line.template
        groups.setdefault(line.template.id, []).append(line)
        if not line.template.delivers_to(region_code):
            refused.append(line.key)
    if refused:
        return FreightQuote(0, tuple(refused))
    total = 0 if flat_amount is None else flat.quote(flat_amount)
    for template_id, of_template in groups.items():
        template = templates[template_id]
        pieces = sum(x.quantity for x in of_template)
        units = (
            pieces
            if template.valuation is Valuation.PIECE
            else sum(x.quantity * x.weight_g for x in of_template)
        )
        charged = template.charge(region_code, units, pieces, sum(x.amount for x in of_template))
        assert charged is not None  # refused above
        total += charged
    return FreightQuote(total)
