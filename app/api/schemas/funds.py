"""A shop's funds as the open API and the merchant's finance members see them: the balances
and the entries of its ledger."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from app.api.schemas.base import Output
from app.api.schemas.orders import ORDER_EXAMPLE
from app.api.schemas.payments import PAYMENT_EXAMPLE
from app.domain.funds.ledger import Account, PostingKind

ENTRY_EXAMPLE = "lent_01jd8m3k2x9v7q4w5e6r7t8y9z"
POSTING_EXAMPLE = "post_01jd8m3k2x9v7q4w5e6r7t8y9z"
TIME_EXAMPLE = "2026-11-25T08:00:00Z"


def _values(enum: type[StrEnum]) -> Any:
    """A `Literal` of the enum's values: inline in the spec (no component of the enum's name,
    which `Account` would share with the accounts' schema), and read from the domain's enum,
    so a member added there is documented and accepted with no change here."""
    return Literal[tuple(m.value for m in enum)]


if TYPE_CHECKING:
    KindName = str
    AccountName = str
else:
    #: A posting's kind, one of `PostingKind`'s values.
    KindName = _values(PostingKind)
    #: A ledger account, one of `Account`'s values.
    AccountName = _values(Account)


class Funds(Output):
    """The shop's balances in its ledger, integer fen."""

    currency: Literal["CNY"] = Field(description="ISO 4217.", examples=["CNY"])
    pending: int = Field(
        description="Paid by buyers and held until their orders are settled.", examples=[40600]
    )
    available: int = Field(
        description="Settled: the shop's (negative when it owes refunds made after settlement).",
        examples=[0],
    )
    refunded: int = Field(description="Gone back to buyers, in all.", examples=[10000])
    platform_fee: int = Field(description="Kept by the platform as its fee.", examples=[0])
    insurance_premium: int = Field(description="Paid for shipping insurance.", examples=[0])

    @classmethod
    def of(cls, balances: Mapping[Account, int]) -> Funds:
        return cls(
            currency="CNY",
            pending=balances[Account.PENDING],
            available=balances[Account.AVAILABLE],
            refunded=balances[Account.REFUNDED],
            platform_fee=balances[Account.PLATFORM_FEE],
            insurance_premium=balances[Account.INSURANCE_PREMIUM],
        )


class FundsEntry(Output):
    """One entry of the shop's ledger: a signed amount on one account. The entries of one
    posting (a payment, a refund, ...) add up to zero; `gateway` is the world outside the
    shop, the other side of what buyers paid and got back."""

    id: str = Field(description="The entry's id.", examples=[ENTRY_EXAMPLE])
    posting_id: str = Field(
        description="The posting it belongs to; its entries add up to zero.",
        examples=[POSTING_EXAMPLE],
    )
    kind: KindName = Field(
        description="What moved the money: `payment` (a buyer paid an order: into `pending`), "
        "`refund` (money back to the buyer, out of `pending`, or of `available` once the "
        "order was settled: into `refunded`), `settlement` (a done order's money from "
        "`pending` to `available`, less the platform's fee into `platform_fee`), `premium` "
        "(an insured order's shipping insurance, out of `pending` into `insurance_premium`).",
        examples=["payment"],
    )
    account: AccountName = Field(
        description="The account it moves: `gateway`, `pending`, `available`, `refunded`, "
        "`platform_fee` or `insurance_premium`.",
        examples=["pending"],
    )
    amount: int = Field(
        description="Signed integer fen: positive into the account, negative out of it.",
        examples=[25000],
    )
    order_id: str = Field(description="The order behind it.", examples=[ORDER_EXAMPLE])
    payment_id: str | None = Field(
        description="The payment behind it: a buyer's payment, or one given back in full "
        "(a cancelled order); null otherwise.",
        examples=[PAYMENT_EXAMPLE],
    )
    refund_id: str | None = Field(
        description="The after-sale's refund behind it; null otherwise.", examples=[None]
    )
    created_at: datetime = Field(description="When it was posted (UTC).", examples=[TIME_EXAMPLE])
