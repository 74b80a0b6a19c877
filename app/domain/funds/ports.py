"""The ledger port: postings appended in the use case's transaction, balances and entries
read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.domain.funds.ledger import Account, Posting, PostingKind
from app.domain.pagination import Page, PageRequest


@dataclass(frozen=True)
class LedgerEntry:
    """One entry of a posting as the books hold it: a signed amount on one account."""

    id: str
    posting_id: str
    kind: PostingKind
    account: Account
    amount: int
    order_id: str
    payment_id: str | None
    refund_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class EntryFilter:
    """What a shop's list of entries keeps: one account, one order, a time range
    (`[created_from, created_to)`)."""

    account: Account | None = None
    order_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class Ledger(Protocol):
    async def post(self, posting: Posting) -> None:
        """Append the posting's entries, in the unit of work's transaction."""

    async def balances(self, shop_id: str) -> dict[Account, int]:
        """Each account's balance for the shop (0 when it has no entries)."""

    async def held(self, shop_id: str, order_id: str) -> int:
        """What the order holds in `pending` (its payments less its refunds and premium,
        until it is settled)."""

    async def entries(self, shop_id: str, page: PageRequest, f: EntryFilter) -> Page[LedgerEntry]:
        """The shop's entries that `f` keeps, newest first (by `(created_at, id)`)."""
