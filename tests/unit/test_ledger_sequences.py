"""The ledger's invariant over random lives of orders (Hypothesis, stateful): payments,
shipments (an insured one costs the shop its premium), partial refunds and returns before or
after settlement, settlements with the platform's fee. After every step, for the shop: every
posting and every order balances, `pending + available == payments - refunds - fees`, and a
settled order holds nothing in `pending`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.domain.funds.ledger import (
    Account,
    Posting,
    SettlementTerms,
    payment_received,
    premium_paid,
    refund_paid,
    settlement,
)

SHOP = "shop_x"
PREMIUM = 150


@dataclass
class _Order:
    id: str
    paid: int
    insured: bool
    shipped: bool = False
    refunded: int = 0
    settled: bool = False

    @property
    def closed(self) -> bool:
        """Every fen refunded: the order closed."""
        return self.refunded == self.paid

    @property
    def shippable(self) -> bool:
        return not self.shipped and not self.closed

    @property
    def settleable(self) -> bool:
        """Done with — shipped (then completed) or closed — and not settled yet."""
        return not self.settled and (self.shipped or self.closed)


class Books(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.terms = SettlementTerms(fee_rate=Decimal("0.006"))
        self.orders: list[_Order] = []
        self.postings: list[Posting] = []
        self.paid = self.refunded = 0

    def _post(self, posting: Posting) -> None:
        assert all(e.amount for e in posting.entries), posting  # no entry of nothing
        self.postings.append(posting)  # a Posting refuses to be made unbalanced

    def _balances(self, order_id: str | None = None) -> dict[Account, int]:
        out: dict[Account, int] = defaultdict(int)
        for p in self.postings:
            if order_id is None or p.order_id == order_id:
                for e in p.entries:
                    out[e.account] += e.amount
        return out

    @rule(amount=st.integers(1, 5_000_000), insured=st.booleans())
    def pay(self, amount: int, insured: bool) -> None:
        order = _Order(f"order_{len(self.orders)}", amount, insured)
        self.orders.append(order)
        self._post(payment_received(SHOP, order.id, f"pay_{order.id}", amount))
        self.paid += amount

    @precondition(lambda self: any(o.shippable for o in self.orders))
    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        self.ship_it(data.draw(st.sampled_from([o for o in self.orders if o.shippable])))

    def ship_it(self, order: _Order) -> None:
        order.shipped = True
        if order.insured:  # the premium, when the goods first leave
            self._post(premium_paid(SHOP, order.id, PREMIUM))

    @precondition(lambda self: any(o.refunded < o.paid for o in self.orders))
    @rule(data=st.data(), returned=st.booleans())
    def refund(self, data: st.DataObject, returned: bool) -> None:
        """A refund only, or a return's refund (of goods shipped); before or after the
        order was settled."""
        order = data.draw(st.sampled_from([o for o in self.orders if o.refunded < o.paid]))
        if returned and order.shippable:
            self.ship_it(order)  # a return is of goods that left
        amount = data.draw(st.integers(1, order.paid - order.refunded))
        self._post(
            refund_paid(
                SHOP, order.id, amount, refund_id=f"rfd_{len(self.postings)}", settled=order.settled
            )
        )
        order.refunded += amount
        self.refunded += amount

    @precondition(lambda self: any(o.settleable for o in self.orders))
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from([o for o in self.orders if o.settleable]))
        held = self._balances(order.id)[Account.PENDING]
        fee = self.terms.fee(held)
        assert 0 <= fee <= max(held, 0)
        if held:
            self._post(settlement(SHOP, order.id, held, fee))
        order.settled = True

    @invariant()
    def every_order_balances(self) -> None:
        for order in self.orders:
            assert sum(self._balances(order.id).values()) == 0

    @invariant()
    def the_shop_holds_what_was_paid_less_refunds_and_fees(self) -> None:
        b = self._balances()
        fees = b[Account.PLATFORM_FEE] + b[Account.INSURANCE_PREMIUM]
        assert b[Account.PENDING] + b[Account.AVAILABLE] == self.paid - self.refunded - fees
        assert b[Account.REFUNDED] == self.refunded
        assert b[Account.GATEWAY] == -self.paid
        assert b[Account.PLATFORM_FEE] >= 0 and b[Account.INSURANCE_PREMIUM] >= 0

    @invariant()
    def a_settled_order_holds_nothing_pending(self) -> None:
        for order in self.orders:
            if order.settled:
                assert self._balances(order.id)[Account.PENDING] == 0


TestBooks = Books.TestCase
