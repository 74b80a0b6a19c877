"""How much of a paid order may still be refunded: pure rules, in integer fen.

A line's paid share is its subtotal (unit price * quantity) less its part of the order's
discount, the discount split across the lines in proportion to their subtotals (largest
remainder, so the parts add up to the discount exactly). Units of a line are refundable up
to the units not yet claimed by an after-sale that still counts (open, refunded or failed);
for `k` more units of a line of `q` with `c` units and `a` fen already claimed, at most
`floor(share * (c + k) / q) - a` — exactly the rest of the share when the claim takes the
last units, so the claims of a line never add up to more than its share.

The freight is refundable, whole and once, only while nothing of the order has shipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PaidLine:
    """A line of the paid order, as the rules see it."""

    line_id: str
    unit_price: int
    quantity: int
    shipped_quantity: int


@dataclass(frozen=True)
class Claimed:
    """What after-sales that still count have taken of a line: units and fen."""

    quantity: int = 0
    amount: int = 0


def shares(lines: Sequence[PaidLine], discount_total: int) -> dict[str, int]:
    """Each line's paid share: its subtotal less its proportional part of the discount."""
    subtotals = {line.line_id: line.unit_price * line.quantity for line in lines}
    total = sum(subtotals.values())
    if discount_total <= 0 or total == 0:
        return dict(subtotals)
    discount_total = min(discount_total, total)
    exact = {k: discount_total * v for k, v in subtotals.items()}
    parts = {k: e // total for k, e in exact.items()}
    left = discount_total - sum(parts.values())
    # Largest remainder first, then line order: deterministic.
    order = sorted(subtotals, key=lambda k: (-(exact[k] % total), list(subtotals).index(k)))
    for k in order[:left]:
        parts[k] += 1
    return {k: subtotals[k] - parts[k] for k in subtotals}


def max_refund(share: int, quantity: int, claimed: Claimed, more: int) -> int:
    """The most `more` units of a line (`share` fen for `quantity` units) may refund after
    `claimed`; 0 when none are left to claim."""
    if more <= 0 or claimed.quantity + more > quantity:
        return 0
    return max(0, share * (claimed.quantity + more) // quantity - claimed.amount)


def freight_refundable(lines: Sequence[PaidLine], freight: int, freight_claimed: bool) -> int:
    """The freight while nothing has shipped and no after-sale has taken it; else 0."""
    if freight_claimed or any(line.shipped_quantity > 0 for line in lines):
        return 0
    return freight


@dataclass(frozen=True)
class Ask:
    """Units of one line an after-sale asks for."""

    line_id: str
    quantity: int


def line_limits(
    lines: Sequence[PaidLine],
    discount_total: int,
    claims: Mapping[str, Claimed],
    asks: Sequence[Ask],
) -> dict[str, int]:
    """For each line asked for, the most its asked units may refund (0: not allowed)."""
    by_id = {line.line_id: line for line in lines}
    paid = shares(lines, discount_total)
    out: dict[str, int] = {}
    for ask in asks:
        line = by_id[ask.line_id]
        out[ask.line_id] = max_refund(
            paid[ask.line_id], line.quantity, claims.get(ask.line_id, Claimed()), ask.quantity
        )
    return out


def allocate(amount: int, limits: Mapping[str, int]) -> dict[str, int]:
    """`amount` (at most the sum of `limits`) split across the lines in proportion to their
    limits, largest remainder first, no line above its limit."""
    total = sum(limits.values())
    if amount >= total:
        return dict(limits)
    if total == 0:
        return dict.fromkeys(limits, 0)
    exact = {k: amount * v for k, v in limits.items()}
    parts = {k: e // total for k, e in exact.items()}
    left = amount - sum(parts.values())
    keys = list(limits)
    for k in sorted(keys, key=lambda k: (-(exact[k] % total), keys.index(k)))[:left]:
        parts[k] += 1
    return parts
