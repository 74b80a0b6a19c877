"""Tracking: the worker asks the carrier where each issued e-waybill's parcel is, until it is
delivered (or the waybill cancelled), and keeps what it reports.

Every issued waybill has a durable timer (`TRACK`, keyed by the waybill) that polls its
carrier every `TrackingTerms.poll_every`. A poll locks the waybill, asks the carrier, and
stores only the steps it did not have (the carrier's list is oldest first and only grows; a
step's number is the primary key's, so a poll run twice stores nothing twice). When a
shipment of the order travels under the waybill, new steps are a `shipment.tracking_updated`
event in the order's sequence. A carrier that fails or times out costs nothing: the poll
stores nothing and asks again at the next interval.

Delivered: the waybill keeps when. Once every shipment of an order awaiting receipt has been
delivered, the order is delivered (`order.delivered`) and its automatic receipt confirmation
counts from then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from app.domain.clock import utcnow
from app.domain.logistics import account_services as accounts
from app.domain.logistics.carrier import TrackingEvent, TrackingStage
from app.domain.logistics.errors import CarrierFailure
from app.domain.logistics.ports import LogisticsUnitOfWork
from app.domain.logistics.waybills import EWaybill, WaybillStatus
from app.domain.orders import services as orders
from app.domain.orders.errors import ShipmentNotFound
from app.domain.orders.model import Order, OrderStatus, Shipment

log = logging.getLogger("minishop.logistics.tracking")

#: The durable timer that polls a waybill's carrier (key: the waybill id).
TRACK = "waybill.track"


async def start(uow: LogisticsUnitOfWork, waybill: EWaybill) -> None:
    """Track a newly issued waybill: its first poll one interval from now."""
    await uow.timers.schedule(
        TRACK,
        waybill.id,
        utcnow() + uow.tracking.poll_every,
        {"shop_id": waybill.shop_id},
        shop_id=waybill.shop_id,
    )


async def stop(uow: LogisticsUnitOfWork, waybill: EWaybill) -> None:
    await uow.timers.cancel(TRACK, waybill.id)


def _shipment_under(waybill: EWaybill, shipments: list[Shipment]) -> Shipment | None:
    return next(
        (
            s
            for s in shipments
            if (s.carrier, s.waybill_no) == (waybill.carrier_code, waybill.number)
        ),
        None,
    )


async def poll(uow: LogisticsUnitOfWork, shop_id: str, waybill_id: str) -> int:
    """One poll of the waybill's carrier: the number of new steps stored. Asks again later
    unless the parcel was delivered or the waybill cancelled."""
    waybill = await uow.waybills.get(shop_id, waybill_id, lock=True)
    if waybill is None or waybill.status is WaybillStatus.CANCELLED or waybill.delivered_at:
        return 0
    account = await uow.logistics_accounts.get(shop_id, waybill.logistics_account_id)
    if account is None:
        # Unbound: nobody can ask the carrier for this shop any more.
        log.warning("tracking stops: account unbound", extra={"waybill_id": waybill.id})
        return 0
    now = utcnow()
    try:
        reported = await uow.carriers.get(waybill.carrier_code).track(
            accounts.credentials(uow.cipher, account), waybill.number
        )
    except CarrierFailure as e:
        log.warning(
            "tracking poll failed; asking again later",
            extra={"waybill_id": waybill.id, "code": e.code},
        )
        waybill.tracked_at = now
        await _again(uow, waybill, now)
        await uow.flush()
        return 0
    known = len(await uow.waybills.tracking(shop_id, waybill.id))
    new = reported[known:]
    waybill.tracked_at = now
    if new:
        await record(uow, waybill, known, new)
    if waybill.delivered_at is None:
        await _again(uow, waybill, now)
    await uow.flush()
    return len(new)


@dataclass(frozen=True)
class ShipmentTracking:
    """A shipment's journey: the waybill it travels under when the platform issued it (and
    so tracks it), and what its carrier reported, oldest first."""

    shipment: Shipment
    waybill: EWaybill | None
    events: list[TrackingEvent]


async def of_shipment(
    uow: LogisticsUnitOfWork, shop_id: str, order_id: str, shipment_id: str
) -> ShipmentTracking:
    await orders.get(uow, shop_id, order_id)
    shipment = await uow.orders.get_shipment(shop_id, order_id, shipment_id)
    if shipment is None:
        raise ShipmentNotFound(f"No shipment {shipment_id} of order {order_id}.")
    waybill = await uow.waybills.by_number(shop_id, shipment.carrier, shipment.waybill_no)
    if waybill is None or waybill.order_id != order_id:
        return ShipmentTracking(shipment, None, [])
    return ShipmentTracking(shipment, waybill, await uow.waybills.tracking(shop_id, waybill.id))


async def _again(uow: LogisticsUnitOfWork, waybill: EWaybill, now: datetime) -> None:
    await uow.timers.schedule(
        TRACK,
        waybill.id,
        now + uow.tracking.poll_every,
        {"shop_id": waybill.shop_id},
        shop_id=waybill.shop_id,
    )


async def record(
    uow: LogisticsUnitOfWork, waybill: EWaybill, known: int, new: list[TrackingEvent]
) -> None:
    """Store the carrier's new steps (numbers after the `known` ones), tell the provider
    when a shipment travels under the waybill, and deliver the order when they say so."""
    await uow.waybills.add_tracking(waybill, known + 1, new)
    waybill.tracking_stage = new[-1].stage
    waybill.updated_at = utcnow()
    delivered = next((e for e in new if e.stage is TrackingStage.DELIVERED), None)
    if delivered is not None:
        waybill.delivered_at = delivered.at
    order = await orders.get(uow, waybill.shop_id, waybill.order_id, lock=True)
    shipments = (await uow.orders.shipments_of(waybill.shop_id, [order.id]))[order.id]
    shipment = _shipment_under(waybill, shipments)
    if shipment is None:
        return
    await uow.outbox.add_in_sequence(
        orders.shipment_tracking_event(
            order,
            shipment,
            waybill_id=waybill.id,
            stage=waybill.tracking_stage.value,
            events=[
                {
                    "stage": e.stage.value,
                    "at": e.at,
                    "location": e.location,
                    "description": e.description,
                }
                for e in new
            ],
        )
    )
    if delivered is not None:
        await _maybe_delivered(uow, order, shipments, waybill)


async def _maybe_delivered(
    uow: LogisticsUnitOfWork, order: Order, shipments: list[Shipment], just: EWaybill
) -> None:
    """The order is delivered once it awaits receipt and every one of its shipments travels
    under a waybill the carrier delivered."""
    if order.status is not OrderStatus.AWAITING_RECEIPT:
        return
    # The order's waybills, one read (the one just delivered as this poll left it).
    delivered = {
        (w.carrier_code, w.number): w.delivered_at
        for w in await uow.waybills.of_order(order.shop_id, order.id)
    }
    delivered[(just.carrier_code, just.number)] = just.delivered_at
    last: datetime | None = None
    for s in shipments:
        at = delivered.get((s.carrier, s.waybill_no))
        if at is None:
            return
        last = max(last or at, at)
    if last is not None:
        await orders.deliver(uow, order, last, uow.tracking.auto_confirm_after)
