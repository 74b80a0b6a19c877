"""Orders as the open API shows them, and the bodies that change them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.api.schemas.base import Input, Output
from app.api.schemas.order_documents import entity_document, member_document
from app.domain.orders.carriers import Carrier as CarrierEntity
from app.domain.orders.model import Order as OrderEntity
from app.domain.orders.model import Shipment as ShipmentEntity
from app.domain.orders.model import order_record
from app.domain.orders.pricing import MAX_LINE_QUANTITY

ORDER_EXAMPLE = "order_01jd8m3k2x9v7q4w5e6r7t8y9z"
LINE_EXAMPLE = "oline_01jd8m3k2x9v7q4w5e6r7t8y9z"
SHIPMENT_EXAMPLE = "ship_01jd8m3k2x9v7q4w5e6r7t8y9z"
TIME_EXAMPLE = "2026-11-25T08:00:00Z"

StatusCode = Literal[10, 20, 21, 30, 100, 200, 250]


class LineSnapshot(Output):
    """The product and SKU as the buyer saw them when ordering (later edits do not change it)."""

    title: str = Field(description="The product's title.", examples=["Linen dress"])
    image: str | None = Field(
        description="The product's first image.", examples=["https://cdn.example.com/front.jpg"]
    )
    sale_attrs: dict[str, str] = Field(
        description="The SKU's sale attributes.", examples=[{"size": "M"}]
    )
    out_product_id: str | None = Field(description="Your id for the product.", examples=["erp-1"])
    out_sku_id: str | None = Field(description="Your id for the SKU.", examples=["erp-1-m"])


class OrderLine(Output):
    """One SKU of the order: units, price, and how many shipped or went to after-sales."""

    id: str = Field(description="The line's id.", examples=[LINE_EXAMPLE])
    product_id: str = Field(
        description="The product ordered.", examples=["prod_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    sku_id: str = Field(description="The SKU ordered.", examples=["sku_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    quantity: int = Field(description="Units ordered.", examples=[2])
    unit_price: int = Field(description="Price of one unit, fen.", examples=[19900])
    total: int = Field(description="`unit_price * quantity`, fen.", examples=[39800])
    shipped_quantity: int = Field(description="Units shipped so far.", examples=[0])
    aftersale_quantity: int = Field(
        description="Units in after-sales (refunds and returns).", examples=[0]
    )
    snapshot: LineSnapshot = Field(description="What the buyer saw.")


class OrderAddress(Output):
    """Where the order goes (readable with `orders:read`, as the consent page says)."""

    recipient: str = Field(description="Who receives it.", examples=["Li Lei"])
    phone: str = Field(description="The recipient's mobile number.", examples=["13800138000"])
    region_code: str = Field(description="GB/T 2260 district code.", examples=["440305"])
    province: str = Field(description="Province name.", examples=["广东省"])
    city: str | None = Field(
        description="City name (none for a province-level city's districts).", examples=["深圳市"]
    )
    district: str = Field(description="District or county name.", examples=["南山区"])
    detail: str = Field(description="Street, building, door.", examples=["1 Keyuan Road"])


class OrderPickupPoint(Output):
    """The pickup point a pickup order is collected at, as it was when the order was placed."""

    id: str = Field(description="The point's id.", examples=["pkp_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    name: str = Field(description="The store's name.", examples=["南山科技园店"])
    region_code: str = Field(description="GB/T 2260 district code.", examples=["440305"])
    province: str = Field(description="Province name.", examples=["广东省"])
    city: str | None = Field(
        description="City name (none for a province-level city's districts).", examples=["深圳市"]
    )
    district: str = Field(description="District or county name.", examples=["南山区"])
    detail: str = Field(description="Street, building, shop number.", examples=["深南大道10000号"])
    hours: str = Field(description="Opening hours.", examples=["周一至周日 09:00-21:00"])
    contact_name: str = Field(description="Who to ask for.", examples=["张伟"])
    contact_phone: str = Field(description="The store's mobile number.", examples=["13800138000"])


class ShipmentLine(Output):
    """Units of one line in a shipment."""

    line_id: str = Field(description="The order line.", examples=[LINE_EXAMPLE])
    quantity: int = Field(description="Units of it in this shipment.", examples=[1])


class OrderAfterSale(Output):
    """An after-sale of the order, in brief."""

    id: str = Field(description="The after-sale's id.", examples=["afs_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    type: Literal["refund", "return_refund"] = Field(
        description="`refund` or `return_refund`.", examples=["refund"]
    )
    status: str = Field(
        description="Its status (see `AfterSale.status`).", examples=["merchant_processing"]
    )
    amount: int = Field(description="What it refunds, in fen.", examples=[12900])
    created_at: datetime = Field(description="When the buyer asked.", examples=[TIME_EXAMPLE])


class OrderInsuranceClaim(Output):
    """A shipping insurance compensation of the order's buyer, for a completed return."""

    id: str = Field(description="The claim's id.", examples=["iclm_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    aftersale_id: str = Field(
        description="The return it compensates.", examples=["afs_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    amount: int = Field(
        description="Paid to the buyer by the platform, in fen (by the province of the "
        "order's address).",
        examples=[1000],
    )
    status: Literal["pending", "paid"] = Field(
        description="`pending` until the platform paid it through the gateway.",
        examples=["paid"],
    )
    paid_at: datetime | None = Field(description="When it was paid.", examples=[TIME_EXAMPLE])


class OrderInsurance(Output):
    """The order's shipping insurance policy (运费险) and its claims."""

    premium: int = Field(
        description="What the shop paid for it, in fen, when the goods first left.",
        examples=[150],
    )
    insured_at: datetime = Field(description="When it was insured.", examples=[TIME_EXAMPLE])
    claims: list[OrderInsuranceClaim] = Field(description="Its claims, oldest first.")


class Shipment(Output):
    """Units of the order that left together under one waybill."""

    id: str = Field(description="The shipment's id.", examples=[SHIPMENT_EXAMPLE])
    carrier: str = Field(description="A code of `GET /v1/logistics/carriers`.", examples=["SF"])
    waybill_no: str = Field(
        description="The carrier's waybill number.", examples=["SF1234567890123"]
    )
    lines: list[ShipmentLine] = Field(description="What it carries.")
    created_at: datetime = Field(description="When it was recorded.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(description="When it last changed.", examples=[TIME_EXAMPLE])

    @classmethod
    def of(cls, s: ShipmentEntity) -> Shipment:
        return cls.model_validate(s)


class TimelineEntry(Output):
    """One step of an order's life."""

    event: Literal[
        "placed",
        "paid",
        "ready_for_pickup",
        "shipped",
        "delivered",
        "received",
        "completed",
        "cancelled",
        "closed",
        "settled",
    ] = Field(description="What happened.", examples=["shipped"])
    at: datetime = Field(description="When.", examples=[TIME_EXAMPLE])
    detail: str | None = Field(
        description="For `shipped` the shipment's id, for `ready_for_pickup` the pickup "
        "point's, for `received` who confirmed it (`buyer`, `auto`, or `pickup`: collected "
        "with its code), for `cancelled` why (`buyer`, `timeout`, `merchant`, `provider`); "
        "else null.",
        examples=[SHIPMENT_EXAMPLE],
    )


class Order(Output):
    """An order of the shop: lines, amounts (integer fen), address, notes, shipments."""

    id: str = Field(description="The order's id.", examples=[ORDER_EXAMPLE])
    shop_id: str = Field(description="The shop.", examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    buyer_id: str = Field(
        description="The buyer's account.", examples=["acct_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    status: StatusCode = Field(
        description="10 pending payment, 20 awaiting shipment, 21 partially shipped, "
        "30 awaiting receipt, 100 completed, 200 closed, 250 cancelled.",
        examples=[10],
    )
    product_total: int = Field(description="Sum of the lines, fen.", examples=[39800])
    freight: int = Field(description="Freight, fen.", examples=[800])
    discount_total: int = Field(description="Discounts on the goods, fen.", examples=[0])
    total: int = Field(
        description="`product_total - discount_total + freight`, fen: what the buyer pays.",
        examples=[40600],
    )
    lines: list[OrderLine] = Field(description="The SKUs ordered.")
    address: OrderAddress | None = Field(
        description="Where it goes; null for a pickup order (see `pickup_point`)."
    )
    delivery_method: Literal["express", "pickup"] = Field(
        description="`express`: shipped to `address` (shipments); `pickup`: collected by the "
        "buyer at `pickup_point`, never shipped (the shop marks it ready, then verifies the "
        "buyer's pickup code, which completes it).",
        examples=["express"],
    )
    pickup_point: OrderPickupPoint | None = Field(
        description="A pickup order's point, as it was when the order was placed; null for "
        "express delivery."
    )
    buyer_note: str | None = Field(description="The buyer's note.", examples=["Ring twice"])
    merchant_note: str | None = Field(
        description="The shop's own note; null on the storefront (the buyer does not see it).",
        examples=[None],
    )
    cancel_reason: Literal["buyer", "timeout", "merchant", "provider"] | None = Field(
        description="Why it was cancelled (status 250).", examples=[None]
    )
    cancel_note: str | None = Field(
        description="The shop's words on why it cancelled, as the merchant or provider gave "
        "them with the cancellation (`reason`); null for other cancellations. The buyer reads "
        "it too.",
        examples=[None],
    )
    shipments: list[Shipment] = Field(description="Its shipments, oldest first.")
    aftersales: list[OrderAfterSale] | None = Field(
        default=None,
        description="On `GET /v1/orders/{order_id}`: the order's after-sales (refund and "
        "return requests), oldest first, in brief (`GET /v1/aftersales/{aftersale_id}` reads "
        "one in full); null in lists and elsewhere.",
        examples=[None],
    )
    insurance: OrderInsurance | None = Field(
        default=None,
        description="On `GET /v1/orders/{order_id}`: the order's shipping insurance policy "
        "and claims, when the shop insured it (its goods left while its after-sales settings "
        "had `shipping_insurance`); null otherwise, in lists and elsewhere.",
        examples=[None],
    )
    timeline: list[TimelineEntry] = Field(
        description="What happened to it, oldest first: placed, paid, each shipment, "
        "delivered, received, completed, or cancelled or closed; settled."
    )
    created_at: datetime = Field(description="When it was placed.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(description="When it last changed.", examples=[TIME_EXAMPLE])
    paid_at: datetime | None = Field(description="When it was paid.", examples=[None])
    ready_for_pickup_at: datetime | None = Field(
        description="When the shop marked the pickup order ready at its point "
        "(`order.ready_for_pickup`); null until then and for express delivery.",
        examples=[None],
    )
    shipped_at: datetime | None = Field(description="When the last unit left.", examples=[None])
    delivered_at: datetime | None = Field(
        description="When the carrier delivered its last shipment, as tracked through the "
        "platform's e-waybills (null for shipments under numbers the platform did not issue); "
        "the automatic receipt confirmation counts from it.",
        examples=[None],
    )
    received_at: datetime | None = Field(description="When receipt was confirmed.", examples=[None])
    completed_at: datetime | None = Field(description="When it completed.", examples=[None])
    cancelled_at: datetime | None = Field(description="When it was cancelled.", examples=[None])
    settled_at: datetime | None = Field(
        description="When its money became the shop's (`available` in `GET /v1/funds`, less "
        "the platform's fee): `MINISHOP_SETTLEMENT_DELAY_DAYS` after it completed or closed, "
        "once no after-sale of it is open.",
        examples=[None],
    )
    version: int = Field(description="Also the `ETag`; send it in `If-Match`.", examples=[1])

    @classmethod
    def of(cls, o: OrderEntity, shipments: list[ShipmentEntity]) -> Order:
        """The entity through the one document builder (`order_documents`), validated."""
        return cls.model_validate(entity_document(o, shipments))


class BuyerOrder(Order):
    """An order as its buyer reads it on the storefront: without the shop's own note, with
    the pickup code of a paid pickup order (the buyer's alone: no shop document, event or
    log carries it)."""

    pickup_code: str | None = Field(
        description="A paid pickup order's code, to show at the pickup point once the order "
        "is ready (`ready_for_pickup_at`); null for express delivery and before payment.",
        examples=[None],
    )

    @classmethod
    def for_buyer(cls, o: OrderEntity, shipments: list[ShipmentEntity]) -> BuyerOrder:
        return cls.model_validate(entity_document(o, shipments, buyer=True))


class MerchantNote(Input):
    """The shop's note on an order."""

    note: str | None = Field(
        max_length=500, description="Visible to the shop only; null clears it.", examples=["VIP"]
    )


class LinePrice(Input):
    """A line's new unit price."""

    line_id: str = Field(max_length=64, description="The order line.", examples=[LINE_EXAMPLE])
    unit_price: int = Field(ge=0, le=10**9, description="New unit price, fen.", examples=[15900])


class PriceChange(Input):
    """New unit prices for some lines and/or new freight; status 10 only."""

    lines: list[LinePrice] = Field(
        default_factory=list, max_length=50, description="Lines to re-price."
    )
    freight: int | None = Field(
        default=None, ge=0, le=10**7, description="New freight, fen.", examples=[0]
    )


class ShipmentLineIn(Input):
    """Units of one line to ship."""

    line_id: str = Field(max_length=64, description="The order line.", examples=[LINE_EXAMPLE])
    quantity: int = Field(
        ge=1, le=MAX_LINE_QUANTITY, description="Units of it leaving now.", examples=[1]
    )


class ShipmentCreate(Input):
    """A shipment of some units (`lines`) or of everything not yet shipped (no `lines`)."""

    carrier: str = Field(max_length=16, description="A carrier code.", examples=["SF"])
    waybill_no: str = Field(
        min_length=1,
        max_length=40,
        description="The carrier's waybill number.",
        examples=["SF1234567890123"],
    )
    lines: list[ShipmentLineIn] | None = Field(
        default=None, max_length=50, description="What leaves; omit to ship everything left."
    )


class ShipmentUpdate(Input):
    """A corrected waybill (and carrier), until the order is received."""

    carrier: str | None = Field(
        default=None,
        max_length=16,
        description="A new carrier code, if it changed.",
        examples=["ZTO"],
    )
    waybill_no: str = Field(
        min_length=1,
        max_length=40,
        description="The right waybill number.",
        examples=["78123456789012"],
    )


class Carrier(Output):
    """A carrier a shipment may name."""

    code: str = Field(description="Stable code to send as `carrier`.", examples=["SF"])
    name: str = Field(description="Its Chinese name.", examples=["顺丰速运"])
    name_en: str = Field(description="Its English name.", examples=["SF Express"])
    waybill_pattern: str | None = Field(
        description="The published format (a regular expression the whole number matches).",
        examples=["SF\\d{13}"],
    )
    waybill_example: str | None = Field(
        description="A number of that format.", examples=["SF1234567890123"]
    )

    @classmethod
    def of(cls, c: CarrierEntity) -> Carrier:
        return cls.model_validate(c)


class CarrierList(Output):
    """Every carrier."""

    data: list[Carrier] = Field(description="The carriers, in a stable order.")


class ItemIn(Input):
    """Units of one SKU to order."""

    sku_id: str = Field(
        max_length=64, description="The SKU.", examples=["sku_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    quantity: int = Field(description="Units, 1 to 999.", examples=[1])


class OrderCreate(Input):
    """An order of the shop's SKUs, to one of the buyer's addresses or (`delivery_method:
    pickup`) collected at one of the shop's pickup points."""

    shop_id: str = Field(
        max_length=64,
        description="The shop ordered from.",
        examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    items: list[ItemIn] = Field(
        default_factory=list,
        max_length=50,
        description="What to order (a SKU named twice counts once); leave it out with `from_cart`.",
    )
    from_cart: bool = Field(
        default=False,
        description="Order the cart's lines in this shop instead of `items`; they leave the "
        "cart when the order is placed.",
        examples=[False],
    )
    delivery_method: Literal["express", "pickup"] = Field(
        default="express",
        description="`express` (the default): shipped to `address_id`; `pickup`: collected "
        "at `pickup_point_id`, no freight.",
        examples=["express"],
    )
    address_id: str | None = Field(
        default=None,
        max_length=64,
        description="An address of the buyer's book; omitted: the default one. Not with `pickup`.",
        examples=["addr_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    pickup_point_id: str | None = Field(
        default=None,
        max_length=64,
        description="With `delivery_method: pickup` (and only then): an enabled pickup point "
        "of the shop (`GET /v1/storefront/shops/{shop_id}/pickup-points`).",
        examples=["pkp_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    buyer_note: str | None = Field(
        default=None, max_length=200, description="A note for the shop.", examples=["Ring twice"]
    )


class MerchantOrder(Order):
    """An order as a shop member reads it: a member whose role manages orders sees it all;
    finance reads the amounts, lines and statuses, with the buyer's address and the notes
    (`buyer_note`, `merchant_note`, `cancel_note`) withheld (null)."""

    address: OrderAddress | None = Field(
        description="Where it goes; null for a role that does not manage orders."
    )

    @classmethod
    def for_member(
        cls, o: OrderEntity, shipments: list[ShipmentEntity], *, personal: bool
    ) -> MerchantOrder:
        return cls.model_validate(member_document(order_record(o, shipments), personal=personal))


class CartLineOut(Output):
    """A line of the cart as it is now."""

    sku_id: str = Field(description="The SKU.", examples=["sku_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    product_id: str = Field(
        description="Its product.", examples=["prod_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    quantity: int = Field(description="Units wanted.", examples=[2])
    title: str = Field(description="The product's title now.", examples=["Linen dress"])
    image: str | None = Field(
        description="The product's first image.", examples=["https://cdn.example.com/p.jpg"]
    )
    sale_attrs: dict[str, str] = Field(
        description="The SKU's attributes.", examples=[{"size": "M"}]
    )
    unit_price: int = Field(description="The SKU's current price, fen.", examples=[19900])
    total: int = Field(description="`unit_price * quantity`, fen.", examples=[39800])
    orderable: bool = Field(
        description="On sale, with enough stock for the quantity.", examples=[True]
    )
    stock_hint: int = Field(description="Units in stock, capped at 99.", examples=[12])


class Cart(Output):
    """The buyer's cart in a shop."""

    shop_id: str = Field(description="The shop.", examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    lines: list[CartLineOut] = Field(description="Oldest first.")
    subtotal: int = Field(
        description="The orderable lines' totals, fen (freight comes with the order).",
        examples=[39800],
    )


class CartLineSet(Input):
    """How many units of a SKU the buyer wants in the cart (0 removes the line)."""

    shop_id: str = Field(
        max_length=64, description="The shop.", examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    sku_id: str = Field(
        max_length=64, description="The SKU.", examples=["sku_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    quantity: int = Field(description="Units, 0 to 999.", examples=[2])
