"""Freight templates, pure: rates, regional rules, free shipping, refused regions, and the sum
over an order's templates (no database, no HTTP)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.orders.freight import (
    FreeShipping,
    FreightLine,
    FreightTemplate,
    Rate,
    RegionalRate,
    Valuation,
    quote_freight,
)
from app.domain.orders.pricing import FlatFreight

PROVINCES = ["11", "31", "44", "54", "65"]
DESTINATIONS = ["110101", "310104", "440305", "441900", "540102", "650102"]

rate_st = st.builds(
    Rate, st.integers(1, 5000), st.integers(0, 5000), st.integers(1, 5000), st.integers(0, 2000)
)
codes_st = st.lists(st.sampled_from([*PROVINCES, "4403", "4419"]), min_size=1, max_size=3).map(
    tuple
)
free_st = st.builds(
    FreeShipping,
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.integers(1, 20),
    st.one_of(st.just(()), codes_st),
)


def template_st(*, free: bool = True) -> st.SearchStrategy[FreightTemplate]:
    return st.builds(
        FreightTemplate,
        shop_id=st.just("shop_1"),
        name=st.just("t"),
        valuation=st.sampled_from(Valuation),
        default_rate=rate_st,
        rates=st.lists(st.builds(RegionalRate, codes_st, rate_st), max_size=3).map(tuple),
        free_shipping=(st.lists(free_st, max_size=2).map(tuple) if free else st.just(())),
        not_delivered=st.lists(st.sampled_from(["54", "65"]), max_size=2).map(tuple),
    )


def line_st(templates: list[FreightTemplate | None]) -> st.SearchStrategy[FreightLine]:
    return st.builds(
        FreightLine,
        st.sampled_from(templates),
        st.integers(1, 999),
        st.integers(0, 20_000),
        st.integers(0, 10**6),
        st.text("abc", min_size=1, max_size=3),
    )


flat_st = st.builds(FlatFreight, st.integers(0, 5000), st.one_of(st.none(), st.integers(0, 10**6)))


@st.composite
def order_st(draw: st.DrawFn, *, free: bool = True) -> list[FreightLine]:
    templates: list[FreightTemplate | None] = draw(
        st.lists(template_st(free=free), min_size=1, max_size=3)
    )
    return draw(st.lists(line_st([*templates, None]), min_size=1, max_size=6))


@given(order_st(), st.sampled_from(DESTINATIONS), flat_st)
def test_freight_is_whole_fen_never_negative(
    lines: list[FreightLine], dest: str, flat: FlatFreight
) -> None:
    q = quote_freight(lines, dest, flat)
    assert isinstance(q.freight, int)
    assert q.freight >= 0
    if not q.deliverable:
        assert q.freight == 0


@given(order_st(), st.sampled_from(DESTINATIONS), flat_st)
def test_a_refused_region_is_always_refused(
    lines: list[FreightLine], dest: str, flat: FlatFreight
) -> None:
    refusing = {
        x.key
        for x in lines
        if x.template is not None and any(dest.startswith(c) for c in x.template.not_delivered)
    }
    q = quote_freight(lines, dest, flat)
    assert set(q.not_delivered) == refusing
    assert q.deliverable is (not refusing)


@given(template_st(), st.sampled_from(DESTINATIONS), st.integers(1, 999), st.integers(0, 10**6))
def test_free_shipping_never_charges(
    template: FreightTemplate, dest: str, quantity: int, amount: int
) -> None:
    line = FreightLine(template, quantity, 100, amount, "s")
    q = quote_freight([line], dest, FlatFreight(1000))
    if template.delivers_to(dest) and any(
        f.holds(dest, amount, quantity) for f in template.free_shipping
    ):
        assert q.freight == 0


@given(
    order_st(free=False),
    st.sampled_from(DESTINATIONS),
    st.data(),
)
def test_more_pieces_or_more_weight_never_cost_less(
    lines: list[FreightLine], dest: str, data: st.DataObject
) -> None:
    """Without free-shipping conditions (which may waive freight once met), and with the
    flat fallback's fee never waived."""
    flat = FlatFreight(data.draw(st.integers(0, 5000)))
    before = quote_freight(lines, dest, flat)
    i = data.draw(st.integers(0, len(lines) - 1))
    grown = lines[i]
    more = FreightLine(
        grown.template,
        grown.quantity + data.draw(st.integers(0, 50)),
        grown.weight_g + data.draw(st.integers(0, 5000)),
        grown.amount + data.draw(st.integers(0, 10**5)),
        grown.key,
    )
    after = quote_freight([*lines[:i], more, *lines[i + 1 :]], dest, flat)
    if before.deliverable:
        assert after.freight >= before.freight
    extra = data.draw(line_st([x.template for x in lines]))
    added = quote_freight([*lines, extra], dest, flat)
    if before.deliverable and added.deliverable:
        assert added.freight >= before.freight, "a further line never costs less"


def _template(**kw: object) -> FreightTemplate:
    values: dict[str, object] = {
        "shop_id": "shop_1",
        "name": "t",
        "valuation": Valuation.PIECE,
        "default_rate": Rate(1, 800, 1, 200),
    }
    values.update(kw)
    return FreightTemplate(**values)  # type: ignore[arg-type]


def test_a_rate_charges_the_first_units_then_each_further_step_begun() -> None:
    rate = Rate(1000, 1000, 500, 300)  # first kg ¥10, each further 500 g begun ¥3
    assert [rate.charge(g) for g in (0, 1000, 1001, 1500, 1501)] == [1000, 1000, 1300, 1300, 1600]
    with pytest.raises(ValueError):
        Rate(0, 1, 1, 1)


def test_the_most_precise_regional_rate_wins() -> None:
    t = _template(
        rates=(
            RegionalRate(("44",), Rate(1, 1000, 1, 0)),
            RegionalRate(("4403",), Rate(1, 500, 1, 0)),
        )
    )
    assert t.charge("440305", 1, 1, 0) == 500  # 深圳 (city rule)
    assert t.charge("441900", 1, 1, 0) == 1000  # 东莞 (province rule)
    assert t.charge("110101", 3, 3, 0) == 1200  # default: 800 + 2 x 200


def test_free_shipping_by_amount_and_count_per_region() -> None:
    t = _template(
        free_shipping=(
            FreeShipping(min_amount=9900),
            FreeShipping(min_pieces=3, regions=("31",)),
        )
    )
    assert t.charge("110101", 1, 1, 9900) == 0
    assert t.charge("110101", 3, 3, 100) == 1200
    assert t.charge("310104", 3, 3, 100) == 0
    with pytest.raises(ValueError):
        FreeShipping()


def test_several_templates_each_charge_their_own_lines_and_the_rest_pay_flat() -> None:
    piece = _template()
    heavy = _template(valuation=Valuation.WEIGHT, default_rate=Rate(1000, 1200, 1000, 500))
    lines = [
        FreightLine(piece, 2, 0, 5000, "a"),  # 800 + 200
        FreightLine(heavy, 3, 600, 3000, "b"),  # 1800 g: 1200 + 500
        FreightLine(None, 1, 0, 100, "c"),  # flat 600
    ]
    assert quote_freight(lines, "440305", FlatFreight(600)).freight == 1000 + 1700 + 600
    refused = _template(not_delivered=("44",))
    q = quote_freight([*lines, FreightLine(refused, 1, 0, 1, "d")], "440305", FlatFreight(600))
    assert (q.deliverable, q.not_delivered, q.freight) == (False, ("d",), 0)
