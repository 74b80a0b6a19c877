"""The ledger port: postings appended in the use case's transaction, balances read."""

from __future__ import annotations

from typing import Protocol

from app.domain.funds.ledger import Account, Posting


class Ledger(Protocol):
    async def post(self, posting: Posting) -> None:
        """Append the posting's entries, in the unit of work's transaction."""

    async def balances(self, shop_id: str) -> dict[Account, int]:
        """Each account's balance for the shop (0 when it has no entries)."""

    async def held(self, shop_id: str, order_id: str) -> int:
        """What the order holds in `pending` (its payments less its refunds and premium,
        until it is settled)."""
