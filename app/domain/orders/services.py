"""Order use cases: place an order, and the changes of its lifecycle, each writing its event
(numbered per order) in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.audit.model import Actor, AuditEntry
from app.domain.catalog import stock
from app.domain.catalog.errors import OutOfStock as CatalogOutOfStock
from app.domain.clock import utcnow
from app.domain.errors import DomainError, ValidationFailed
from app.domain.events.catalog import OrderEventData, ShipmentTrackingData
from app.domain.events.model import Event
from app.domain.funds.ledger import premium_paid
from app.domain.ids import new_id
from app.domain.orders.carriers import carrier
from app.domain.orders.errors import (
    AddressNotFound,
    OrderNotFound,
    OrderSkuNotFound,
    OutOfStock,
    PickupPointNotFound,
    ProductNotListed,
    QuantityInvalid,
    RegionNotSellable,
    ShipmentNotFound,
    ShopNotOpen,
)
from app.domain.orders.freight import FreightLine, quote_freight
from app.domain.orders.insurance import Policy
from app.domain.orders.model import (
    BookAddress,
    CancelReason,
    Destination,
    Offer,
    Order,
    OrderFilter,
    OrderLine,
    OrderRecord,
    OrderStatus,
    ReceivedBy,
    Shipment,
    ShopTerms,
)
from app.domain.orders.pickup import PickupDelivery
from app.domain.orders.ports import OrdersUnitOfWork
from app.domain.orders.pricing import (
    MAX_LINE_QUANTITY,
    MAX_LINES,
    Discount,
    FlatFreight,
    LineAmount,
    price,
)
from app.domain.orders.regions import region
from app.domain.pagination import Page, PageRequest
from app.domain.shops.errors import ShopNotFound
from app.domain.shops.permissions import Permission, allows
from app.domain.shops.services import access as shop_access
from app.domain.shops.services import check_version

#: The durable timer that closes an order left unpaid (key: the order id).
CLOSE_UNPAID = "order.close_unpaid"
#: The durable timer that confirms receipt for the buyer once the order fully shipped.
AUTO_CONFIRM = "order.auto_confirm"
#: The durable timer that settles a completed (or closed) order: its money becomes the
#: shop's (`app/domain/aftersales/settlement.py`).
SETTLE = "order.settle"


@dataclass(frozen=True)
class Item:
    """A line as the buyer asks for it."""

    sku_id: str
    quantity: int


async def order_event(uow: OrdersUnitOfWork, type_: str, order: Order, **extra: Any) -> None:
    """`type_` of `order`, numbered after the order's earlier events."""
    data = OrderEventData(
        shop_id=order.shop_id,
        order_id=order.id,
        status=int(order.status),  # type: ignore[arg-type]
        total=order.total,
        **extra,
    )
    await uow.outbox.add_in_sequence(Event(type_, data, resource_id=order.id))


def _refusal(wanted: Mapping[str, int]) -> Callable[[DomainError], DomainError]:
    """The order's own errors for a reservation that took nothing."""

    def refused(e: DomainError) -> DomainError:
        if isinstance(e, CatalogOutOfStock):
            sku_id = e.extra["sku_id"]
            return OutOfStock(
                f"SKU {sku_id} has {e.extra['available']} unit(s) left, fewer than "
                f"{wanted[sku_id]}.",
                extra=e.extra,
            )
        return OrderSkuNotFound(e.detail, extra=e.extra)  # deleted since it was read

    return refused


def _merged(items: Sequence[Item]) -> dict[str, int]:
    """SKU id → units, a SKU named twice counting once with both quantities."""
    if not items:
        raise QuantityInvalid("An order needs at least one line.")
    if len(items) > MAX_LINES:
        raise QuantityInvalid(f"An order carries at most {MAX_LINES} lines.")
    lines: dict[str, int] = {}
    for item in items:
        lines[item.sku_id] = lines.get(item.sku_id, 0) + item.quantity
    for sku_id, quantity in lines.items():
        if not 1 <= quantity <= MAX_LINE_QUANTITY:
            raise QuantityInvalid(
                f"SKU {sku_id}: order between 1 and {MAX_LINE_QUANTITY} units, not {quantity}.",
                extra={"sku_id": sku_id},
            )
    return lines


def _sellable(offers: Mapping[str, Offer], sku_ids: Sequence[str]) -> dict[str, Offer]:
    """Each SKU's offer: the SKU is the shop's and its product listed."""
    found: dict[str, Offer] = {}
    for sku_id in sku_ids:
        offer = offers.get(sku_id)
        if offer is None:
            raise OrderSkuNotFound(f"No SKU {sku_id} in this shop.", extra={"sku_id": sku_id})
        if not offer.listed:
            raise ProductNotListed(
                f"The product of SKU {sku_id} is not for sale.",
                extra={"sku_id": sku_id, "product_id": offer.product_id},
            )
        found[sku_id] = offer
    return found


@dataclass(frozen=True)
class FreightAnswer:
    """What lines cost to deliver to a region: `freight` (fen) when every line's product is
    sold there and its freight template delivers there; else `not_sellable` names the SKUs
    that are not (`freight` None)."""

    freight: int | None
    product_total: int
    not_sellable: tuple[str, ...]


def _freight(
    shop: ShopTerms, sellable: Mapping[str, Offer], wanted: Mapping[str, int], region_code: str
) -> FreightAnswer:
    """The sellable regions of the products, then their freight templates (`freight.py`),
    with the shop's flat freight for lines that have no template."""
    province = region_code[:2]
    product_total = sum(o.price * wanted[k] for k, o in sellable.items())
    unsold = tuple(k for k, o in sellable.items() if o.regions and province not in o.regions)
    if unsold:
        return FreightAnswer(None, product_total, unsold)
    lines = [
        FreightLine(o.template, wanted[k], o.weight_g, o.price * wanted[k], k)
        for k, o in sellable.items()
    ]
    q = quote_freight(lines, region_code, FlatFreight(shop.freight_fee, shop.free_shipping_from))
    if not q.deliverable:
        return FreightAnswer(None, product_total, q.not_delivered)
    return FreightAnswer(q.freight, product_total, ())


async def quote(
    uow: OrdersUnitOfWork, *, shop_id: str, items: Sequence[Item], region_code: str
) -> FreightAnswer:
    """The freight an order of `items` to `region_code` would pay: the same read and the
    same rules as `place`, nothing written. A region the lines are not sold or delivered
    to is an answer (`not_sellable`), not an error."""
    region(region_code)
    wanted = _merged(items)
    read = await uow.orders.offers(shop_id, list(wanted), snapshot=False)
    if read.terms is None or not read.terms.can_sell:
        # As the storefront's public reads: a shop not open is not found.
        raise ShopNotFound(f"No shop {shop_id}.")
    return _freight(read.terms, _sellable(read.by_sku, list(wanted)), wanted, region_code)


async def place(
    uow: OrdersUnitOfWork,
    *,
    shop_id: str,
    buyer_id: str,
    items: Sequence[Item],
    address: Destination | BookAddress | PickupDelivery,
    buyer_note: str | None,
    payment_timeout: timedelta,
    discounts: Sequence[Discount] = (),
    now: datetime | None = None,
) -> Order:
    """Check and price the order, reserve its stock (all lines or none), write it pending
    payment with `order.created`, and schedule its close if it stays unpaid. `address`: an
    address of the buyer's book (read with the offers), one given as it is, or an enabled
    pickup point of the shop (no freight; the products must be sold in its province)."""
    now = now or utcnow()
    wanted = _merged(items)
    book = address if isinstance(address, BookAddress) else None
    read = await uow.orders.offers(shop_id, list(wanted), book)
    if read.terms is None:  # no such shop: nothing else was read either
        raise ShopNotOpen(f"Shop {shop_id} does not take orders.")
    if book is not None:
        if read.address is None:
            raise AddressNotFound(
                f"No address {book.address_id}."
                if book.address_id is not None
                else "You have no address yet: add one, or name one by address_id."
            )
        address = read.address
    shop = read.terms
    if not shop.can_sell:
        raise ShopNotOpen(f"Shop {shop_id} does not take orders.")
    snapshot: dict[str, Any] | None = None
    point: dict[str, Any] | None = None
    if isinstance(address, PickupDelivery):
        found = await uow.pickup_points.get(shop_id, address.pickup_point_id)
        if found is None or not found.enabled:
            raise PickupPointNotFound(
                f"No pickup point {address.pickup_point_id} open in this shop.",
                errors=[
                    {"loc": ["body", "pickup_point_id"], "msg": "not found", "type": "not_found"}
                ],
            )
        point = found.snapshot()
        region_code = found.region_code
    else:
        assert isinstance(address, Destination)
        snapshot = address.snapshot()
        region_code = address.region_code
    sellable = _sellable(read.by_sku, list(wanted))
    if point is not None:
        province = region_code[:2]
        unsold = [k for k, o in sellable.items() if o.regions and province not in o.regions]
        answer = FreightAnswer(
            None if unsold else 0,
            sum(o.price * wanted[k] for k, o in sellable.items()),
            tuple(unsold),
        )
    else:
        answer = _freight(shop, sellable, wanted, region_code)
    if answer.freight is None:
        offer = sellable[answer.not_sellable[0]]
        province = region_code[:2]
        where = "pickup point's" if point else "address's"
        raise RegionNotSellable(
            f"Product {offer.product_id} is not sold or delivered to the {where} province "
            f"({province}).",
            extra={"product_id": offer.product_id, "province": province},
        )
    # Sent with the order's own writes, in the commit's round trip: a shortage (or a SKU
    # deleted since it was read) refuses the commit, and none of them is kept.
    await stock.reserve_with_writes(uow, shop_id, wanted, _refusal(wanted))
    order_id = new_id("order")
    lines = [
        OrderLine(
            shop_id=shop_id,
            order_id=order_id,
            product_id=offer.product_id,
            sku_id=sku_id,
            quantity=wanted[sku_id],
            unit_price=offer.price,
            snapshot=offer.snapshot(),
        )
        for sku_id, offer in sellable.items()
    ]
    amounts = price(
        [LineAmount(x.unit_price, x.quantity) for x in lines], answer.freight, discounts
    )
    order = Order.place(
        id=order_id,
        shop_id=shop_id,
        buyer_id=buyer_id,
        lines=lines,
        amounts=amounts,
        address=snapshot,
        buyer_note=buyer_note,
        pickup_point=point,
    )
    order.created_at = order.updated_at = now
    await uow.orders.add(order)
    await order_event(uow, "order.created", order)
    await uow.timers.schedule(
        CLOSE_UNPAID, order.id, now + payment_timeout, {"shop_id": shop_id}, shop_id=shop_id
    )
    return order  # written with the request's commit (one round trip on PostgreSQL)


async def get(uow: OrdersUnitOfWork, shop_id: str, order_id: str, *, lock: bool = False) -> Order:
    order = await uow.orders.get(shop_id, order_id, lock=lock)
    if order is None:
        raise OrderNotFound(f"No order {order_id} in this shop.")
    return order


async def release(uow: OrdersUnitOfWork, order: Order) -> None:
    await stock.release(uow, order.shop_id, {line.sku_id: line.quantity for line in order.lines})


async def close_unpaid(uow: OrdersUnitOfWork, shop_id: str, order_id: str) -> bool:
    """The close timer: cancel the order if it is still unpaid, releasing its stock once.
    False (and nothing changes) when it was paid or cancelled in the meantime."""
    order = await uow.orders.get(shop_id, order_id, lock=True)
    if order is None or order.paid or order.cancelled_at is not None:
        return False
    order.cancel(CancelReason.TIMEOUT)
    await release(uow, order)
    await order_event(uow, "order.cancelled", order, reason=CancelReason.TIMEOUT.value)
    await uow.flush()
    return True


async def read_page(
    uow: OrdersUnitOfWork, shop_id: str, page: PageRequest, f: OrderFilter
) -> Page[OrderRecord]:
    """A page of the shop's orders with their lines and shipments, as records."""
    return await uow.order_reads.page(shop_id, page, f)


async def read_one(uow: OrdersUnitOfWork, shop_id: str, order_id: str) -> OrderRecord:
    found = await uow.order_reads.one(shop_id, order_id)
    if found is None:
        raise OrderNotFound(f"No order {order_id} in this shop.")
    return found


async def shipments_of(uow: OrdersUnitOfWork, order: Order) -> list[Shipment]:
    return (await uow.orders.shipments_of(order.shop_id, [order.id]))[order.id]


def _audit(
    uow: OrdersUnitOfWork,
    actor: Actor,
    action: str,
    order: Order,
    before: dict[str, Any] | None,
    **after: Any,
) -> None:
    uow.audit.add(AuditEntry.about(actor, action, "order", order, before=before, after=after))


async def set_merchant_note(
    uow: OrdersUnitOfWork,
    actor: Actor,
    shop_id: str,
    order_id: str,
    note: str | None,
    expected_version: int | None = None,
) -> Order:
    order = await get(uow, shop_id, order_id, lock=True)
    check_version(order.version, expected_version)
    before = order.merchant_note
    order.set_merchant_note(note)
    _audit(
        uow, actor, "order.merchant_note_set", order, {"merchant_note": before}, merchant_note=note
    )
    await uow.flush()
    return order


async def reprice(
    uow: OrdersUnitOfWork,
    actor: Actor,
    shop_id: str,
    order_id: str,
    *,
    unit_prices: dict[str, int],
    freight: int | None,
    expected_version: int | None,
) -> Order:
    """New unit prices (line id → fen) and/or freight for an unpaid order."""
    order = await get(uow, shop_id, order_id, lock=True)
    check_version(order.version, expected_version)
    lines = {line.id for line in order.lines}
    unknown = sorted(set(unit_prices) - lines)
    if unknown:
        raise ValidationFailed.field(
            "body.lines", f"Not lines of this order: {', '.join(unknown)}."
        )
    before = {"total": order.total, "freight": order.freight}
    order.reprice(unit_prices=unit_prices, freight=freight)
    _audit(
        uow,
        actor,
        "order.price_changed",
        order,
        before,
        total=order.total,
        freight=order.freight,
        unit_prices=unit_prices,
    )
    await order_event(uow, "order.price_changed", order)
    await uow.flush()
    return order


async def _insure(uow: OrdersUnitOfWork, order: Order) -> None:
    """The order's goods first leave: insured, when the shop insures its orders, the shop
    paying the premium out of what the order holds."""
    if not await uow.insurance.covers(order.shop_id):
        return
    premium = uow.insurance_terms.premium
    uow.insurance.add_policy(Policy(order.shop_id, order.id, premium))
    if premium:
        await uow.ledger.post(premium_paid(order.shop_id, order.id, premium))


async def insurance_of(uow: OrdersUnitOfWork, shop_id: str, order_id: str) -> dict[str, Any] | None:
    """The order's shipping insurance as its document shows it; None when not insured."""
    policy = await uow.insurance.policy_of(shop_id, order_id)
    if policy is None:
        return None
    return {
        "premium": policy.premium,
        "insured_at": policy.created_at,
        "claims": [
            {
                "id": c.id,
                "aftersale_id": c.aftersale_id,
                "amount": c.amount,
                "status": c.status.value,
                "paid_at": c.paid_at,
            }
            for c in await uow.insurance.claims_of(shop_id, order_id)
        ],
    }


async def ship(
    uow: OrdersUnitOfWork,
    actor: Actor,
    shop_id: str,
    order_id: str,
    *,
    carrier_code: str,
    waybill_no: str,
    quantities: dict[str, int] | None,
    auto_confirm_after: timedelta,
) -> tuple[Order, Shipment]:
    """A shipment of `quantities` (line id → units; None: everything still unshipped). Once
    everything has shipped, receipt is confirmed automatically after `auto_confirm_after`."""
    number = carrier(carrier_code).check_waybill(waybill_no)
    order = await get(uow, shop_id, order_id, lock=True)
    quantities = order.parcel(quantities)
    first = order.status is OrderStatus.AWAITING_SHIPMENT
    everything = order.ship(quantities)
    if first:
        await _insure(uow, order)
    if everything:
        await uow.timers.schedule(
            AUTO_CONFIRM,
            order.id,
            order.updated_at + auto_confirm_after,
            {"shop_id": shop_id},
            shop_id=shop_id,
        )
    shipment = Shipment(
        shop_id=shop_id,
        order_id=order.id,
        carrier=carrier_code,
        waybill_no=number,
        lines=[{"line_id": k, "quantity": v} for k, v in sorted(quantities.items())],
    )
    uow.orders.add_shipment(shipment)
    _audit(
        uow,
        actor,
        "order.shipped",
        order,
        None,
        shipment_id=shipment.id,
        carrier=carrier_code,
        waybill_no=number,
        lines=shipment.lines,
    )
    await order_event(uow, "order.shipped", order, shipment_id=shipment.id)
    await uow.flush()
    return order, shipment


async def change_waybill(
    uow: OrdersUnitOfWork,
    actor: Actor,
    shop_id: str,
    order_id: str,
    shipment_id: str,
    *,
    carrier_code: str | None,
    waybill_no: str,
) -> Shipment:
    order = await get(uow, shop_id, order_id, lock=True)
    shipment = await uow.orders.get_shipment(shop_id, order_id, shipment_id)
    if shipment is None:
        raise ShipmentNotFound(f"No shipment {shipment_id} of order {order_id}.")
    code = carrier_code or shipment.carrier
    number = carrier(code).check_waybill(waybill_no)
    order.change_waybill()
    before = {"carrier": shipment.carrier, "waybill_no": shipment.waybill_no}
    shipment.carrier, shipment.waybill_no = code, number
    shipment.updated_at = order.updated_at
    _audit(
        uow,
        actor,
        "order.waybill_changed",
        order,
        before,
        shipment_id=shipment.id,
        carrier=code,
        waybill_no=number,
    )
    await uow.flush()
    return shipment


async def get_for_buyer(uow: OrdersUnitOfWork, buyer_id: str, order_id: str) -> Order:
    """One of the buyer's own orders; anyone else's is as if it did not exist."""
    order = await uow.orders.get_for_buyer(buyer_id, order_id)
    if order is None:
        raise OrderNotFound(f"You have no order {order_id}.")
    return order


async def list_for_buyer(
    uow: OrdersUnitOfWork, buyer_id: str, page: PageRequest, shop_id: str | None
) -> tuple[Page[Order], dict[str, list[Shipment]]]:
    result = await uow.orders.list_for_buyer(buyer_id, page, shop_id)
    by_shop: dict[str, list[str]] = {}
    for order in result.items:
        by_shop.setdefault(order.shop_id, []).append(order.id)
    # One query per shop on the page (usually one), not one per order.
    shipments: dict[str, list[Shipment]] = {}
    for shop, order_ids in by_shop.items():
        shipments.update(await uow.orders.shipments_of(shop, order_ids))
    return result, shipments


async def _buyers_locked(uow: OrdersUnitOfWork, buyer_id: str, order_id: str) -> Order:
    found = await get_for_buyer(uow, buyer_id, order_id)
    return await get(uow, found.shop_id, order_id, lock=True)


async def cancel_by_buyer(uow: OrdersUnitOfWork, buyer_id: str, order_id: str) -> Order:
    """Before paying, the buyer may cancel: the stock goes back, the close timer goes."""
    order = await _buyers_locked(uow, buyer_id, order_id)
    order.cancel(CancelReason.BUYER)
    await release(uow, order)
    await uow.timers.cancel(CLOSE_UNPAID, order.id)
    await order_event(uow, "order.cancelled", order, reason=CancelReason.BUYER.value)
    await uow.flush()
    return order


def shipment_tracking_event(order: Order, shipment: Shipment, **data: Any) -> Event:
    """`shipment.tracking_updated` of one of the order's shipments, in the order's sequence."""
    payload = ShipmentTrackingData(
        shop_id=order.shop_id,
        order_id=order.id,
        shipment_id=shipment.id,
        carrier=shipment.carrier,
        waybill_no=shipment.waybill_no,
        **data,
    )
    return Event("shipment.tracking_updated", payload, resource_id=order.id)


async def deliver(
    uow: OrdersUnitOfWork, order: Order, at: datetime, auto_confirm_after: timedelta
) -> bool:
    """The carrier delivered every shipment at `at`: `order.delivered`, and the automatic
    receipt confirmation counts from then. False when known already."""
    if not order.deliver(at):
        return False
    await order_event(uow, "order.delivered", order)
    await uow.timers.schedule(
        AUTO_CONFIRM,
        order.id,
        at + auto_confirm_after,
        {"shop_id": order.shop_id},
        shop_id=order.shop_id,
    )
    return True


async def schedule_settlement(uow: OrdersUnitOfWork, order: Order, done_at: datetime) -> None:
    """The order completed (or closed) at `done_at`: settled the platform's delay later."""
    await uow.timers.schedule(
        SETTLE,
        order.id,
        done_at + uow.settlement.delay,
        {"shop_id": order.shop_id},
        shop_id=order.shop_id,
    )


async def _receive(uow: OrdersUnitOfWork, order: Order, by: ReceivedBy) -> None:
    order.confirm_receipt(by)
    await completed(uow, order, by)


async def completed(uow: OrdersUnitOfWork, order: Order, by: ReceivedBy) -> None:
    """The order was received (by the buyer, the timer, or collected with its pickup code)
    and so completed: its two events, and its settlement scheduled."""
    await order_event(uow, "order.received", order, received_by=by.value)
    await order_event(uow, "order.completed", order)
    assert order.completed_at is not None
    await schedule_settlement(uow, order, order.completed_at)


async def confirm_receipt_by_buyer(uow: OrdersUnitOfWork, buyer_id: str, order_id: str) -> Order:
    order = await _buyers_locked(uow, buyer_id, order_id)
    await _receive(uow, order, ReceivedBy.BUYER)
    await uow.timers.cancel(AUTO_CONFIRM, order.id)
    await uow.flush()
    return order


async def auto_confirm(uow: OrdersUnitOfWork, shop_id: str, order_id: str) -> bool:
    """The auto-confirm timer: receipt confirmed for the buyer, unless it already was (or
    the order left `awaiting receipt` otherwise, by after-sales say)."""
    order = await uow.orders.get(shop_id, order_id, lock=True)
    if order is None or order.status is not OrderStatus.AWAITING_RECEIPT:
        return False
    await _receive(uow, order, ReceivedBy.AUTO)
    await uow.flush()
    return True


@dataclass(frozen=True)
class MemberView:
    """What a shop member reads of the shop's orders: every role with `orders.read`; the
    buyer's address and the notes only with `orders.manage` too (finance reads amounts)."""

    personal: bool


async def member_view(uow: OrdersUnitOfWork, account_id: str, shop_id: str) -> MemberView:
    acc = await shop_access(uow, account_id, shop_id, Permission.ORDERS_READ)
    return MemberView(personal=allows(acc.member.role, Permission.ORDERS_MANAGE))
