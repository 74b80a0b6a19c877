"""Ids: time-ordered, opaque, and written in Crockford base 32 digit by digit."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from app.domain import ids
from app.domain.ids import _ALPHABET, crockford32, new_id


def _digit_by_digit(value: int, length: int) -> str:
    return "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(length)))


@given(st.integers(min_value=0, max_value=(1 << 170) - 1), st.sampled_from(range(2, 34, 2)))
def test_the_encoding_is_base_32_digit_by_digit(value: int, length: int) -> None:
    assert crockford32(value, length) == _digit_by_digit(value, length)


def test_ids_sort_by_creation_and_carry_their_prefix() -> None:
    made = [new_id("order") for _ in range(2000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(i.startswith("order_") and len(i) == len("order_") + 26 for i in made)


def test_a_forked_child_draws_its_own_random_bytes() -> None:
    new_id("x")  # the parent holds drawn bytes
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it would hand out next, had it kept the parent's bytes
        os.close(read)
        os.write(write, ids._drawn[ids._used : ids._used + 10] or b"-")
        os._exit(0)
    os.close(write)
    child_saw = os.read(read, 64)
    os.waitpid(pid, 0)
    os.close(read)
    assert child_saw == b"-"  # nothing: the child's first id draws afresh
