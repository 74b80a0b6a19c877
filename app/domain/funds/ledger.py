"""The transaction guarantee's books: a double-entry ledger per shop, in integer fen.

Every movement of a shop's money is a `Posting` whose entries add up to zero, written in the
same transaction as the change that caused it, tied to the order (and the payment or refund)
behind it, and only ever appended. The accounts:

- `gateway`: the world outside the shop — what buyers paid in (negative), what went back;
- `pending`: paid and held until the order is settled;
- `available`: settled, the shop's to withdraw (it may go negative: a refund after
  settlement the shop owes back);
- `refunded`: what went back to buyers;
- `platform_fee`, `insurance_premium`: what the platform kept.

So for each shop `pending + available == payments - refunds - fees`, and each order's entries
add up to zero (every posting does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.domain.clock import utcnow
from app.domain.ids import new_id


class Account(StrEnum):
    GATEWAY = "gateway"
    PENDING = "pending"
    AVAILABLE = "available"
    REFUNDED = "refunded"
    PLATFORM_FEE = "platform_fee"
    INSURANCE_PREMIUM = "insurance_premium"


#: The accounts a shop's balances show (the gateway is the other side of the books).
SHOWN = (
    Account.PENDING,
    Account.AVAILABLE,
    Account.REFUNDED,
    Account.PLATFORM_FEE,
    Account.INSURANCE_PREMIUM,
)


class PostingKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class Entry:
    account: Account
    amount: int


@dataclass(frozen=True)
class Posting:
    shop_id: str
    kind: PostingKind
    order_id: str
    entries: tuple[Entry, ...]
    payment_id: str | None = None
    refund_id: str | None = None
    id: str = field(default_factory=lambda: new_id("post"))
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if sum(e.amount for e in self.entries) != 0:
            raise ValueError(f"a posting balances: {self.entries}")


def payment_received(shop_id: str, order_id: str, payment_id: str, amount: int) -> Posting:
    """A buyer's payment of an order: held in `pending` until the order is settled."""
    return Posting(
        shop_id,
        PostingKind.PAYMENT,
        order_id,
        (Entry(Account.GATEWAY, -amount), Entry(Account.PENDING, amount)),
        payment_id=payment_id,
    )


def refund_paid(
    shop_id: str,
    order_id: str,
    amount: int,
    *,
    payment_id: str | None = None,
    refund_id: str | None = None,
    settled: bool = False,
) -> Posting:
    """Money of an order back to its buyer: out of `pending`, or out of `available` once the
    order was settled."""
    source = Account.AVAILABLE if settled else Account.PENDING
    return Posting(
        shop_id,
        PostingKind.REFUND,
        order_id,
        (Entry(source, -amount), Entry(Account.REFUNDED, amount)),
        payment_id=payment_id,
        refund_id=refund_id,
    )
