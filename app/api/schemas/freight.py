"""The public contract of freight templates and the storefront's freight quote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from app.api.schemas.base import Input, Output
from app.api.schemas.orders import ItemIn
from app.domain.orders.freight import (
    FreeShipping,
    FreightTemplate,
    Rate,
    RegionalRate,
    Valuation,
)
from app.domain.orders.freight_services import TemplateFields
from app.domain.orders.services import FreightAnswer

TEMPLATE_ID_EXAMPLE = "ftpl_01jd8m3k2x9v7q4w5e6r7t8y9z"
_TIME = "2026-11-25T08:00:00Z"


class FreightRateFields(Input):
    """First units for a price, then a price for each further step of units begun (units:
    pieces, or grams for a template by weight)."""

    first_units: int = Field(
        ge=1, le=1_000_000, description="Pieces (or grams) the first price covers.", examples=[1]
    )
    first_price: int = Field(
        ge=0, le=10**7, description="The first units' price, fen.", examples=[800]
    )
    additional_units: int = Field(
        ge=1, le=1_000_000, description="Pieces (or grams) of each further step.", examples=[1]
    )
    additional_price: int = Field(
        ge=0, le=10**7, description="Each further step's price, fen.", examples=[200]
    )

    def rate(self) -> Rate:
        return Rate(
            self.first_units, self.first_price, self.additional_units, self.additional_price
        )


class FreightRate(Output):
    """A rate: first units for a price, then a price for each further step begun."""

    first_units: int = Field(description="Pieces (or grams) the first price covers.", examples=[1])
    first_price: int = Field(description="The first units' price, fen.", examples=[800])
    additional_units: int = Field(description="Pieces (or grams) of a step.", examples=[1])
    additional_price: int = Field(description="Each further step's price, fen.", examples=[200])


class FreightRegionalRateFields(FreightRateFields):
    """A rate for the regions it names (the most precise code covering a destination wins)."""

    regions: list[str] = Field(
        min_length=1,
        max_length=400,
        description="GB/T 2260 codes: provinces (two digits, `44`) or cities (four, `4403`).",
        examples=[["54", "65"]],
    )


class FreightRegionalRate(FreightRate):
    """A regional rate."""

    regions: list[str] = Field(description="Province or city codes.", examples=[["54", "65"]])


class FreeShippingFields(Input):
    """Free shipping once the template's lines reach every threshold given (at least one)."""

    min_amount: int | None = Field(
        default=None, ge=0, le=10**10, description="Order amount, fen.", examples=[9900]
    )
    min_pieces: int | None = Field(
        default=None, ge=1, le=100_000, description="Pieces ordered.", examples=[None]
    )
    regions: list[str] = Field(
        default_factory=list,
        max_length=400,
        description="Only to these province or city codes; empty: everywhere.",
        examples=[[]],
    )

    @model_validator(mode="after")
    def _a_threshold(self) -> FreeShippingFields:
        if self.min_amount is None and self.min_pieces is None:
            raise ValueError("Give min_amount, min_pieces or both.")
        return self

    def condition(self) -> FreeShipping:
        return FreeShipping(self.min_amount, self.min_pieces, tuple(self.regions))


class FreeShippingCondition(Output):
    """A free-shipping condition."""

    min_amount: int | None = Field(description="Order amount, fen.", examples=[9900])
    min_pieces: int | None = Field(description="Pieces ordered.", examples=[None])
    regions: list[str] = Field(description="Codes it applies to; empty: all.", examples=[[]])


class FreightTemplateFields(Input):
    """A freight template, whole (a `PUT` replaces every field)."""

    name: str = Field(
        min_length=1, max_length=60, description="The template's name.", examples=["包邮模板"]
    )
    valuation: Valuation = Field(
        description="`piece`: rates count pieces; `weight`: grams (the SKUs' `weight_g`).",
        examples=["piece"],
    )
    default_rate: FreightRateFields = Field(
        description="The rate of every destination no regional rate covers."
    )
    rates: list[FreightRegionalRateFields] = Field(
        default_factory=list, max_length=100, description="Regional rates."
    )
    free_shipping: list[FreeShippingFields] = Field(
        default_factory=list,
        max_length=20,
        description="Free-shipping conditions; freight is waived when any one holds.",
    )
    not_delivered: list[str] = Field(
        default_factory=list,
        max_length=400,
        description="Province or city codes not delivered to: an order there is refused "
        "(409 `region_not_sellable`), a quote says `deliverable: false`.",
        examples=[["54", "65"]],
    )
    is_default: bool = Field(
        default=False,
        description="The shop's default template, for products naming none (one per shop: "
        "the former default stops being it).",
        examples=[False],
    )

    def fields(self) -> TemplateFields:
        return TemplateFields(
            name=self.name,
            valuation=self.valuation,
            default_rate=self.default_rate.rate(),
            rates=tuple(RegionalRate(tuple(r.regions), r.rate()) for r in self.rates),
            free_shipping=tuple(c.condition() for c in self.free_shipping),
            not_delivered=tuple(self.not_delivered),
            is_default=self.is_default,
        )


class FreightTemplateOut(Output):
    """A shop's freight template."""

    id: str = Field(description="The template's id.", examples=[TEMPLATE_ID_EXAMPLE])
    name: str = Field(description="Its name.", examples=["包邮模板"])
    valuation: Valuation = Field(description="`piece` or `weight` (grams).", examples=["piece"])
    default_rate: FreightRate = Field(description="The rate where no regional rate applies.")
    rates: list[FreightRegionalRate] = Field(description="Regional rates.")
    free_shipping: list[FreeShippingCondition] = Field(description="Free-shipping conditions.")
    not_delivered: list[str] = Field(description="Regions refused.", examples=[["54", "65"]])
    is_default: bool = Field(description="The shop's default template.", examples=[True])
    created_at: datetime = Field(description="Created.", examples=[_TIME])
    updated_at: datetime = Field(description="Last change.", examples=[_TIME])
    version: int = Field(description="Optimistic-lock version (the ETag).", examples=[1])


def template_out(t: FreightTemplate) -> FreightTemplateOut:
    return FreightTemplateOut.model_validate(
        {
            "id": t.id,
            "name": t.name,
            "valuation": t.valuation,
            **t.rules(),
            "is_default": t.is_default,
            "created_at": t.created_at,
            "updated_at": t.updated_at,
            "version": t.version,
        }
    )


class FreightQuoteRequest(Input):
    """Lines and a destination to price the freight of."""

    items: list[ItemIn] = Field(
        min_length=1, max_length=50, description="The lines (a SKU named twice counts once)."
    )
    region_code: str = Field(
        min_length=6,
        max_length=6,
        description="The destination: a GB/T 2260 district or county code, as an address's.",
        examples=["440305"],
    )


class FreightQuote(Output):
    """What delivering the lines to the region costs, or that they are not sold there."""

    deliverable: bool = Field(
        description="Every line's product is sold to the region and its freight template "
        "delivers there (an order there would be placed).",
        examples=[True],
    )
    freight: int | None = Field(
        description="The freight, fen, as an order would pay it; null when not deliverable.",
        examples=[800],
    )
    currency: str = Field(description="Always `CNY`.", examples=["CNY"])
    product_total: int = Field(
        description="The lines at their current prices, fen.", examples=[5900]
    )
    not_deliverable_sku_ids: list[str] = Field(
        description="The SKUs not sold or not delivered to the region (empty when deliverable).",
        examples=[[]],
    )


def quote_out(a: FreightAnswer) -> dict[str, Any]:
    """`FreightQuote` as the JSON the route writes itself (a hot public read: no model)."""
    return {
        "deliverable": a.freight is not None,
        "freight": a.freight,
        "currency": "CNY",
        "product_total": a.product_total,
        "not_deliverable_sku_ids": list(a.not_sellable),
    }
