"""After-sale use cases: the buyer asks, cancels and sends goods back; the shop (a provider
or a merchant's member) accepts, rejects and confirms what came back.

Every change takes the order's row lock first, the lock every change of an order takes: two
requests on the same lines take turns, and the second sees what the first claimed, so the
claims of a line never exceed what was paid for it. Events are numbered with the order's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from app.domain.aftersales import refunding
from app.domain.aftersales.errors import (
    AfterSaleLinesInvalid,
    AfterSaleNotFound,
    FreightNotRefundable,
    OrderNotRefundable,
    RefundAmountExceeded,
    ReturnAddressRequired,
)
from app.domain.aftersales.events import aftersale_event
from app.domain.aftersales.model import (
    AfterSale,
    AfterSaleLine,
    AfterSaleReason,
    AfterSaleStatus,
    AfterSaleType,
)
from app.domain.aftersales.ports import AfterSaleFilter, AfterSalesUnitOfWork
from app.domain.aftersales.refundable import (
    Ask,
    Claimed,
    PaidLine,
    allocate,
    freight_refundable,
    line_limits,
)
from app.domain.aftersales.settings import AfterSaleSettings, AfterSaleTimes
from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface
from app.domain.catalog import stock
from app.domain.clock import utcnow
from app.domain.orders import services as orders
from app.domain.orders.addresses import normalize_phone, resolve_region
from app.domain.orders.carriers import carrier
from app.domain.orders.model import Destination, Order, OrderStatus
from app.domain.pagination import Page, PageRequest
from app.domain.shops.permissions import Permission
from app.domain.shops.services import access as shop_access

#: The durable timers of an after-sale (key: its id): the platform accepts a request the shop
#: left unanswered, closes a return the buyer never sent back, and refunds a return the shop
#: never confirmed.
AUTO_ACCEPT = "aftersale.auto_accept"
CLOSE_UNRETURNED = "aftersale.close_unreturned"
AUTO_RECEIVE = "aftersale.auto_receive"
#: Who acts when a timer does.
PLATFORM = Actor(type=ActorType.SYSTEM, id="system:aftersales", surface=Surface.SYSTEM)

#: Order statuses an after-sale may be asked for in: paid, and not cancelled or closed.
REFUNDABLE_STATUSES = frozenset(
    {
        OrderStatus.AWAITING_SHIPMENT,
        OrderStatus.PARTIALLY_SHIPPED,
        OrderStatus.AWAITING_RECEIPT,
        OrderStatus.COMPLETED,
    }
)


def _claims(
    aftersales: Sequence[AfterSale],
) -> tuple[dict[str, Claimed], bool]:
    """What the after-sales that still count have taken of each line, and of the freight."""
    claims: dict[str, Claimed] = {}
    freight = False
    for a in aftersales:
        if not a.counts:
            continue
        freight = freight or a.freight_amount > 0
        for line in a.line_items():
            seen = claims.get(line.line_id, Claimed())
            claims[line.line_id] = Claimed(seen.quantity + line.quantity, seen.amount + line.amount)
    return claims, freight


def _paid_lines(order: Order) -> list[PaidLine]:
    return [PaidLine(x.id, x.unit_price, x.quantity, x.shipped_quantity) for x in order.lines]


def _checked_asks(
    order: Order, type_: AfterSaleType, asks: Sequence[Ask], claims: dict[str, Claimed]
) -> None:
    if not asks:
        raise AfterSaleLinesInvalid("Name at least one line of the order and its quantity.")
    lines = {line.id: line for line in order.lines}
    seen: set[str] = set()
    for i, ask in enumerate(asks):
        loc = {"loc": ["body", "lines", i], "type": "aftersale_line"}
        line = lines.get(ask.line_id)
        if line is None:
            raise AfterSaleLinesInvalid(
                f"Line {ask.line_id} is not a line of order {order.id}.",
                errors=[{**loc, "msg": "not a line of the order"}],
            )
        if ask.line_id in seen:
            raise AfterSaleLinesInvalid(
                f"Line {ask.line_id} is named twice.", errors=[{**loc, "msg": "named twice"}]
            )
        seen.add(ask.line_id)
        claimed = claims.get(ask.line_id, Claimed()).quantity
        left = line.quantity - claimed
        if type_ is AfterSaleType.RETURN_REFUND:
            # Only units that reached the buyer can go back.
            left = min(left, line.shipped_quantity - claimed)
        if not 1 <= ask.quantity <= left:
            what = (
                "shipped and not yet claimed"
                if type_ is AfterSaleType.RETURN_REFUND
                else "not yet claimed"
            )
            raise AfterSaleLinesInvalid(
                f"Line {ask.line_id} has {max(left, 0)} unit(s) {what}, not {ask.quantity}.",
                errors=[{**loc, "msg": f"at most {max(left, 0)} unit(s)"}],
                extra={"line_id": ask.line_id, "available_quantity": max(left, 0)},
            )


async def request(
    uow: AfterSalesUnitOfWork,
    buyer_id: str,
    order_id: str,
    *,
    type_: AfterSaleType,
    reason: AfterSaleReason,
    asks: Sequence[Ask],
    amount: int | None = None,
    refund_freight: bool = False,
    description: str | None = None,
    images: Sequence[str] = (),
    times: AfterSaleTimes = AfterSaleTimes(),
) -> AfterSale:
    """The buyer asks for `type_` on `asks` of their paid order: `amount` (default: the most
    those units may refund, plus the freight when `refund_freight`)."""
    found = await orders.get_for_buyer(uow, buyer_id, order_id)
    order = await orders.get(uow, found.shop_id, order_id, lock=True)
    if order.status not in REFUNDABLE_STATUSES:
        raise OrderNotRefundable(
            f"Order {order.id} is {int(order.status)} ({order.status.label}): only a paid "
            "order that was not cancelled or closed can have an after-sale.",
            extra={"current_status": int(order.status)},
        )
    claims, freight_claimed = _claims(await uow.aftersales.of_order(order.shop_id, order.id))
    _checked_asks(order, type_, asks, claims)
    paid = _paid_lines(order)
    limits = line_limits(paid, order.discount_total, claims, asks)
    freight = 0
    if refund_freight:
        freight = freight_refundable(paid, order.freight, freight_claimed)
        if freight_claimed or (freight == 0 and order.freight > 0):
            raise FreightNotRefundable(
                "The freight is refunded only while nothing of the order has shipped, once."
            )
    most = sum(limits.values()) + freight
    wanted = most if amount is None else amount
    if not freight <= wanted <= most:
        raise RefundAmountExceeded(
            f"At most {most} fen remains refundable on those lines"
            + (f" (with the freight, {freight}; not less than that)." if freight else "."),
            extra={"max_amount": most, "min_amount": freight},
        )
    parts = allocate(wanted - freight, limits)
    by_id = {line.id: line for line in order.lines}
    lines = [
        AfterSaleLine(ask.line_id, by_id[ask.line_id].sku_id, ask.quantity, parts[ask.line_id])
        for ask in asks
    ]
    aftersale = AfterSale(
        shop_id=order.shop_id,
        order_id=order.id,
        buyer_id=buyer_id,
        type=type_,
        reason=reason,
        lines=[x.as_json() for x in lines],
        amount=wanted,
        freight_amount=freight,
        description=description,
        images=list(images),
    )
    for ask in asks:
        by_id[ask.line_id].aftersale_quantity += ask.quantity
    uow.aftersales.add(aftersale)
    await aftersale_event(uow, "aftersale.created", aftersale)
    await _schedule(uow, AUTO_ACCEPT, aftersale, times.response, times)
    await uow.flush()
    return aftersale


async def _schedule(
    uow: AfterSalesUnitOfWork,
    kind: str,
    aftersale: AfterSale,
    after: timedelta,
    times: AfterSaleTimes,
) -> None:
    """`kind` of `aftersale` due `after` from now; the payload carries the times, so what
    the timer goes on to schedule keeps them."""
    await uow.timers.schedule(
        kind,
        aftersale.id,
        aftersale.updated_at + after,
        {"shop_id": aftersale.shop_id, "times": times.as_json()},
        shop_id=aftersale.shop_id,
    )


async def _release_lines(uow: AfterSalesUnitOfWork, order: Order, aftersale: AfterSale) -> None:
    """An after-sale that ended without money gives its units back to its lines."""
    by_id = {line.id: line for line in order.lines}
    for item in aftersale.line_items():
        line = by_id.get(item.line_id)
        if line is not None:
            line.aftersale_quantity = max(0, line.aftersale_quantity - item.quantity)


async def _locked(
    uow: AfterSalesUnitOfWork, shop_id: str, aftersale_id: str
) -> tuple[Order, AfterSale]:
    """The after-sale's order, then the after-sale, both locked (the order first, as every
    change of an order takes it)."""
    found = await uow.aftersales.get(shop_id, aftersale_id)
    if found is None:
        raise AfterSaleNotFound(f"No after-sale {aftersale_id}.")
    order = await orders.get(uow, shop_id, found.order_id, lock=True)
    aftersale = await uow.aftersales.get(shop_id, aftersale_id, lock=True)
    assert aftersale is not None
    return order, aftersale


def _audit(
    uow: AfterSalesUnitOfWork,
    actor: Actor,
    action: str,
    aftersale: AfterSale,
    before: str,
    **after: Any,
) -> None:
    uow.audit.add(
        AuditEntry.record(
            actor,
            action,
            target_type="aftersale",
            target_id=aftersale.id,
            shop_id=aftersale.shop_id,
            before={"status": before},
            after={"status": aftersale.status.value, **after},
        )
    )


def return_address(recipient: str, phone: str, region_code: str, detail: str) -> dict[str, Any]:
    """Where a return goes, checked as a buyer's address is (mobile number, district)."""
    phone = normalize_phone(phone)
    resolve_region(region_code)
    return Destination(recipient, phone, region_code, detail).snapshot()


async def accept(
    uow: AfterSalesUnitOfWork,
    actor: Actor,
    shop_id: str,
    aftersale_id: str,
    *,
    address: dict[str, Any] | None = None,
    times: AfterSaleTimes = AfterSaleTimes(),
) -> AfterSale:
    """The shop agrees. A refund is then the platform's to pay; a return waits for the goods,
    sent to `address` (`return_address`) or else the shop's return address (its settings),
    which a return needs and a refund refuses."""
    order, aftersale = await _locked(uow, shop_id, aftersale_id)
    before = aftersale.status.value
    if address is None and aftersale.type is AfterSaleType.RETURN_REFUND:
        address = (await settings_of(uow, shop_id)).return_address
    if (address is None) == (aftersale.type is AfterSaleType.RETURN_REFUND):
        raise ReturnAddressRequired(
            "Give the address the goods go back to."
            if address is None
            else "A refund without a return takes no return address."
        )
    aftersale.accept(address)
    _audit(uow, actor, "aftersale.accepted", aftersale, before)
    await aftersale_event(uow, "aftersale.updated", aftersale)
    await uow.timers.cancel(AUTO_ACCEPT, aftersale.id)
    if aftersale.status is AfterSaleStatus.PLATFORM_REFUNDING:
        await refunding.start(uow, order, aftersale)
    else:
        await _schedule(uow, CLOSE_UNRETURNED, aftersale, times.return_shipment, times)
    await uow.flush()
    return aftersale


async def reject(
    uow: AfterSalesUnitOfWork, actor: Actor, shop_id: str, aftersale_id: str, *, reason: str
) -> AfterSale:
    order, aftersale = await _locked(uow, shop_id, aftersale_id)
    before = aftersale.status.value
    aftersale.reject(reason)
    await _release_lines(uow, order, aftersale)
    await uow.timers.cancel(AUTO_ACCEPT, aftersale.id)
    _audit(uow, actor, "aftersale.rejected", aftersale, before, reason=reason)
    await aftersale_event(uow, "aftersale.updated", aftersale)
    await uow.flush()
    return aftersale


async def confirm_receipt(
    uow: AfterSalesUnitOfWork, actor: Actor, shop_id: str, aftersale_id: str
) -> AfterSale:
    """The shop has the returned goods: back into stock (as its settings say), and the
    refund is the platform's to pay."""
    order, aftersale = await _locked(uow, shop_id, aftersale_id)
    restock = (await settings_of(uow, shop_id)).restock_returns
    await _received(uow, actor, order, aftersale, restock=restock)
    return aftersale


async def _received(
    uow: AfterSalesUnitOfWork,
    actor: Actor,
    order: Order,
    aftersale: AfterSale,
    *,
    restock: bool,
) -> None:
    """The returned goods count as back (the shop said so, or the platform after the receipt
    period): the refund goes to the gateway; `restock`: the goods back on the shelf."""
    before = aftersale.status.value
    aftersale.confirm_receipt()
    _audit(uow, actor, "aftersale.return_received", aftersale, before)
    await aftersale_event(uow, "aftersale.updated", aftersale)
    await uow.timers.cancel(AUTO_RECEIVE, aftersale.id)
    if restock:
        # Through the stock path (SKUs deleted since are skipped).
        await stock.release(uow, aftersale.shop_id, _units(aftersale))
    await refunding.start(uow, order, aftersale)
    await uow.flush()


async def get(uow: AfterSalesUnitOfWork, shop_id: str, aftersale_id: str) -> AfterSale:
    aftersale = await uow.aftersales.get(shop_id, aftersale_id)
    if aftersale is None:
        raise AfterSaleNotFound(f"No after-sale {aftersale_id}.")
    return aftersale


async def of_order(uow: AfterSalesUnitOfWork, shop_id: str, order_id: str) -> list[AfterSale]:
    """The order's after-sales, oldest first."""
    return await uow.aftersales.of_order(shop_id, order_id)


async def list_for_shop(
    uow: AfterSalesUnitOfWork, shop_id: str, page: PageRequest, f: AfterSaleFilter
) -> Page[AfterSale]:
    return await uow.aftersales.list_for_shop(shop_id, page, f)


# --- the buyer's side ----------------------------------------------------------------------


async def get_for_buyer(uow: AfterSalesUnitOfWork, buyer_id: str, aftersale_id: str) -> AfterSale:
    """The buyer's own after-sale; another buyer's is not found, like one that does not exist."""
    aftersale = await uow.aftersales.get_for_buyer(buyer_id, aftersale_id)
    if aftersale is None:
        raise AfterSaleNotFound(f"No after-sale {aftersale_id}.")
    return aftersale


async def list_for_buyer(
    uow: AfterSalesUnitOfWork, buyer_id: str, page: PageRequest
) -> Page[AfterSale]:
    return await uow.aftersales.list_for_buyer(buyer_id, page)


async def cancel_by_buyer(uow: AfterSalesUnitOfWork, buyer_id: str, aftersale_id: str) -> AfterSale:
    found = await get_for_buyer(uow, buyer_id, aftersale_id)
    order, aftersale = await _locked(uow, found.shop_id, aftersale_id)
    aftersale.cancel()
    await _release_lines(uow, order, aftersale)
    await uow.timers.cancel(AUTO_ACCEPT, aftersale.id)
    await uow.timers.cancel(CLOSE_UNRETURNED, aftersale.id)
    await aftersale_event(uow, "aftersale.updated", aftersale)
    await uow.flush()
    return aftersale


async def ship_back(
    uow: AfterSalesUnitOfWork,
    buyer_id: str,
    aftersale_id: str,
    *,
    carrier_code: str,
    waybill_no: str,
    times: AfterSaleTimes = AfterSaleTimes(),
) -> AfterSale:
    """The buyer sent the goods of an accepted return back (the waybill checked by the
    carrier's published format)."""
    found = await get_for_buyer(uow, buyer_id, aftersale_id)
    chosen = carrier(carrier_code)
    waybill = chosen.check_waybill(waybill_no)
    _, aftersale = await _locked(uow, found.shop_id, aftersale_id)
    aftersale.ship_back(chosen.code, waybill)
    await aftersale_event(uow, "aftersale.updated", aftersale)
    await uow.timers.cancel(CLOSE_UNRETURNED, aftersale.id)
    await _schedule(uow, AUTO_RECEIVE, aftersale, times.receipt, times)
    await uow.flush()
    return aftersale


def _units(aftersale: AfterSale) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in aftersale.line_items():
        units[line.sku_id] = units.get(line.sku_id, 0) + line.quantity
    return units


# --- the shop's settings -------------------------------------------------------------------


async def settings_of(uow: AfterSalesUnitOfWork, shop_id: str) -> AfterSaleSettings:
    """The shop's after-sales settings (the defaults until it sets them)."""
    return await uow.aftersale_settings.get(shop_id) or AfterSaleSettings(shop_id=shop_id)


async def update_settings(
    uow: AfterSalesUnitOfWork,
    actor: Actor,
    shop_id: str,
    *,
    return_address: dict[str, Any] | None,
    restock_returns: bool,
    shipping_insurance: bool = False,
) -> AfterSaleSettings:
    settings = await uow.aftersale_settings.get(shop_id, lock=True)
    if settings is None:
        settings = AfterSaleSettings(shop_id=shop_id)
        uow.aftersale_settings.add(settings)
    before = {
        "return_address": settings.return_address,
        "restock_returns": settings.restock_returns,
        "shipping_insurance": settings.shipping_insurance,
    }
    settings.return_address, settings.restock_returns = return_address, restock_returns
    settings.shipping_insurance = shipping_insurance
    settings.updated_at = utcnow()
    uow.audit.add(
        AuditEntry.record(
            actor,
            "aftersale.settings_updated",
            target_type="shop",
            target_id=shop_id,
            shop_id=shop_id,
            before=before,
            after={
                "return_address": return_address,
                "restock_returns": restock_returns,
                "shipping_insurance": shipping_insurance,
            },
        )
    )
    await uow.flush()
    return settings


# --- the timers --------------------------------------------------------------------------------


async def _still(
    uow: AfterSalesUnitOfWork, shop_id: str, aftersale_id: str, status: AfterSaleStatus
) -> tuple[Order, AfterSale] | None:
    """The after-sale and its order, locked, if it is still in `status` (a timer's work is
    done only then; the unlocked look first spares the order's lock when it moved on)."""
    found = await uow.aftersales.get(shop_id, aftersale_id)
    if found is None or found.status is not status:
        return None
    order, aftersale = await _locked(uow, shop_id, aftersale_id)
    return (order, aftersale) if aftersale.status is status else None


async def auto_accept(
    uow: AfterSalesUnitOfWork, shop_id: str, aftersale_id: str, times: AfterSaleTimes
) -> bool:
    """The shop left the request unanswered: the platform accepts it (a return only once the
    shop has a return address: until then it waits for the shop). False when nothing was
    done."""
    held = await _still(uow, shop_id, aftersale_id, AfterSaleStatus.MERCHANT_PROCESSING)
    if held is None:
        return False
    _, aftersale = held
    if aftersale.type is AfterSaleType.RETURN_REFUND and (
        (await settings_of(uow, shop_id)).return_address is None
    ):
        return False
    await accept(uow, PLATFORM, shop_id, aftersale_id, times=times)
    return True


async def close_unreturned(uow: AfterSalesUnitOfWork, shop_id: str, aftersale_id: str) -> bool:
    """The buyer never sent the goods of an accepted return back: it closes, its units free."""
    held = await _still(uow, shop_id, aftersale_id, AfterSaleStatus.USER_WAIT_RETURN)
    if held is None:
        return False
    order, aftersale = held
    before = aftersale.status.value
    aftersale.close_unreturned()
    await _release_lines(uow, order, aftersale)
    _audit(uow, PLATFORM, "aftersale.closed", aftersale, before)
    await aftersale_event(uow, "aftersale.updated", aftersale)
    await uow.flush()
    return True


async def auto_receive(uow: AfterSalesUnitOfWork, shop_id: str, aftersale_id: str) -> bool:
    """The shop never confirmed the goods came back: the platform refunds (no restock: no
    one said the goods arrived)."""
    held = await _still(uow, shop_id, aftersale_id, AfterSaleStatus.MERCHANT_WAIT_RECEIPT)
    if held is None:
        return False
    await _received(uow, PLATFORM, *held, restock=False)
    return True


# --- the merchant's members ----------------------------------------------------------------


async def member_reads(uow: AfterSalesUnitOfWork, account_id: str, shop_id: str) -> None:
    """A member may read the shop's after-sales with `orders.read`."""
    await shop_access(uow, account_id, shop_id, Permission.ORDERS_READ)


async def member_decides(uow: AfterSalesUnitOfWork, account_id: str, shop_id: str) -> None:
    """A member may decide on after-sales with `aftersales.manage`, not while the shop is
    suspended (no other write of it is allowed then)."""
    acc = await shop_access(uow, account_id, shop_id, Permission.AFTERSALES_MANAGE)
    acc.shop.ensure_active()
