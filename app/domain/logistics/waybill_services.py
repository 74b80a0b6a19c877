"""Use cases of electronic waybills: issue one for an order through the shop's carrier
account (and ship the order under it in the same transaction), read, cancel, and what its
label prints.

Issuing asks the carrier for a number with a request id derived from the caller's key
(`waybills.carrier_request_id`): a creation retried after a failure gets the waybill the
carrier may already have issued, never a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from app.domain.audit.model import Actor, AuditEntry
from app.domain.ids import new_id
from app.domain.logistics import account_services as accounts
from app.domain.logistics import tracking
from app.domain.logistics.accounts import LogisticsAccount
from app.domain.logistics.carrier import CarrierCredentials, Party, WaybillRequest
from app.domain.logistics.errors import (
    DefaultSenderMissing,
    ParcelWeightRequired,
    SenderAddressNotFound,
    WaybillNotFound,
)
from app.domain.logistics.ports import Carrier, LogisticsUnitOfWork, WaybillFilter
from app.domain.logistics.senders import SenderAddress
from app.domain.logistics.waybills import (
    MAX_WEIGHT_GRAMS,
    EWaybill,
    carrier_request_id,
    party_snapshot,
)
from app.domain.orders import services as orders
from app.domain.orders.model import Order, Shipment
from app.domain.pagination import Page, PageRequest
from app.domain.ports import Cipher


@dataclass(frozen=True)
class Issued:
    """A waybill issued, and the shipment made under it when asked to ship."""

    waybill: EWaybill
    shipment: Shipment | None


async def sender_of(
    uow: LogisticsUnitOfWork, shop_id: str, address_id: str | None
) -> SenderAddress:
    """The sender named, else the shop's default one."""
    if address_id is not None:
        address = await uow.sender_addresses.get(shop_id, address_id)
        if address is None:
            raise SenderAddressNotFound(f"No sender address {address_id}.")
        return address
    address = await uow.sender_addresses.get_default(shop_id)
    if address is None:
        raise DefaultSenderMissing(
            "The shop's sender address book is empty: add one (POST /v1/logistics/addresses) "
            "or name `sender_address_id`.",
            errors=[{"loc": ["body", "sender_address_id"], "msg": "required", "type": "missing"}],
        )
    return address


async def _weight(uow: LogisticsUnitOfWork, order: Order, quantities: Mapping[str, int]) -> int:
    """The parcel's weight from its SKUs' weights; none known → the caller must say."""
    lines = {line.id: line for line in order.lines}
    skus = await uow.products.skus_of(
        order.shop_id, sorted({lines[k].product_id for k in quantities})
    )
    weights = {s.id: s.weight_g or 0 for group in skus.values() for s in group}
    total = sum(weights.get(lines[k].sku_id, 0) * q for k, q in quantities.items())
    if total <= 0:
        raise ParcelWeightRequired(
            "The SKUs in the parcel have no weight: give `weight_grams`.",
            errors=[{"loc": ["body", "weight_grams"], "msg": "required", "type": "missing"}],
        )
    return min(total, MAX_WEIGHT_GRAMS)


@dataclass(frozen=True)
class Issuer:
    """What issuing asks of the shop, read once (a batch reads it once per chunk): the
    carrier account, its adapter and opened credentials, the sender."""

    account: LogisticsAccount
    carrier: Carrier
    credentials: CarrierCredentials
    sender: SenderAddress


async def issuer(
    uow: LogisticsUnitOfWork,
    cipher: Cipher,
    shop_id: str,
    account_id: str,
    sender_address_id: str | None,
) -> Issuer:
    account = await accounts.get_account(uow, shop_id, account_id)
    adapter = uow.carriers.get(account.carrier_code)
    sender = await sender_of(uow, shop_id, sender_address_id)
    return Issuer(account, adapter, accounts.credentials(cipher, account), sender)


async def issue(
    uow: LogisticsUnitOfWork,
    cipher: Cipher,
    actor: Actor,
    shop_id: str,
    order_id: str,
    *,
    account_id: str,
    sender_address_id: str | None = None,
    quantities: Mapping[str, int] | None = None,
    weight_grams: int | None = None,
    ship: bool = False,
    request_key: str | None = None,
    auto_confirm_after: timedelta,
) -> Issued:
    """A waybill for units of the order (None: everything not yet shipped) from the shop's
    carrier account; `ship` ships them under it. `request_key` is the caller's key of this
    creation (an `Idempotency-Key`): the same key asks the carrier the same request."""
    by = await issuer(uow, cipher, shop_id, account_id, sender_address_id)
    order = await orders.get(uow, shop_id, order_id, lock=True)
    return await issue_for(
        uow,
        actor,
        by,
        order,
        quantities=quantities,
        weight_grams=weight_grams,
        ship=ship,
        request_key=request_key,
        auto_confirm_after=auto_confirm_after,
    )


async def issue_for(
    uow: LogisticsUnitOfWork,
    actor: Actor,
    by: Issuer,
    order: Order,
    *,
    quantities: Mapping[str, int] | None = None,
    weight_grams: int | None = None,
    ship: bool = False,
    request_key: str | None = None,
    auto_confirm_after: timedelta,
) -> Issued:
    """`issue` for an order already locked, by an issuer already read."""
    account, adapter, sender, shop_id = by.account, by.carrier, by.sender, order.shop_id
    parcel = order.parcel(quantities, "issue a waybill for")
    weight = weight_grams if weight_grams is not None else await _weight(uow, order, parcel)
    to = order.address
    assert to is not None, "an express order has its address"
    receiver = Party(to["recipient"], to["phone"], to["region_code"], to["detail"])
    frm = Party(sender.name, sender.phone, sender.region_code, sender.detail)
    titles = {line.id: str(line.snapshot.get("title") or line.sku_id) for line in order.lines}
    lines = [{"line_id": k, "quantity": q, "title": titles[k]} for k, q in sorted(parcel.items())]
    waybill_id = new_id("wb")
    waybill = EWaybill(
        id=waybill_id,
        shop_id=shop_id,
        order_id=order.id,
        logistics_account_id=account.id,
        carrier_code=account.carrier_code,
        number="",
        sender=party_snapshot(frm, company=sender.company),
        receiver=party_snapshot(receiver),
        lines=lines,
        weight_grams=weight,
    )
    request = WaybillRequest(
        credentials=by.credentials,
        request_id=carrier_request_id(shop_id, order.id, request_key or waybill_id),
        sender=frm,
        receiver=receiver,
        lines=waybill.parcel,
        weight_grams=weight,
    )
    issued = await adapter.create_waybill(request)
    waybill.number = issued.number
    waybill.created_at = waybill.updated_at = issued.created_at
    uow.waybills.add(waybill)
    uow.audit.add(_audit(actor, "waybill.issue", waybill))
    await tracking.start(uow, waybill)
    shipment = None
    if ship:
        _, shipment = await orders.ship(
            uow,
            actor,
            shop_id,
            order.id,
            carrier_code=waybill.carrier_code,
            waybill_no=waybill.number,
            quantities=waybill.quantities,
            auto_confirm_after=auto_confirm_after,
        )
    await uow.flush()
    return Issued(waybill, shipment)


async def get(
    uow: LogisticsUnitOfWork, shop_id: str, waybill_id: str, *, lock: bool = False
) -> EWaybill:
    waybill = await uow.waybills.get(shop_id, waybill_id, lock=lock)
    if waybill is None:
        raise WaybillNotFound(f"No waybill {waybill_id}.")
    return waybill


async def list_page(
    uow: LogisticsUnitOfWork, shop_id: str, page: PageRequest, f: WaybillFilter
) -> Page[EWaybill]:
    return await uow.waybills.list_page(shop_id, page, f)


async def shipments_under(uow: LogisticsUnitOfWork, waybills: list[EWaybill]) -> dict[str, str]:
    """Waybill id → the id of the order's shipment travelling under it, for those that have
    one (read from the orders' shipments, in one query)."""
    if not waybills:
        return {}
    shop_id = waybills[0].shop_id
    by_order = await uow.orders.shipments_of(shop_id, sorted({w.order_id for w in waybills}))
    found: dict[str, str] = {}
    for w in waybills:
        for s in by_order.get(w.order_id, []):
            if s.carrier == w.carrier_code and s.waybill_no == w.number:
                found[w.id] = s.id
    return found


async def cancel(
    uow: LogisticsUnitOfWork, cipher: Cipher, actor: Actor, shop_id: str, waybill_id: str
) -> EWaybill:
    """Cancel at the carrier, before it collects the parcel (409 after), and only while no
    shipment travels under it."""
    waybill = await get(uow, shop_id, waybill_id, lock=True)
    used = (await shipments_under(uow, [waybill])).get(waybill.id)
    waybill.require_cancellable(used)
    account = await accounts.get_account(uow, shop_id, waybill.logistics_account_id)
    adapter = uow.carriers.get(waybill.carrier_code)
    await adapter.cancel_waybill(accounts.credentials(cipher, account), waybill.number)
    waybill.cancel()
    await tracking.stop(uow, waybill)
    uow.audit.add(_audit(actor, "waybill.cancel", waybill))
    await uow.flush()
    return waybill


def _audit(actor: Actor, action: str, waybill: EWaybill) -> AuditEntry:
    return AuditEntry.about(
        actor,
        action,
        "waybill",
        waybill,
        before=None,
        after={
            "order_id": waybill.order_id,
            "carrier": waybill.carrier_code,
            "waybill_no": waybill.number,
            "status": waybill.status.value,
        },
    )
