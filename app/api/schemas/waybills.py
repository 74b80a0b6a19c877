"""The public contract of electronic waybills: issue one for an order, read it, its label."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.api.schemas.base import Input, Output
from app.api.schemas.logistics import ACCOUNT_ID_EXAMPLE, SENDER_ID_EXAMPLE
from app.api.schemas.orders import (
    LINE_EXAMPLE,
    ORDER_EXAMPLE,
    SHIPMENT_EXAMPLE,
    TIME_EXAMPLE,
    ShipmentLineIn,
)
from app.domain.logistics.waybills import MAX_WEIGHT_GRAMS, EWaybill, mask_phone

WAYBILL_ID_EXAMPLE = "wb_01jd8m3k2x9v7q4w5e6r7t8y9z"


class WaybillCreate(Input):
    """A waybill for units of the order (`lines`), or everything not yet shipped."""

    logistics_account_id: str = Field(
        min_length=1,
        max_length=64,
        description="The bound carrier account that issues it (`GET /v1/logistics/accounts`); "
        "its carrier is the waybill's.",
        examples=[ACCOUNT_ID_EXAMPLE],
    )
    sender_address_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The sender, from the shop's address book; omit for its default sender.",
        examples=[SENDER_ID_EXAMPLE],
    )
    lines: list[ShipmentLineIn] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Units of the order's lines in the parcel; omit for everything not yet "
        "shipped.",
    )
    weight_grams: int | None = Field(
        default=None,
        ge=1,
        le=MAX_WEIGHT_GRAMS,
        description="The parcel's weight in grams; omit to add up its SKUs' weights "
        "(`parcel_weight_required` when they have none).",
        examples=[1200],
    )
    ship: bool = Field(
        default=False,
        description="Ship these units under the new waybill in the same call: the order's "
        "shipment (`order.shipped`), as `POST /v1/orders/{order_id}/shipments` would make "
        "it. Needs the scope `orders:write` as well.",
        examples=[True],
    )


class WaybillParty(Output):
    """A sender or receiver as the carrier was told at issue."""

    name: str = Field(description="Name.", examples=["张三"])
    phone: str = Field(
        description="Phone; a receiver's is masked in the middle, as the label prints it.",
        examples=["138****8000"],
    )
    company: str | None = Field(description="A sender's company, if any.", examples=["杭州好物"])
    region_code: str = Field(description="GB/T 2260 district code.", examples=["330106"])
    address: str = Field(
        description="The full address as printed: province, city, district and detail.",
        examples=["浙江省杭州市西湖区文三路 100 号"],
    )


class WaybillLine(Output):
    """Units of one order line in the parcel."""

    line_id: str = Field(description="The order line.", examples=[LINE_EXAMPLE])
    quantity: int = Field(description="Units of it in the parcel.", examples=[1])
    title: str = Field(description="The product's title at order time.", examples=["羊毛围巾"])


class WaybillLinks(Output):
    """Where to go next."""

    label: str = Field(
        description="The label, a 100 × 150 mm PDF.",
        examples=["/v1/waybills/wb_01jd8m3k2x9v7q4w5e6r7t8y9z/label.pdf"],
    )
    order: str = Field(description="The order.", examples=[f"/v1/orders/{ORDER_EXAMPLE}"])


class Waybill(Output):
    """An electronic waybill (电子面单) a carrier issued for an order."""

    id: str = Field(description="The waybill's id (`wb_…`).", examples=[WAYBILL_ID_EXAMPLE])
    order_id: str = Field(description="The order.", examples=[ORDER_EXAMPLE])
    logistics_account_id: str = Field(
        description="The carrier account that issued it.", examples=[ACCOUNT_ID_EXAMPLE]
    )
    carrier: str = Field(description="The carrier's code.", examples=["SF"])
    waybill_no: str = Field(description="The carrier's number.", examples=["SF1234567890123"])
    status: Literal["issued", "cancelled"] = Field(
        description="`issued`, or `cancelled` at the carrier.", examples=["issued"]
    )
    shipment_id: str | None = Field(
        description="The order's shipment travelling under this waybill, if any.",
        examples=[SHIPMENT_EXAMPLE],
    )
    sender: WaybillParty = Field(description="Who sends it.")
    receiver: WaybillParty = Field(description="Who receives it.")
    lines: list[WaybillLine] = Field(description="What is in the parcel.")
    weight_grams: int = Field(description="The parcel's weight, grams.", examples=[1200])
    tracking_stage: Literal["collected", "in_transit", "out_for_delivery", "delivered"] | None = (
        Field(
            description="The latest stage the carrier reported; null until it collects.",
            examples=["in_transit"],
        )
    )
    delivered_at: datetime | None = Field(
        description="When the carrier delivered it.", examples=[TIME_EXAMPLE]
    )
    created_at: datetime = Field(description="When the carrier issued it.", examples=[TIME_EXAMPLE])
    cancelled_at: datetime | None = Field(description="When cancelled.", examples=[None])
    links: WaybillLinks = Field(description="The label and the order.")

    @classmethod
    def of(cls, w: EWaybill, shipment_id: str | None) -> Waybill:
        def party(p: dict[str, Any], *, masked: bool) -> WaybillParty:
            return WaybillParty(
                name=p["name"],
                phone=mask_phone(p["phone"]) if masked else p["phone"],
                company=p.get("company"),
                region_code=p["region_code"],
                address=p["address"],
            )

        return cls(
            id=w.id,
            order_id=w.order_id,
            logistics_account_id=w.logistics_account_id,
            carrier=w.carrier_code,
            waybill_no=w.number,
            status=w.status.value,
            shipment_id=shipment_id,
            sender=party(w.sender, masked=False),
            receiver=party(w.receiver, masked=True),
            lines=[WaybillLine(**x) for x in w.lines],
            weight_grams=w.weight_grams,
            tracking_stage=w.tracking_stage.value if w.tracking_stage else None,
            delivered_at=w.delivered_at,
            created_at=w.created_at,
            cancelled_at=w.cancelled_at,
            links=WaybillLinks(
                label=f"/v1/waybills/{w.id}/label.pdf", order=f"/v1/orders/{w.order_id}"
            ),
        )


class TrackingStep(Output):
    """One step of a parcel's journey, as the carrier reported it."""

    stage: Literal["collected", "in_transit", "out_for_delivery", "delivered"] = Field(
        description="Where the parcel is.", examples=["in_transit"]
    )
    at: datetime = Field(description="When, as the carrier says.", examples=[TIME_EXAMPLE])
    location: str = Field(description="Where.", examples=["杭州转运中心"])
    description: str = Field(description="The carrier's words.", examples=["快件已发往目的地"])


class ShipmentTracking(Output):
    """A shipment's journey. The platform tracks shipments that travel under an e-waybill
    it issued (`POST /v1/orders/{order_id}/waybills`): the worker asks the carrier every
    `MINISHOP_TRACKING_POLL_SECONDS` until delivery. Others are not tracked (`tracked`
    false, no steps)."""

    shipment_id: str = Field(description="The shipment.", examples=[SHIPMENT_EXAMPLE])
    carrier: str = Field(description="The carrier's code.", examples=["SF"])
    waybill_no: str = Field(description="The carrier's number.", examples=["SF1234567890123"])
    tracked: bool = Field(description="Whether the platform tracks it.", examples=[True])
    waybill_id: str | None = Field(
        description="The platform's e-waybill it travels under.", examples=[WAYBILL_ID_EXAMPLE]
    )
    stage: Literal["collected", "in_transit", "out_for_delivery", "delivered"] | None = Field(
        description="The latest step's stage; null before the carrier collects.",
        examples=["in_transit"],
    )
    delivered_at: datetime | None = Field(description="When delivered.", examples=[None])
    polled_at: datetime | None = Field(
        description="When the platform last asked the carrier.", examples=[TIME_EXAMPLE]
    )
    events: list[TrackingStep] = Field(description="The journey so far, oldest first.")


BATCH_ID_EXAMPLE = "job_01jd8m3k2x9v7q4w5e6r7t8y9z"


class WaybillBatchCreate(Input):
    """Up to 500 orders to issue e-waybills for and print in one PDF."""

    logistics_account_id: str = Field(
        min_length=1,
        max_length=64,
        description="The bound carrier account that issues every waybill.",
        examples=[ACCOUNT_ID_EXAMPLE],
    )
    sender_address_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The sender for all; omit for the shop's default sender.",
        examples=[SENDER_ID_EXAMPLE],
    )
    order_ids: list[str] = Field(
        min_length=1,
        max_length=500,
        description="The orders, each once, in the order their labels print. Each gets a "
        "waybill for everything it has not shipped yet.",
        examples=[[ORDER_EXAMPLE]],
    )
    weight_grams: int | None = Field(
        default=None,
        ge=1,
        le=MAX_WEIGHT_GRAMS,
        description="Every parcel's weight in grams; omit to add up each order's SKU weights.",
        examples=[1200],
    )
    ship: bool = Field(
        default=False,
        description="Ship each order under its new waybill (`order.shipped`). Needs the "
        "scope `orders:write` as well.",
        examples=[True],
    )


class WaybillBatchError(Output):
    """Why an order of the batch got no waybill."""

    code: str = Field(
        description="The problem code the single call (`POST /v1/orders/{order_id}/waybills`) "
        "would have answered: `order_not_found`, `invalid_order_transition`, "
        "`parcel_weight_required`, `carrier_unavailable`...",
        examples=["invalid_order_transition"],
    )
    message: str = Field(
        description="What went wrong, for a person.",
        examples=["Cannot issue a waybill for an order in status 10 (pending payment)."],
    )


class WaybillBatchResult(Output):
    """One order of the batch: its waybill, or why it got none."""

    line: int = Field(description="Its position in `order_ids`, from 1.", examples=[1])
    order_id: str = Field(description="The order.", examples=[ORDER_EXAMPLE])
    outcome: Literal["issued", "failed"] = Field(
        description="`issued`: its waybill is `waybill_id` and its label is in the PDF.",
        examples=["issued"],
    )
    waybill_id: str | None = Field(description="Its waybill.", examples=[WAYBILL_ID_EXAMPLE])
    error: WaybillBatchError | None = Field(description="Why it failed.", examples=[None])


class WaybillBatchLinks(Output):
    """Where to go next."""

    self: str = Field(
        description="This batch.", examples=[f"/v1/waybill-batches/{BATCH_ID_EXAMPLE}"]
    )
    labels: str = Field(
        description="The PDF, once the batch succeeded (until `expires_at`).",
        examples=[f"/v1/waybill-batches/{BATCH_ID_EXAMPLE}/labels.pdf"],
    )


class WaybillBatch(Output):
    """A batch printing job: e-waybills for many orders, their labels in one PDF."""

    id: str = Field(description="Its id.", examples=[BATCH_ID_EXAMPLE])
    status: Literal["queued", "running", "succeeded", "failed"] = Field(
        description="`queued`, `running`, `succeeded` (finished: see each order's outcome) or "
        "`failed` (the batch could not run: see `error`).",
        examples=["running"],
    )
    ship: bool = Field(description="Whether each order ships under its waybill.", examples=[True])
    total: int = Field(description="Orders in the batch.", examples=[500])
    processed: int = Field(description="Orders done so far.", examples=[150])
    succeeded: int = Field(description="Orders that got a waybill.", examples=[148])
    failed: int = Field(description="Orders that did not.", examples=[2])
    error: str | None = Field(description="Why the batch failed, if it did.", examples=[None])
    results: list[WaybillBatchResult] = Field(
        description="Each order done so far, in the batch's order."
    )
    created_at: datetime = Field(description="When it was queued.", examples=[TIME_EXAMPLE])
    started_at: datetime | None = Field(description="When a worker took it.", examples=[None])
    finished_at: datetime | None = Field(description="When it finished.", examples=[None])
    expires_at: datetime | None = Field(
        description="When its PDF is deleted (`MINISHOP_LABEL_BATCH_TTL_HOURS` after it "
        "finished); its waybills and their single labels remain.",
        examples=[None],
    )
    links: WaybillBatchLinks = Field(description="This batch and its PDF.")
