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

Settlement: `SettlementTerms.delay` after an order completes (or closes), what it still holds
in `pending` moves to `available`, less the platform's fee: `fee_rate` of that amount,
rounded half up to the fen, once per order (0.6 % of 12 345 fen is 74.07 → 74; of 12 375,
74.25 → 74; of 12 417, 74.502 → 75). A refund after that comes out of `available`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
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
    #: An order's money out of `pending` into `available`, less the platform's fee.
    SETTLEMENT = "settlement"
    #: The shipping insurance's premium of an order, paid by the shop.
    PREMIUM = "premium"


@dataclass(frozen=True)
class SettlementTerms:
    """The platform's terms: how long after an order completes its money is held, and the
    fee it keeps then (a fraction, 0.006 for 0.6 %)."""

    delay: timedelta = timedelta(days=7)
    fee_rate: Decimal = Decimal("0.006")

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.fee_rate < Decimal(1):
            raise ValueError(f"a fee rate is a fraction in [0, 1): {self.fee_rate}")

    def fee(self, amount: int) -> int:
        """The fee on `amount` fen, rounded half up to the fen (nothing on nothing)."""
        if amount <= 0:
            return 0
        return int((Decimal(amount) * self.fee_rate).quantize(Decimal(1), ROUND_HALF_UP))


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


def settlement(shop_id: str, order_id: str, held: int, fee: int) -> Posting:
    """What the order still `held` in `pending` becomes the shop's (`available`), less `fee`
    for the platform. `held` may be negative (refunds after the premium took more than the
    order left): the shop then owes it, out of `available`. No entry of nothing (a fee of 0
    fen is not written)."""
    entries = (
        Entry(Account.PENDING, -held),
        Entry(Account.AVAILABLE, held - fee),
        Entry(Account.PLATFORM_FEE, fee),
    )
    return Posting(shop_id, PostingKind.SETTLEMENT, order_id, tuple(e for e in entries if e.amount))


def premium_paid(shop_id: str, order_id: str, premium: int) -> Posting:
    """The shop pays the shipping insurance's premium of an order out of what it holds."""
    return Posting(
        shop_id,
        PostingKind.PREMIUM,
        order_id,
        (Entry(Account.PENDING, -premium), Entry(Account.INSURANCE_PREMIUM, premium)),
    )
