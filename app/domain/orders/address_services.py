"""Use cases of a buyer's address book.

The default rule: a buyer with any address has exactly one default; the first address
becomes it, and deleting it promotes the newest remaining one. Every change that moves the
default locks the buyer's account row first, so concurrent changes of one buyer take turns (a
partial unique index on the default is the backstop).
"""

from __future__ import annotations

from app.domain.clock import utcnow
from app.domain.orders.addresses import (
    MAX_ADDRESSES,
    Address,
    AddressChanges,
    normalize_phone,
    resolve_region,
)
from app.domain.orders.errors import AddressLimitReached, AddressNotFound
from app.domain.orders.ports import AddressesUnitOfWork
from app.domain.pagination import Page, PageRequest
from app.domain.shops.services import check_version


async def list_addresses(
    uow: AddressesUnitOfWork, account_id: str, page: PageRequest
) -> Page[Address]:
    return await uow.addresses.list_page(account_id, page)


async def get_address(uow: AddressesUnitOfWork, account_id: str, address_id: str) -> Address:
    address = await uow.addresses.get(account_id, address_id)
    if address is None:
        raise AddressNotFound(f"No address {address_id}.")
    return address


async def create_address(
    uow: AddressesUnitOfWork,
    account_id: str,
    *,
    recipient: str,
    phone: str,
    region_code: str,
    detail: str,
    make_default: bool = False,
) -> Address:
    phone = normalize_phone(phone)
    resolve_region(region_code)
    await uow.accounts.lock(account_id)
    count = await uow.addresses.count(account_id)
    if count >= MAX_ADDRESSES:
        raise AddressLimitReached(
            f"A buyer keeps at most {MAX_ADDRESSES} addresses; delete one first.",
            extra={"limit": MAX_ADDRESSES},
        )
    if make_default and count:
        await _clear_default(uow, account_id)
    address = Address(
        account_id=account_id,
        recipient=recipient,
        phone=phone,
        region_code=region_code,
        detail=detail,
        is_default=make_default or count == 0,
    )
    uow.addresses.add(address)
    await uow.flush()
    return address


async def update_address(
    uow: AddressesUnitOfWork,
    account_id: str,
    address_id: str,
    changes: AddressChanges,
    *,
    expected_version: int | None = None,
) -> Address:
    address = await get_address(uow, account_id, address_id)
    check_version(address.version, expected_version)
    if changes.phone is not None:
        address.phone = normalize_phone(changes.phone)
    if changes.region_code is not None:
        resolve_region(changes.region_code)
        address.region_code = changes.region_code
    if changes.recipient is not None:
        address.recipient = changes.recipient
    if changes.detail is not None:
        address.detail = changes.detail
    address.updated_at = utcnow()
    await uow.flush()
    return address


async def set_default(uow: AddressesUnitOfWork, account_id: str, address_id: str) -> Address:
    await uow.accounts.lock(account_id)
    address = await get_address(uow, account_id, address_id)
    if not address.is_default:
        await _clear_default(uow, account_id)
        address.is_default = True
        address.updated_at = utcnow()
        await uow.flush()
    return address


async def delete_address(uow: AddressesUnitOfWork, account_id: str, address_id: str) -> None:
    await uow.accounts.lock(account_id)
    address = await get_address(uow, account_id, address_id)
    await uow.addresses.delete(address)
    await uow.flush()
    if address.is_default:
        successor = await uow.addresses.newest(account_id)
        if successor is not None:
            successor.is_default = True
            successor.updated_at = utcnow()
            await uow.flush()


async def _clear_default(uow: AddressesUnitOfWork, account_id: str) -> None:
    current = await uow.addresses.get_default(account_id)
    if current is not None:
        current.is_default = False
        current.updated_at = utcnow()
        # Written before the new default is: the index allows one default per buyer.
        await uow.flush()
