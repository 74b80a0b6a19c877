"""After-sales as the storefront and the open API show and take them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import Field

from app.api.schemas.base import HttpUrl, Input, Output
from app.api.schemas.orders import LINE_EXAMPLE, ORDER_EXAMPLE, OrderAddress
from app.domain.aftersales.model import AfterSale as AfterSaleEntity
from app.domain.aftersales.services import return_address
from app.domain.aftersales.settings import AfterSaleSettings as AfterSaleSettingsEntity
from app.domain.orders.pricing import MAX_LINE_QUANTITY

AFTERSALE_EXAMPLE = "afs_01jd8m3k2x9v7q4w5e6r7t8y9z"
TIME_EXAMPLE = "2026-11-25T08:00:00Z"

AfterSaleTypeName = Literal["refund", "return_refund"]
AfterSaleStatusName = Literal[
    "merchant_processing",
    "user_wait_return",
    "merchant_wait_receipt",
    "platform_refunding",
    "merchant_rejected",
    "user_cancelled",
    "return_closed",
    "refunded",
    "refund_failed",
]
#: The lists' filters (the shop's, on both surfaces).
AfterSaleStatusQuery = Annotated[
    list[AfterSaleStatusName] | None,
    Query(
        alias="status",
        description="Only in these statuses (repeat it).",
        examples=[["merchant_processing"]],
    ),
]
AfterSaleOrderQuery = Annotated[
    str | None,
    Query(max_length=40, description="Only this order's.", examples=[ORDER_EXAMPLE]),
]
AfterSaleReasonName = Literal[
    "not_received",
    "damaged",
    "wrong_item",
    "not_as_described",
    "quality_issue",
    "no_longer_needed",
    "other",
]


class AfterSaleLine(Output):
    """Units of one order line the after-sale covers, and what it refunds for them."""

    line_id: str = Field(description="The order line.", examples=[LINE_EXAMPLE])
    sku_id: str = Field(description="Its SKU.", examples=["sku_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    quantity: int = Field(description="Units of it.", examples=[1])
    amount: int = Field(description="What it refunds for them, in fen.", examples=[12900])


class AfterSale(Output):
    """A buyer's request for money back (`refund`), or for money back against the goods sent
    back (`return_refund`), on lines of a paid order."""

    id: str = Field(description="The after-sale's id.", examples=[AFTERSALE_EXAMPLE])
    shop_id: str = Field(description="The shop.", examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    order_id: str = Field(description="The order.", examples=[ORDER_EXAMPLE])
    type: AfterSaleTypeName = Field(
        description="`refund`: money back only; `return_refund`: the goods go back first.",
        examples=["refund"],
    )
    status: AfterSaleStatusName = Field(
        description="Open: `merchant_processing` (waiting for the shop), `user_wait_return` "
        "(accepted return: waiting for the buyer to send the goods), `merchant_wait_receipt` "
        "(the goods are on their way back), `platform_refunding` (the money is on its way); "
        "closed without money: `merchant_rejected`, `user_cancelled`, `return_closed` (the "
        "goods never went back); done: `refunded`; `refund_failed` when the gateway "
        "refused the refund after its retries.",
        examples=["merchant_processing"],
    )
    reason: AfterSaleReasonName = Field(description="Why the buyer asks.", examples=["damaged"])
    description: str | None = Field(
        description="The buyer's words.", examples=["The box arrived crushed."]
    )
    images: list[str] = Field(
        description="Photos the buyer attached (URLs).",
        examples=[["https://cdn.example.com/afs/1.jpg"]],
    )
    lines: list[AfterSaleLine] = Field(description="What it covers.")
    amount: int = Field(
        description="What it refunds, in fen: the lines' amounts plus `freight_amount`.",
        examples=[12900],
    )
    freight_amount: int = Field(
        description="The part of `amount` that is the order's freight (refundable only while "
        "nothing shipped).",
        examples=[0],
    )
    return_address: OrderAddress | None = Field(
        description="Where the goods go back to (a return the shop accepted).", examples=[None]
    )
    return_carrier: str | None = Field(
        description="The carrier the buyer sent the goods back with.", examples=[None]
    )
    return_waybill_no: str | None = Field(
        description="The waybill the goods went back under.", examples=[None]
    )
    reject_reason: str | None = Field(description="Why the shop refused.", examples=[None])
    accepted_at: datetime | None = Field(description="When the shop agreed.", examples=[None])
    returned_at: datetime | None = Field(
        description="When the buyer sent the goods back.", examples=[None]
    )
    received_at: datetime | None = Field(
        description="When the shop confirmed it had the goods back.", examples=[None]
    )
    refunded_at: datetime | None = Field(description="When the money went back.", examples=[None])
    closed_at: datetime | None = Field(
        description="When it ended without money (rejected, cancelled, closed).", examples=[None]
    )
    created_at: datetime = Field(description="When the buyer asked.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(description="When it last changed.", examples=[TIME_EXAMPLE])

    @classmethod
    def of(cls, a: AfterSaleEntity) -> AfterSale:
        return cls.model_validate(
            {
                **{
                    name: getattr(a, name)
                    for name in cls.model_fields
                    if name not in ("type", "status", "reason")
                },
                "type": a.type.value,
                "status": a.status.value,
                "reason": a.reason.value,
            }
        )


class AfterSaleLineIn(Input):
    """Units of one line of the order."""

    line_id: str = Field(max_length=64, description="The order line.", examples=[LINE_EXAMPLE])
    quantity: int = Field(
        ge=1, le=MAX_LINE_QUANTITY, description="How many of its units.", examples=[1]
    )


class AfterSaleCreate(Input):
    """A refund (or a return and refund) of units of the order's lines."""

    free_text_fields = frozenset({"description"})

    type: AfterSaleTypeName = Field(
        description="`refund`: money back only (goods not received, or kept); "
        "`return_refund`: the goods go back first (only units that shipped).",
        examples=["refund"],
    )
    reason: AfterSaleReasonName = Field(description="Why.", examples=["damaged"])
    lines: list[AfterSaleLineIn] = Field(
        min_length=1, max_length=50, description="The lines and how many units of each."
    )
    amount: int | None = Field(
        default=None,
        ge=0,
        le=10**12,
        description="What to refund, in fen, at most what remains refundable on those units "
        "(409 `refund_amount_exceeded` names it); omitted: that maximum.",
        examples=[None],
    )
    refund_freight: bool = Field(
        default=False,
        description="Refund the order's freight too: only while nothing of the order has "
        "shipped, and once.",
        examples=[False],
    )
    description: str | None = Field(
        default=None, max_length=500, description="In the buyer's words.", examples=[None]
    )
    images: list[HttpUrl] = Field(
        default_factory=list,
        max_length=9,
        description="Photos (URLs), up to 9.",
        examples=[["https://cdn.example.com/afs/1.jpg"]],
    )


class ReturnAddressIn(Input):
    """Where the goods of a return go back to."""

    recipient: str = Field(
        min_length=1, max_length=32, description="Who receives the parcel.", examples=["售后部"]
    )
    phone: str = Field(
        min_length=11,
        max_length=20,
        description="A mainland China mobile number.",
        examples=["13800138000"],
    )
    region_code: str = Field(
        pattern=r"^\d{6}$", description="GB/T 2260 district code.", examples=["440305"]
    )
    detail: str = Field(
        min_length=1,
        max_length=120,
        description="Street, building, door.",
        examples=["1 Keyuan Road"],
    )


def address_of(a: ReturnAddressIn | None) -> dict[str, Any] | None:
    """The address as an after-sale keeps it (checked: mobile number, district), or None."""
    if a is None:
        return None
    return return_address(a.recipient, a.phone, a.region_code, a.detail)


class AfterSaleAcceptance(Input):
    """The shop agrees; a return needs the address the goods go back to."""

    return_address: ReturnAddressIn | None = Field(
        default=None,
        description="Required to accept a `return_refund`, refused for a `refund`.",
    )


class AfterSaleRejection(Input):
    """The shop refuses, saying why (the buyer reads it)."""

    free_text_fields = frozenset({"reason"})

    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why, in words the buyer reads.",
        examples=["The photos show the item used."],
    )


class ReturnShipmentIn(Input):
    """How the buyer sent the goods of an accepted return back."""

    carrier: str = Field(max_length=16, description="A carrier code.", examples=["SF"])
    waybill_no: str = Field(
        min_length=1,
        max_length=40,
        description="The carrier's waybill number.",
        examples=["SF1234567890123"],
    )


class AfterSaleSettingsOut(Output):
    """How the shop handles after-sales."""

    return_address: OrderAddress | None = Field(
        description="Where returns go back to by default (none until set).", examples=[None]
    )
    restock_returns: bool = Field(
        description="Goods the shop confirms it got back go back into stock.", examples=[True]
    )
    shipping_insurance: bool = Field(
        description="The shop insures its orders' return shipping (运费险): it pays the "
        "premium per order when the goods first leave.",
        examples=[False],
    )
    updated_at: datetime = Field(description="When they last changed.", examples=[TIME_EXAMPLE])

    @classmethod
    def of(cls, s: AfterSaleSettingsEntity) -> AfterSaleSettingsOut:
        return cls.model_validate(s)


class AfterSaleSettingsIn(Input):
    """The shop's after-sales settings, whole."""

    return_address: ReturnAddressIn | None = Field(
        default=None, description="Where returns go back to by default; null: none."
    )
    restock_returns: bool = Field(
        default=True,
        description="Put goods the shop confirms it got back into stock again.",
        examples=[True],
    )
    shipping_insurance: bool = Field(
        default=False,
        description="Insure the shop's orders' return shipping: each order shipped from now "
        "on costs the shop the platform's premium; the buyer of a completed return of an "
        "insured order is compensated by the platform.",
        examples=[False],
    )
