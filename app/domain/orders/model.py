"""Orders: lines with the snapshot taken at order time, amounts, and the lifecycle.

The status codes are the Mini Shop's. Every change of status is a method here that checks the
current status first and raises `InvalidOrderTransition` (409, naming it) otherwise; nothing
else assigns `status`.

    10 pending payment ──pay──> 20 awaiting shipment ──ship (part)──> 21 partially shipped
      │                          │        └──────ship (all)────────┐     │ ship (rest)
      │ cancel (buyer, timeout,  │ cancel (merchant, provider)     v     v
      │  merchant, provider)     v                          30 awaiting receipt
      └───────────────────> 250 cancelled                          │ confirm receipt
                                                                    v (buyer or auto)
    200 closed: every unit refunded by after-sales            100 completed

A pickup order (`delivery_method` `pickup`, `pickup.py`) is never shipped: paid (20), the shop
marks it ready for pickup (`ready_for_pickup_at`, still 20), and the buyer's pickup code,
verified by the shop, completes it (100).

A completed or closed order is *settled* later (`settled_at`): its money becomes the shop's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.orders.errors import InvalidOrderTransition, QuantityInvalid
from app.domain.orders.freight import FreightTemplate
from app.domain.orders.pricing import Amounts, LineAmount, price
from app.domain.orders.regions import region


class OrderStatus(IntEnum):
    """The Mini Shop's order status codes: 10 pending payment, 20 awaiting shipment,
    21 partially shipped, 30 awaiting receipt, 100 completed, 200 closed, 250 cancelled."""

    PENDING_PAYMENT = 10
    AWAITING_SHIPMENT = 20
    PARTIALLY_SHIPPED = 21
    AWAITING_RECEIPT = 30
    COMPLETED = 100
    CLOSED = 200
    CANCELLED = 250

    @property
    def label(self) -> str:
        return self.name.lower()


class CancelReason(StrEnum):
    BUYER = "buyer"
    TIMEOUT = "timeout"
    MERCHANT = "merchant"
    PROVIDER = "provider"


class ReceivedBy(StrEnum):
    BUYER = "buyer"
    AUTO = "auto"
    #: The buyer collected a pickup order, the shop having verified its code.
    PICKUP = "pickup"


class DeliveryMethod(StrEnum):
    """How the goods reach the buyer: shipped by a carrier, or collected at a pickup point."""

    EXPRESS = "express"
    PICKUP = "pickup"


#: Who may cancel in which status: the buyer only before paying, the shop's side (merchant
#: or provider) until the first shipment, the close timer only an unpaid order.
_CANCELLABLE: Mapping[CancelReason, frozenset[OrderStatus]] = {
    CancelReason.BUYER: frozenset({OrderStatus.PENDING_PAYMENT}),
    CancelReason.TIMEOUT: frozenset({OrderStatus.PENDING_PAYMENT}),
    CancelReason.MERCHANT: frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.AWAITING_SHIPMENT}),
    CancelReason.PROVIDER: frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.AWAITING_SHIPMENT}),
}


@dataclass(frozen=True)
class Destination:
    """Where an order goes: an address of the buyer's book, or one given with the order."""

    recipient: str
    phone: str
    region_code: str
    detail: str

    def snapshot(self) -> dict[str, Any]:
        r = region(self.region_code)
        return {
            "recipient": self.recipient,
            "phone": self.phone,
            "region_code": r.code,
            "province": r.province_name,
            "city": r.city_name,
            "district": r.district_name,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class BookAddress:
    """The address of the buyer's book an order is sent to: `address_id`, or (None) the
    buyer's default; read with the offers, in the same statement."""

    account_id: str
    address_id: str | None


@dataclass(frozen=True)
class ShopTerms:
    """What placing an order needs of the shop: whether it sells, and its flat freight."""

    can_sell: bool
    freight_fee: int
    free_shipping_from: int | None


@dataclass(frozen=True)
class Offer:
    """A SKU as an order takes it: its price, whether its product is on sale and where, and
    what the line keeps of both (the snapshot)."""

    sku_id: str
    product_id: str
    price: int
    listed: bool
    #: The provinces (GB/T 2260 two-digit codes) the product is sold to; empty: everywhere.
    regions: tuple[str, ...]
    title: str
    image: str | None
    sale_attrs: dict[str, Any]
    out_product_id: str | None
    out_sku_id: str | None
    #: The freight template its orders pay: the product's, else the shop's default; None:
    #: the shop's flat freight.
    template: FreightTemplate | None = None
    #: The SKU's weight per piece, grams (a template by weight counts none as 0).
    weight_g: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "image": self.image,
            "sale_attrs": dict(self.sale_attrs),
            "out_product_id": self.out_product_id,
            "out_sku_id": self.out_sku_id,
        }


@dataclass(frozen=True)
class Offers:
    """Everything placing an order reads, at once: the shop's terms (None: no such shop), the
    offer of each SKU asked for that the shop has, and the book's address when one was asked
    for (None: no such address)."""

    terms: ShopTerms | None
    by_sku: dict[str, Offer]
    address: Destination | None = None


@dataclass(eq=False)
class OrderLine:
    shop_id: str
    order_id: str
    product_id: str
    sku_id: str
    quantity: int
    unit_price: int
    #: What the buyer saw when ordering: title, SKU attributes, image, out ids.
    snapshot: dict[str, Any]
    shipped_quantity: int = 0
    aftersale_quantity: int = 0
    id: str = field(default_factory=lambda: new_id("oline"))

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity

    @property
    def unshipped(self) -> int:
        return self.quantity - self.shipped_quantity


@dataclass(eq=False)
class Order:
    shop_id: str
    buyer_id: str
    lines: list[OrderLine]
    #: The address as it was when the order was placed (recipient, phone, region, detail);
    #: None for a pickup order.
    address: dict[str, Any] | None
    product_total: int
    freight: int
    discount_total: int
    total: int
    status: OrderStatus = OrderStatus.PENDING_PAYMENT
    buyer_note: str | None = None
    merchant_note: str | None = None
    cancel_reason: CancelReason | None = None
    #: The shop's words on why it cancelled (a merchant's or provider's cancellation).
    cancel_note: str | None = None
    received_by: ReceivedBy | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    #: When the carrier delivered its last shipment (tracked e-waybills; the auto-confirm
    #: period then counts from it).
    delivered_at: datetime | None = None
    received_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    closed_at: datetime | None = None
    #: When its money became the shop's (the settlement timer, after it completed or closed).
    settled_at: datetime | None = None
    delivery_method: DeliveryMethod = DeliveryMethod.EXPRESS
    #: A pickup order's point as it was when the order was placed (`PickupPoint.snapshot`).
    pickup_point: dict[str, Any] | None = None
    #: A paid pickup order's code: its buyer's alone to see (never in the shop's documents,
    #: events, logs or audit).
    pickup_code: str | None = None
    ready_for_pickup_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("order"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @classmethod
    def place(
        cls,
        *,
        id: str,
        shop_id: str,
        buyer_id: str,
        lines: Sequence[OrderLine],
        amounts: Amounts,
        address: dict[str, Any] | None,
        buyer_note: str | None = None,
        pickup_point: dict[str, Any] | None = None,
    ) -> Order:
        """A new order, pending payment; `lines` belong to `id` and priced as `amounts`;
        sent to `address`, or collected at `pickup_point` (a snapshot: exactly one of them)."""
        if (address is None) == (pickup_point is None):
            raise ValueError("an order has an address or a pickup point, not both or neither")
        if not lines:
            raise QuantityInvalid("An order needs at least one line.")
        if any(line.order_id != id or line.shop_id != shop_id for line in lines):
            raise ValueError("lines of another order or shop")
        return cls(
            id=id,
            shop_id=shop_id,
            buyer_id=buyer_id,
            lines=list(lines),
            address=address,
            buyer_note=buyer_note,
            delivery_method=DeliveryMethod.EXPRESS if address else DeliveryMethod.PICKUP,
            pickup_point=pickup_point,
            product_total=amounts.product_total,
            freight=amounts.freight,
            discount_total=amounts.discount_total,
            total=amounts.total,
        )

    # -- transitions --------------------------------------------------------------------------

    def _require(self, action: str, *allowed: OrderStatus) -> None:
        if self.status not in allowed:
            raise InvalidOrderTransition(action, int(self.status), self.status.label)

    @property
    def region_code(self) -> str:
        """Where the goods are handed over: the address's district, or the pickup point's."""
        place = self.address if self.address is not None else self.pickup_point
        assert place is not None
        return str(place["region_code"])

    @property
    def for_pickup(self) -> bool:
        return self.delivery_method is DeliveryMethod.PICKUP

    def require_shippable(self, action: str = "ship") -> None:
        """Paid, not everything shipped, and delivered by a carrier (not picked up)."""
        self._require(action, OrderStatus.AWAITING_SHIPMENT, OrderStatus.PARTIALLY_SHIPPED)
        self._require_method(action, DeliveryMethod.EXPRESS)

    def _require_method(self, action: str, method: DeliveryMethod) -> None:
        if self.delivery_method is not method:
            raise InvalidOrderTransition(
                action,
                int(self.status),
                self.status.label,
                delivery_method=self.delivery_method.value,
            )

    def _touch(self, now: datetime) -> None:
        # `version` is the storage's optimistic lock: it counts the flushes, not the calls.
        self.updated_at = now

    def require_payable(self) -> None:
        """A payment may be made only for an order pending payment."""
        self._require("pay", OrderStatus.PENDING_PAYMENT)

    def pay(self, now: datetime | None = None) -> None:
        self._require("pay", OrderStatus.PENDING_PAYMENT)
        now = now or utcnow()
        self.status = OrderStatus.AWAITING_SHIPMENT
        self.paid_at = now
        self._touch(now)

    def reprice(
        self,
        *,
        unit_prices: Mapping[str, int] | None = None,
        freight: int | None = None,
        now: datetime | None = None,
    ) -> None:
        """New unit prices for some lines (by line id) and/or new freight; before payment."""
        self._require("change the price of", OrderStatus.PENDING_PAYMENT)
        lines = {line.id: line for line in self.lines}
        unknown = set(unit_prices or {}) - set(lines)
        if unknown:
            raise ValueError(f"lines not in this order: {sorted(unknown)}")
        for line_id, unit_price in (unit_prices or {}).items():
            lines[line_id].unit_price = unit_price
        amounts = price(
            [LineAmount(line.unit_price, line.quantity) for line in self.lines],
            self.freight if freight is None else freight,
        )
        # Discounts stay as granted, capped by the new product total.
        self.discount_total = min(self.discount_total, amounts.product_total)
        self.product_total, self.freight = amounts.product_total, amounts.freight
        self.total = self.product_total - self.discount_total + self.freight
        self._touch(now or utcnow())

    @property
    def paid(self) -> bool:
        return self.paid_at is not None

    def cancel(
        self, reason: CancelReason, now: datetime | None = None, *, note: str | None = None
    ) -> bool:
        """Cancel for `reason`, with the canceller's `note` (why, in words); True when the
        order was paid (its payment is to be refunded)."""
        self._require("cancel", *sorted(_CANCELLABLE[reason]))
        now = now or utcnow()
        self.status = OrderStatus.CANCELLED
        self.cancel_reason = reason
        self.cancel_note = note
        self.cancelled_at = now
        self._touch(now)
        return self.paid

    def parcel(self, asked: Mapping[str, int] | None, action: str = "ship") -> dict[str, int]:
        """The units a parcel of this order may carry: `asked` (line id → units) checked
        against what each line has left to ship, or (None) everything not yet shipped. The
        order must be shippable (paid, not all shipped, delivered by a carrier)."""
        self.require_shippable(action)
        if asked is None:
            return {line.id: line.unshipped for line in self.lines if line.unshipped}
        if not asked:
            raise QuantityInvalid("A shipment carries at least one line.")
        lines = {line.id: line for line in self.lines}
        for line_id, quantity in asked.items():
            line = lines.get(line_id)
            if line is None:
                raise QuantityInvalid(f"Line {line_id} is not a line of this order.")
            if not 1 <= quantity <= line.unshipped:
                raise QuantityInvalid(
                    f"Line {line_id} has {line.unshipped} unit(s) left to ship, not {quantity}.",
                    extra={"line_id": line_id, "unshipped": line.unshipped},
                )
        return dict(asked)

    def ship(self, quantities: Mapping[str, int] | None, now: datetime | None = None) -> bool:
        """Record a shipment of `quantities` (line id → units; None: everything not yet
        shipped); True when it ships the rest."""
        quantities = self.parcel(quantities)
        lines = {line.id: line for line in self.lines}
        for line_id, quantity in quantities.items():
            lines[line_id].shipped_quantity += quantity
        now = now or utcnow()
        everything = all(line.unshipped == 0 for line in self.lines)
        if everything:
            self.status = OrderStatus.AWAITING_RECEIPT
            self.shipped_at = now
        else:
            self.status = OrderStatus.PARTIALLY_SHIPPED
        self._touch(now)
        return everything

    def deliver(self, at: datetime, now: datetime | None = None) -> bool:
        """The carrier delivered every shipment (at `at`); False when it was known already
        or the order no longer awaits receipt."""
        if self.status is not OrderStatus.AWAITING_RECEIPT or self.delivered_at is not None:
            return False
        self.delivered_at = at
        self._touch(now or utcnow())
        return True

    def confirm_receipt(self, by: ReceivedBy, now: datetime | None = None) -> None:
        """The buyer (or the auto-confirm timer) confirms receipt: the order completes."""
        self._require("confirm receipt of", OrderStatus.AWAITING_RECEIPT)
        now = now or utcnow()
        self.status = OrderStatus.COMPLETED
        self.received_by = by
        self.received_at = self.completed_at = now
        self._touch(now)

    def mark_ready_for_pickup(self, now: datetime | None = None) -> bool:
        """The shop has the paid pickup order ready at its point; False (nothing changes)
        when it already said so."""
        self._require("mark ready for pickup", OrderStatus.AWAITING_SHIPMENT)
        self._require_method("mark ready for pickup", DeliveryMethod.PICKUP)
        if self.ready_for_pickup_at is not None:
            return False
        now = now or utcnow()
        self.ready_for_pickup_at = now
        self._touch(now)
        return True

    @property
    def collectable(self) -> bool:
        """A pickup order its code completes now: paid, ready, not collected or cancelled."""
        return (
            self.for_pickup
            and self.status is OrderStatus.AWAITING_SHIPMENT
            and self.ready_for_pickup_at is not None
        )

    def collect(self, now: datetime | None = None) -> None:
        """The buyer collected the ready pickup order (its code verified): it completes."""
        if not self.collectable:
            raise InvalidOrderTransition("collect", int(self.status), self.status.label)
        now = now or utcnow()
        self.status = OrderStatus.COMPLETED
        self.received_by = ReceivedBy.PICKUP
        self.received_at = self.completed_at = now
        self._touch(now)

    def close(self, now: datetime | None = None) -> None:
        """Every unit was refunded by after-sales: the order closes (200)."""
        self._require(
            "close",
            OrderStatus.AWAITING_SHIPMENT,
            OrderStatus.PARTIALLY_SHIPPED,
            OrderStatus.AWAITING_RECEIPT,
            OrderStatus.COMPLETED,
        )
        now = now or utcnow()
        self.status = OrderStatus.CLOSED
        self.closed_at = now
        self._touch(now)

    @property
    def settleable(self) -> bool:
        """Done with (completed or closed) and not settled yet."""
        return self.settled_at is None and self.status in (
            OrderStatus.COMPLETED,
            OrderStatus.CLOSED,
        )

    def settle(self, now: datetime | None = None) -> None:
        """Its money became the shop's; once, after it completed or closed."""
        self._require("settle", OrderStatus.COMPLETED, OrderStatus.CLOSED)
        if self.settled_at is not None:
            raise InvalidOrderTransition("settle", int(self.status), "settled")
        now = now or utcnow()
        self.settled_at = now
        self._touch(now)

    def set_merchant_note(self, note: str | None, now: datetime | None = None) -> None:
        self.merchant_note = note
        self._touch(now or utcnow())

    def change_waybill(self, now: datetime | None = None) -> None:
        """A shipment's carrier or waybill may change until the buyer has the goods."""
        self._require(
            "change a shipment of",
            OrderStatus.PARTIALLY_SHIPPED,
            OrderStatus.AWAITING_RECEIPT,
        )
        self._touch(now or utcnow())


@dataclass(eq=False)
class Shipment:
    """Units of an order's lines that left together under one waybill."""

    shop_id: str
    order_id: str
    carrier: str
    waybill_no: str
    #: `[{"line_id": ..., "quantity": ...}]`
    lines: list[dict[str, Any]]
    id: str = field(default_factory=lambda: new_id("ship"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1


@dataclass(frozen=True)
class OrderFilter:
    """The provider's order list: any of these statuses, time ranges (inclusive from,
    exclusive to), and the order: newest first, or by `updated_at` for sync."""

    statuses: frozenset[OrderStatus] = frozenset()
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    paid_from: datetime | None = None
    paid_to: datetime | None = None
    by_updated: bool = False


@dataclass(eq=False)
class CartLine:
    """Units of one SKU in a buyer's cart in a shop."""

    shop_id: str
    account_id: str
    sku_id: str
    product_id: str
    quantity: int
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


# --- records: orders as the hot reads return them ----------------------------------------

#: An order as a plain record: its columns by name (`status` the code, `cancel_reason` the
#: text), `lines` and `shipments` lists of records. What the provider's order reads return,
#: for the API to serialise once.
OrderRecord = dict[str, Any]

ORDER_RECORD_FIELDS = (
    "id",
    "shop_id",
    "buyer_id",
    "status",
    "product_total",
    "freight",
    "discount_total",
    "total",
    "address",
    "buyer_note",
    "merchant_note",
    "cancel_reason",
    "cancel_note",
    "created_at",
    "updated_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "received_at",
    "completed_at",
    "cancelled_at",
    "closed_at",
    "settled_at",
    "received_by",
    "delivery_method",
    "pickup_point",
    "ready_for_pickup_at",
    "version",
)
LINE_RECORD_FIELDS = (
    "id",
    "product_id",
    "sku_id",
    "quantity",
    "unit_price",
    "shipped_quantity",
    "aftersale_quantity",
    "snapshot",
)
SHIPMENT_RECORD_FIELDS = ("id", "carrier", "waybill_no", "lines", "created_at", "updated_at")


def order_record(order: Order, shipments: Sequence[Shipment]) -> OrderRecord:
    """The entity as a record (the same shape the driver's reads produce)."""
    record: OrderRecord = {name: getattr(order, name) for name in ORDER_RECORD_FIELDS}
    record["status"] = int(order.status)
    record["cancel_reason"] = order.cancel_reason.value if order.cancel_reason else None
    record["received_by"] = order.received_by.value if order.received_by else None
    record["delivery_method"] = order.delivery_method.value
    record["lines"] = [{n: getattr(x, n) for n in LINE_RECORD_FIELDS} for x in order.lines]
    record["shipments"] = [{n: getattr(s, n) for n in SHIPMENT_RECORD_FIELDS} for s in shipments]
    return record


#: The order of timeline entries at the same instant: the lifecycle's own order.
_TIMELINE_RANK = {
    "placed": 0,
    "paid": 1,
    "ready_for_pickup": 2,
    "shipped": 3,
    "delivered": 4,
    "received": 5,
    "completed": 6,
    "cancelled": 7,
    "closed": 8,
    "settled": 9,
}


def timeline(record: OrderRecord) -> list[dict[str, Any]]:
    """What happened to the order, oldest first, from its own timestamps and its shipments:
    `{"event", "at", "detail"}`, the detail being the shipment's id, the pickup point's,
    who confirmed receipt (`buyer`, `auto`, `pickup`) or why it was cancelled."""
    entries: list[tuple[datetime, int, str, str | None]] = []

    def add(event: str, at: datetime | None, detail: str | None = None) -> None:
        if at is not None:
            entries.append((at, _TIMELINE_RANK[event], event, detail))

    add("placed", record["created_at"])
    add("paid", record["paid_at"])
    point = record["pickup_point"]
    add("ready_for_pickup", record["ready_for_pickup_at"], point["id"] if point else None)
    for s in record["shipments"]:
        add("shipped", s["created_at"], s["id"])
    add("delivered", record["delivered_at"])
    add("received", record["received_at"], record["received_by"])
    add("completed", record["completed_at"])
    add("cancelled", record["cancelled_at"], record["cancel_reason"])
    add("closed", record["closed_at"])
    add("settled", record["settled_at"])
    entries.sort(key=lambda e: (e[0], e[1]))
    return [{"event": event, "at": at, "detail": detail} for at, _, event, detail in entries]
