"""The buyers context's ports."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.domain.accounts.ports import AccountsUnitOfWork
from app.domain.buyers.model import BuyerRefreshToken, BuyerTokenFamily


class BuyerTokenRepository(Protocol):
    def add_family(self, family: BuyerTokenFamily) -> None: ...
    async def get_family(self, family_id: str) -> BuyerTokenFamily | None: ...
    async def family_owner(self, family_id: str) -> str | None:
        """The account of a live family; None when it is revoked or unknown. What every
        buyer request checks, so one indexed read (the driver's, on PostgreSQL)."""

    async def revoke_family(self, family_id: str, reason: str) -> None:
        """Idempotent: a family revoked already keeps its first reason."""

    def add_refresh(self, token: BuyerRefreshToken) -> None: ...
    async def get_refresh(self, token_hash: str) -> BuyerRefreshToken | None: ...
    async def rotate_refresh(self, token_id: str, when: datetime) -> bool:
        """Marks the token used; False when it was used already (by a concurrent refresh
        too: the update is conditional)."""


class BuyersUnitOfWork(AccountsUnitOfWork, Protocol):
    @property
    def buyer_tokens(self) -> BuyerTokenRepository: ...
