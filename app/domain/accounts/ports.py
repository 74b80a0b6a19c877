"""The accounts context's ports: what its use cases need from storage."""

from __future__ import annotations

from typing import Protocol

from app.domain.accounts.model import Account, Session
from app.domain.audit.ports import AuditRepository
from app.domain.uow import Transaction


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...
    async def get(self, account_id: str) -> Account | None: ...
    async def get_by_username(self, username: str) -> Account | None: ...
    async def lock(self, account_id: str) -> None:
        """Serialise concurrent changes that count an account's rows (shop limits)."""

    def add_session(self, session: Session) -> None: ...
    async def get_session(self, token_hash: str) -> Session | None: ...
    async def get_many(self, account_ids: list[str]) -> dict[str, Account]: ...


class AccountsUnitOfWork(Transaction, Protocol):
    """What account use cases reach: accounts and sessions, and the audit log."""

    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
