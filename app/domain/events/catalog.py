"""Every event type a subscriber can receive, with the payload (`data`) it carries.

This is the one source of the event contract: emitting code builds these payloads (a wrong or
missing field fails where the event is made), `Event` accepts only a catalogued type with its
own payload model, and the OpenAPI `webhooks` section is generated from this table.

Payloads refuse unknown fields when built, yet their published schema allows additional
properties: new fields are an additive change a receiver must tolerate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Families whose events carry `sequence`: 1, 2, 3… per resource (an order: its `order.*`,
#: `payment.*`, `aftersale.*`, `insurance.*` and `shipment.*` events share its numbers), in
#: the order their
#: transactions committed, so a receiver can tell a late retry from the latest news. A
#: resource's events are all sequenced or none are: the family decides, not the type.
SEQUENCED_FAMILIES = frozenset({"order", "payment", "aftersale", "insurance", "shipment"})


#: A product's status as its events publish it: the values of the catalogue context's
#: `ProductStatus`, spelled out because this contract sits below every context it describes
#: (no import cycle); tests/unit/test_event_catalog.py holds the two equal.
ProductStatusName = Literal[
    "draft", "in_review", "approved", "listed", "delisted", "rejected", "banned"
]


def _open_schema(schema: dict[str, Any]) -> None:
    schema["additionalProperties"] = True


class Payload(BaseModel):
    """The `data` of an event."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_open_schema)


class ShopPayload(Payload):
    """Every shop event says which shop: a provider serving many shops picks the shop's token
    by it. The event's `shop_id` column is taken from here, so the two cannot disagree."""

    shop_id: str = Field(
        description="The shop the event is about: use that shop's access token to act on it.",
        examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )


class SequencedPayload(ShopPayload):
    """A payload of a sequenced family; the outbox writer numbers it."""

    sequence: int | None = Field(
        default=None,
        description="1, 2, 3… per resource, in commit order: a lower number is older news.",
        examples=[1],
    )


class ProductRef(ShopPayload):
    """The product an event is about, as every product event names it."""

    product_id: str = Field(
        description="The product.", examples=["prod_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    out_product_id: str | None = Field(description="Your id for it.", examples=["erp-10086"])
    status: ProductStatusName = Field(
        description="Its status after the change.", examples=["listed"]
    )


class ProductEventData(ProductRef):
    """What a product event carries."""

    changed: list[str] | None = Field(
        default=None,
        description="`product.updated`: the fields that changed.",
        examples=[["title"]],
    )
    revision: bool | None = Field(
        default=None,
        description="Review events of a live product's pending revision (not the product).",
        examples=[None],
    )
    reason: str | None = Field(
        default=None, description="Rejections and bans: why.", examples=[None]
    )
    sku_id: str | None = Field(default=None, description="SKU changes: the SKU.", examples=[None])


class StockLowData(ProductRef):
    """A SKU whose stock a change took from above its `low_stock_threshold` to at or below
    it: sent once per crossing, not again while it stays low."""

    sku_id: str = Field(description="The SKU.", examples=["sku_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    out_sku_id: str | None = Field(
        description="Your id for the SKU.", examples=["erp-sku-10086-red-m"]
    )
    stock: int = Field(description="Units left after the change.", examples=[3])
    low_stock_threshold: int = Field(description="The SKU's threshold.", examples=[5])


class GrantEventData(ShopPayload):
    """A shop's authorization of the app."""

    grant_id: str = Field(
        description="The authorization.", examples=["grant_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    app_id: str = Field(description="Your app.", examples=["app_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    client_id: str = Field(description="Its client id.", examples=["msc_4f1c9a7e2b6d8f0a1c3e"])
    scopes: list[str] = Field(description="Scopes granted.", examples=[["products:read"]])
    revoked_at: datetime | None = Field(description="When revoked.", examples=[None])


class EndpointDisabledData(Payload):
    """The endpoint the platform disabled."""

    endpoint_id: str = Field(
        description="The endpoint.", examples=["we_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    url: str = Field(description="Its URL.", examples=["https://erp.example.com/hooks"])
    reason: str = Field(description="Why.", examples=["The endpoint answered 410 Gone."])


class PingData(Payload):
    """The endpoint being tested."""

    endpoint_id: str = Field(
        description="The endpoint.", examples=["we_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    app_id: str = Field(description="Your app.", examples=["app_01jd8m3k2x9v7q4w5e6r7t8y9z"])


#: An order's status as its events publish it: the Mini Shop's codes (the orders context's
#: `OrderStatus`, spelled out for the same reason as `ProductStatusName`).
OrderStatusCode = Literal[10, 20, 21, 30, 100, 200, 250]


class OrderEventData(SequencedPayload):
    """What every order event carries: the order, its status after the change, and what
    changed; read the order (`GET /v1/orders/{order_id}`) for the rest."""

    order_id: str = Field(description="The order.", examples=["order_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    status: OrderStatusCode = Field(
        description="Its status after the change: 10 pending payment, 20 awaiting shipment, "
        "21 partially shipped, 30 awaiting receipt, 100 completed, 200 closed, 250 cancelled.",
        examples=[20],
    )
    total: int = Field(description="The order's total after the change, in fen.", examples=[12900])
    reason: Literal["buyer", "timeout", "merchant", "provider"] | None = Field(
        default=None, description="`order.cancelled`: who or what cancelled it.", examples=[None]
    )
    shipment_id: str | None = Field(
        default=None, description="`order.shipped`: the shipment.", examples=[None]
    )
    received_by: Literal["buyer", "auto", "pickup"] | None = Field(
        default=None,
        description="`order.received`: the buyer, the platform after the confirmation period, "
        "or `pickup`: the buyer collected a pickup order, the shop having verified its code.",
        examples=[None],
    )
    pickup_point_id: str | None = Field(
        default=None,
        description="`order.ready_for_pickup`: the pickup point the order waits at.",
        examples=[None],
    )
    payment_id: str | None = Field(
        default=None,
        description="`order.paid` and `payment.refunded`: the payment.",
        examples=[None],
    )
    refund_reason: (
        Literal["order_cancelled", "order_already_paid", "total_changed", "cancelled_by_shop"]
        | None
    ) = Field(
        default=None,
        description="`payment.refunded`: why the money went back: its notification came "
        "after the order was cancelled (`order_cancelled`), the order was paid by another "
        "payment (`order_already_paid`), its total changed after the payment was made "
        "(`total_changed`), or the shop cancelled the paid order (`cancelled_by_shop`).",
        examples=[None],
    )
    refund_amount: int | None = Field(
        default=None,
        description="`payment.refunded`: the amount refunded, in fen.",
        examples=[None],
    )
    settled_amount: int | None = Field(
        default=None,
        description="`order.settled`: what became the shop's (`available`), after the "
        "platform's fee, in fen; negative when refunds took more than the order left.",
        examples=[None],
    )
    platform_fee: int | None = Field(
        default=None,
        description="`order.settled`: the platform's fee on the order, in fen (its rate of "
        "what the order held, rounded half up).",
        examples=[None],
    )


class InsuranceClaimData(SequencedPayload):
    """A shipping insurance compensation paid to the buyer of an insured order (numbered
    with the order's events): the platform paid it, not the shop."""

    order_id: str = Field(description="The order.", examples=["order_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    claim_id: str = Field(description="The claim.", examples=["iclm_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    aftersale_id: str = Field(
        description="The completed return it compensates.",
        examples=["afs_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    amount: int = Field(description="Paid to the buyer, in fen.", examples=[1000])


TrackingStageName = Literal["collected", "in_transit", "out_for_delivery", "delivered"]


class TrackingEventData(Payload):
    """One step of a parcel's journey, as the carrier reported it."""

    stage: TrackingStageName = Field(description="Where the parcel is.", examples=["in_transit"])
    at: datetime = Field(
        description="When, as the carrier says.", examples=["2026-11-25T08:00:00Z"]
    )
    location: str = Field(description="Where.", examples=["杭州转运中心"])
    description: str = Field(description="The carrier's words.", examples=["快件已发往目的地"])


class ShipmentTrackingData(SequencedPayload):
    """New tracking of a shipment (numbered with its order's events): what the carrier
    reported since the last `shipment.tracking_updated`; the whole journey is at
    `GET /v1/orders/{order_id}/shipments/{shipment_id}/tracking`."""

    order_id: str = Field(description="The order.", examples=["order_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    shipment_id: str = Field(
        description="The shipment.", examples=["ship_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    waybill_id: str = Field(
        description="The platform's e-waybill it travels under.",
        examples=["wb_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    carrier: str = Field(description="The carrier's code.", examples=["SF"])
    waybill_no: str = Field(description="The carrier's number.", examples=["SF1234567890123"])
    stage: TrackingStageName = Field(description="The latest stage.", examples=["in_transit"])
    events: list[TrackingEventData] = Field(description="The new steps, oldest first.")


class AfterSaleEventData(SequencedPayload):
    """What every after-sale event carries (numbered with its order's events): the
    after-sale, its status after the change, and what it refunds; read it
    (`GET /v1/aftersales/{aftersale_id}`) for the rest."""

    order_id: str = Field(description="The order.", examples=["order_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    aftersale_id: str = Field(
        description="The after-sale.", examples=["afs_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    type: Literal["refund", "return_refund"] = Field(
        description="`refund`: money back only; `return_refund`: the goods go back first.",
        examples=["refund"],
    )
    status: Literal[
        "merchant_processing",
        "user_wait_return",
        "merchant_wait_receipt",
        "platform_refunding",
        "merchant_rejected",
        "user_cancelled",
        "return_closed",
        "refunded",
        "refund_failed",
    ] = Field(description="Its status after the change.", examples=["merchant_processing"])
    amount: int = Field(description="What it refunds, in fen.", examples=[12900])


@dataclass(frozen=True)
class EventType:
    """One entry of the catalogue: its dotted name, what it means, and its payload model."""

    name: str
    meaning: str
    payload: type[Payload]

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def sequenced(self) -> bool:
        return self.family in SEQUENCED_FAMILIES

    @property
    def for_shop(self) -> bool:
        return issubclass(self.payload, ShopPayload)

    def __post_init__(self) -> None:
        if self.sequenced and not issubclass(self.payload, SequencedPayload):
            raise TypeError(f"{self.name} is sequenced: its payload must be a SequencedPayload")


def _table(*types: EventType) -> dict[str, EventType]:
    return {t.name: t for t in types}


CATALOG: dict[str, EventType] = _table(
    EventType(
        "app.authorized",
        "A shop authorized the app (or widened its scopes).",
        GrantEventData,
    ),
    EventType(
        "app.authorization_revoked",
        "A shop revoked the app's authorization.",
        GrantEventData,
    ),
    EventType(
        "app.webhook_disabled",
        "The platform disabled one of the app's endpoints after sustained failure (or a 410 Gone).",
        EndpointDisabledData,
    ),
    EventType(
        "product.review_passed",
        "A product (or a pending revision of a live one) passed review.",
        ProductEventData,
    ),
    EventType(
        "product.review_rejected",
        "A product (or a pending revision) was rejected, with a reason.",
        ProductEventData,
    ),
    EventType("product.listed", "A product went on sale.", ProductEventData),
    EventType("product.delisted", "A product was taken off sale.", ProductEventData),
    EventType("product.banned", "The platform banned a product.", ProductEventData),
    EventType("product.updated", "A product's content, SKUs or prices changed.", ProductEventData),
    EventType(
        "product.stock_low",
        "A SKU's stock fell to or below its low-stock threshold.",
        StockLowData,
    ),
    EventType("webhook.ping", "A test event sent from the developer surface.", PingData),
    EventType("order.created", "A buyer placed an order (pending payment).", OrderEventData),
    EventType(
        "order.price_changed",
        "The shop changed line prices or the freight of an unpaid order.",
        OrderEventData,
    ),
    EventType(
        "order.shipped", "A shipment of the order left (one event per shipment).", OrderEventData
    ),
    EventType(
        "order.received",
        "The buyer confirmed receipt, or the platform did after the confirmation period.",
        OrderEventData,
    ),
    EventType(
        "order.paid",
        "The buyer paid the order (status 20); `payment_id` names the payment.",
        OrderEventData,
    ),
    EventType("order.completed", "The order completed.", OrderEventData),
    EventType(
        "shipment.tracking_updated",
        "The carrier reported new steps of a shipment's parcel (tracked e-waybills).",
        ShipmentTrackingData,
    ),
    EventType(
        "order.delivered",
        "The carrier delivered the order's last shipment; the automatic receipt confirmation "
        "now counts from this.",
        OrderEventData,
    ),
    EventType(
        "order.ready_for_pickup",
        "The shop has the paid pickup order ready at its pickup point (status stays 20); the "
        "buyer's pickup code now completes it.",
        OrderEventData,
    ),
    EventType(
        "order.cancelled",
        "The order was cancelled (by the buyer, the payment timeout, the merchant or a provider).",
        OrderEventData,
    ),
    EventType(
        "aftersale.created",
        "A buyer asked for a refund or a return on lines of a paid order.",
        AfterSaleEventData,
    ),
    EventType(
        "aftersale.updated",
        "An after-sale changed status (accepted, rejected, cancelled, shipped back, received, "
        "closed); `status` says which.",
        AfterSaleEventData,
    ),
    EventType(
        "aftersale.refunded",
        "The money of an after-sale went back to the buyer through the payment gateway.",
        AfterSaleEventData,
    ),
    EventType(
        "order.closed",
        "Every unit of the order was refunded by after-sales: the order is closed (200).",
        OrderEventData,
    ),
    EventType(
        "insurance.claim_paid",
        "The platform paid the buyer of an insured order the shipping insurance's "
        "compensation for a completed return.",
        InsuranceClaimData,
    ),
    EventType(
        "order.settled",
        "The order's money became the shop's (`available` in `GET /v1/funds`) after the "
        "settlement delay: `settled_amount` after the platform's `platform_fee`.",
        OrderEventData,
    ),
    EventType(
        "payment.refunded",
        "A payment of the order was refunded through its gateway (numbered with the order's "
        "events): it came after the order was cancelled or paid otherwise, or the shop "
        "cancelled the paid order.",
        OrderEventData,
    ),
)


class UnknownEventType(ValueError):
    """A programming error: an event type that is not in the catalogue."""


def event_type(name: str) -> EventType:
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownEventType(f"{name!r} is not in the event catalogue") from None
