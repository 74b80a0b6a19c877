"""The unit of work and repository ports every use case runs through.

A use case gets one `UnitOfWork` per request; it never commits: the edge does, once.
Every method that reads tenant data takes the shop id it is scoped to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.domain.accounts.model import Account, Session
from app.domain.audit.model import AuditEntry
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Member, Qualification, Shop, ShopStatus, SubjectType
from app.domain.shops.permissions import Role


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...
    async def get(self, account_id: str) -> Account | None: ...
    async def get_by_username(self, username: str) -> Account | None: ...
    async def lock(self, account_id: str) -> None:
        """Serialise concurrent changes that count an account's rows (shop limits)."""

    def add_session(self, session: Session) -> None: ...
    async def get_session(self, token_hash: str) -> Session | None: ...
    async def get_many(self, account_ids: list[str]) -> dict[str, Account]: ...


class ShopRepository(Protocol):
    def add(self, shop: Shop) -> None: ...
    async def get(self, shop_id: str) -> Shop | None: ...
    async def count_owned(self, account_id: str, subject_types: tuple[SubjectType, ...]) -> int: ...
    async def list_for_account(
        self, account_id: str, page: PageRequest
    ) -> Page[tuple[Shop, Member]]: ...
    async def list_by_status(
        self, status: ShopStatus, page: PageRequest, *, suspended: bool | None = None
    ) -> Page[Shop]: ...
    async def review_queue(self, page: PageRequest) -> Page[Shop]:
        """Shops in review, by submission time then id; `page.after` is that pair."""
        ...

    async def get_qualification(self, shop_id: str) -> Qualification | None: ...
    def add_qualification(self, qualification: Qualification) -> None: ...


class MemberRepository(Protocol):
    def add(self, member: Member) -> None: ...
    async def get(self, shop_id: str, account_id: str) -> Member | None: ...
    async def delete(self, member: Member) -> None: ...
    async def list_page(self, shop_id: str, page: PageRequest) -> Page[Member]: ...
    async def lock_owners(self, shop_id: str) -> list[Member]:
        """The shop's owners, locked, so 'the last owner stays' holds under concurrency."""
        ...


class AuditRepository(Protocol):
    def add(self, entry: AuditEntry) -> None: ...
    async def list_page(
        self,
        shop_id: str,
        page: PageRequest,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[AuditEntry]: ...


class UnitOfWork(Protocol):
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def shops(self) -> ShopRepository: ...
    @property
    def members(self) -> MemberRepository: ...
    @property
    def audit(self) -> AuditRepository: ...

    async def flush(self) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


__all__ = [
    "AccountRepository",
    "AuditRepository",
    "MemberRepository",
    "Role",
    "ShopRepository",
    "UnitOfWork",
]
