"""Ids: time-ordered, opaque, and written in Crockford base 32 digit by digit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain.ids import _ALPHABET, crockford32, new_id


def _digit_by_digit(value: int, length: int) -> str:
    return "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(length)))


@given(st.integers(min_value=0, max_value=(1 << 80) - 1), st.sampled_from([10, 16]))
def test_the_pairwise_encoding_is_base_32_digit_by_digit(value: int, length: int) -> None:
    assert crockford32(value, length) == _digit_by_digit(value, length)


def test_ids_sort_by_creation_and_carry_their_prefix() -> None:
    ids = [new_id("order") for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(i.startswith("order_") and len(i) == len("order_") + 26 for i in ids)
