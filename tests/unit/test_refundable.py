"""The refundable-amount rules, over random orders, discounts and sequences of claims: a
line's claims never add up to more than its paid share, and the shares, the discount and the
amounts split across lines always add up to the fen."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.aftersales.refundable import (
    Ask,
    Claimed,
    PaidLine,
    allocate,
    freight_refundable,
    line_limits,
    max_refund,
    shares,
)

lines_st = st.lists(
    st.tuples(st.integers(0, 1_000_000), st.integers(1, 20), st.integers(0, 20)),
    min_size=1,
    max_size=6,
).map(
    lambda xs: [
        PaidLine(f"l{i}", price, qty, min(shipped, qty))
        for i, (price, qty, shipped) in enumerate(xs)
    ]
)


@given(lines=lines_st, discount=st.integers(0, 10_000_000))
def test_shares_take_the_discount_exactly_and_never_go_negative(
    lines: list[PaidLine], discount: int
) -> None:
    paid = shares(lines, discount)
    subtotal = sum(x.unit_price * x.quantity for x in lines)
    assert sum(paid.values()) == subtotal - min(discount, subtotal)
    for line in lines:
        assert 0 <= paid[line.line_id] <= line.unit_price * line.quantity


@settings(max_examples=300)
@given(
    share=st.integers(0, 10_000_000),
    quantity=st.integers(1, 30),
    claims=st.lists(st.tuples(st.integers(1, 30), st.floats(0, 1)), max_size=40),
)
def test_a_lines_claims_never_exceed_its_share(
    share: int, quantity: int, claims: list[tuple[int, float]]
) -> None:
    """Any sequence of claims, each of any amount up to its maximum: the total stays within
    the share, and a claim that takes the last units may take exactly the rest."""
    claimed = Claimed()
    for units, fraction in claims:
        most = max_refund(share, quantity, claimed, units)
        if claimed.quantity + units > quantity:
            assert most == 0
            continue
        amount = int(most * fraction)
        claimed = Claimed(claimed.quantity + units, claimed.amount + amount)
        assert claimed.amount <= share * claimed.quantity // quantity
    assert claimed.amount <= share
    left = quantity - claimed.quantity
    if left:
        assert max_refund(share, quantity, claimed, left) == share - claimed.amount


@given(
    amount=st.integers(0, 10_000_000),
    limits=st.lists(st.integers(0, 1_000_000), min_size=1, max_size=8),
)
def test_an_amount_is_split_within_each_lines_limit(amount: int, limits: list[int]) -> None:
    by_line = {f"l{i}": v for i, v in enumerate(limits)}
    parts = allocate(min(amount, sum(limits)), by_line)
    assert sum(parts.values()) == min(amount, sum(limits))
    assert all(0 <= parts[k] <= by_line[k] for k in by_line)


@given(lines=lines_st, discount=st.integers(0, 1_000_000))
def test_asking_for_every_unit_refunds_exactly_what_was_paid_for_the_lines(
    lines: list[PaidLine], discount: int
) -> None:
    asks = [Ask(x.line_id, x.quantity) for x in lines]
    limits = line_limits(lines, discount, {}, asks)
    subtotal = sum(x.unit_price * x.quantity for x in lines)
    assert sum(limits.values()) == subtotal - min(discount, subtotal)


@given(lines=lines_st, freight=st.integers(0, 100_000), claimed=st.booleans())
def test_the_freight_is_refundable_once_and_only_before_shipping(
    lines: list[PaidLine], freight: int, claimed: bool
) -> None:
    got = freight_refundable(lines, freight, claimed)
    shipped = any(x.shipped_quantity for x in lines)
    assert got == (0 if claimed or shipped else freight)
