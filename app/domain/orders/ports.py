"""The orders context's ports: what its use cases need from storage."""

from __future__ import annotations

from typing import Protocol

from app.domain.accounts.ports import AccountsUnitOfWork
from app.domain.orders.addresses import Address
from app.domain.pagination import Page, PageRequest


class AddressRepository(Protocol):
    """A buyer's addresses: every method takes the account they belong to."""

    def add(self, address: Address) -> None: ...
    async def get(self, account_id: str, address_id: str) -> Address | None: ...
    async def list_page(self, account_id: str, page: PageRequest) -> Page[Address]: ...
    async def count(self, account_id: str) -> int: ...
    async def get_default(self, account_id: str) -> Address | None: ...
    async def newest(self, account_id: str) -> Address | None: ...
    async def delete(self, address: Address) -> None: ...


class AddressesUnitOfWork(AccountsUnitOfWork, Protocol):
    """Address use cases: the buyer's account (locked to serialise a buyer's changes) and
    the addresses."""

    @property
    def addresses(self) -> AddressRepository: ...
