"""Use cases of a shop's sender/return address book.

The default rule, as the buyers' address book has it: a shop with any address has exactly
one default sender; the first address becomes it, `is_default: true` moves it, and deleting
it promotes the newest remaining one. A change of the default locks the current default's
row first, so concurrent changes take turns; a partial unique index (one default per shop)
is the backstop when the book is empty.
"""

from __future__ import annotations

from typing import Any

from app.domain.audit.model import Actor, AuditEntry
from app.domain.clock import utcnow
from app.domain.logistics.errors import (
    DefaultSenderRequired,
    SenderAddressLimitReached,
    SenderAddressNotFound,
)
from app.domain.logistics.ports import LogisticsUnitOfWork
from app.domain.logistics.senders import MAX_SENDER_ADDRESSES, SenderAddress, SenderChanges
from app.domain.orders.addresses import normalize_phone, resolve_region
from app.domain.pagination import Page, PageRequest
from app.domain.shops.services import check_version


async def list_senders(
    uow: LogisticsUnitOfWork, shop_id: str, page: PageRequest
) -> Page[SenderAddress]:
    return await uow.sender_addresses.list_page(shop_id, page)


async def get_sender(uow: LogisticsUnitOfWork, shop_id: str, address_id: str) -> SenderAddress:
    address = await uow.sender_addresses.get(shop_id, address_id)
    if address is None:
        raise SenderAddressNotFound(f"No sender address {address_id}.")
    return address


async def create_sender(
    uow: LogisticsUnitOfWork,
    actor: Actor,
    shop_id: str,
    *,
    name: str,
    phone: str,
    region_code: str,
    detail: str,
    company: str | None = None,
    make_default: bool = False,
) -> SenderAddress:
    phone = normalize_phone(phone)
    resolve_region(region_code)
    current = await uow.sender_addresses.get_default(shop_id, lock=True)
    if await uow.sender_addresses.count(shop_id) >= MAX_SENDER_ADDRESSES:
        raise SenderAddressLimitReached(
            f"A shop keeps at most {MAX_SENDER_ADDRESSES} sender addresses; delete one first.",
            extra={"limit": MAX_SENDER_ADDRESSES},
        )
    if make_default and current is not None:
        await _demote(uow, current)
    address = SenderAddress(
        shop_id=shop_id,
        name=name,
        phone=phone,
        region_code=region_code,
        detail=detail,
        company=company or None,
        is_default=make_default or current is None,
    )
    uow.sender_addresses.add(address)
    uow.audit.add(
        AuditEntry.about(
            actor, "sender_address.create", "sender_address", address, after=_summary(address)
        )
    )
    await uow.flush()
    return address


async def update_sender(
    uow: LogisticsUnitOfWork,
    actor: Actor,
    shop_id: str,
    address_id: str,
    changes: SenderChanges,
    *,
    expected_version: int | None = None,
) -> SenderAddress:
    address = await get_sender(uow, shop_id, address_id)
    check_version(address.version, expected_version)
    before = _summary(address)
    if changes.is_default is False and address.is_default:
        raise DefaultSenderRequired(
            "This is the shop's default sender; make another address the default instead.",
            errors=[{"loc": ["body", "is_default"], "msg": "the default", "type": "default"}],
        )
    if changes.is_default and not address.is_default:
        # Demoted (and written) before this address changes: one version step for it.
        current = await uow.sender_addresses.get_default(shop_id, lock=True)
        if current is not None:
            await _demote(uow, current)
    if changes.phone is not None:
        address.phone = normalize_phone(changes.phone)
    if changes.region_code is not None:
        resolve_region(changes.region_code)
        address.region_code = changes.region_code
    if changes.name is not None:
        address.name = changes.name
    if changes.detail is not None:
        address.detail = changes.detail
    if changes.company is not None:
        address.company = changes.company or None
    if changes.is_default:
        address.is_default = True
    address.updated_at = utcnow()
    uow.audit.add(
        AuditEntry.about(
            actor,
            "sender_address.update",
            "sender_address",
            address,
            before=before,
            after=_summary(address),
        )
    )
    await uow.flush()
    return address


async def delete_sender(
    uow: LogisticsUnitOfWork, actor: Actor, shop_id: str, address_id: str
) -> None:
    await uow.sender_addresses.get_default(shop_id, lock=True)
    address = await get_sender(uow, shop_id, address_id)
    await uow.sender_addresses.delete(address)
    uow.audit.add(
        AuditEntry.about(
            actor, "sender_address.delete", "sender_address", address, before=_summary(address)
        )
    )
    await uow.flush()
    if address.is_default:
        successor = await uow.sender_addresses.newest(shop_id)
        if successor is not None:
            successor.is_default = True
            successor.updated_at = utcnow()
            await uow.flush()


async def _demote(uow: LogisticsUnitOfWork, current: SenderAddress) -> None:
    current.is_default = False
    current.updated_at = utcnow()
    # Written before the new default is: the index allows one default per shop.
    await uow.flush()


def _summary(a: SenderAddress) -> dict[str, Any]:
    return {
        "name": a.name,
        "region_code": a.region_code,
        "detail": a.detail,
        "company": a.company,
        "is_default": a.is_default,
    }
