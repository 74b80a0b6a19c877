"""Pure rules of orders: pricing, the lifecycle, regions and carriers (no database, no HTTP)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.domain.orders.carriers import CARRIERS, carrier
from app.domain.orders.errors import (
    CarrierUnknown,
    InvalidOrderTransition,
    QuantityInvalid,
    RegionUnknown,
    WaybillInvalid,
)
from app.domain.orders.model import CancelReason, Order, OrderLine, OrderStatus, ReceivedBy
from app.domain.orders.payments import ChargeState, GatewayCharge, Payment, PaymentStatus
from app.domain.orders.pricing import Discount, FlatFreight, LineAmount, price, quote
from app.domain.orders.regions import region

lines_st = st.lists(
    st.builds(LineAmount, st.integers(0, 10**7), st.integers(1, 999)), min_size=1, max_size=50
)
discounts_st = st.lists(st.builds(Discount, st.just("d"), st.integers(0, 10**8)), max_size=5)


@given(lines_st, st.integers(0, 10**5), discounts_st)
def test_a_price_adds_up_and_discounts_never_touch_the_freight(
    lines: list[LineAmount], freight: int, discounts: list[Discount]
) -> None:
    amounts = price(lines, freight, discounts)
    assert amounts.product_total == sum(line.unit_price * line.quantity for line in lines)
    assert 0 <= amounts.discount_total <= amounts.product_total
    assert amounts.discount_total == min(sum(d.amount for d in discounts), amounts.product_total)
    assert amounts.total == amounts.product_total - amounts.discount_total + amounts.freight
    assert amounts.total >= amounts.freight == freight


@given(lines_st, st.integers(0, 2000), st.one_of(st.none(), st.integers(0, 10**8)))
def test_freight_is_waived_exactly_from_the_threshold(
    lines: list[LineAmount], fee: int, free_from: int | None
) -> None:
    amounts = quote(lines, FlatFreight(fee, free_from))
    waived = free_from is not None and amounts.product_total >= free_from
    assert amounts.freight == (0 if waived else fee)


def test_a_price_refuses_negative_amounts_and_empty_quantities() -> None:
    with pytest.raises(ValueError):
        price([LineAmount(-1, 1)], 0)
    with pytest.raises(ValueError):
        price([LineAmount(1, 0)], 0)
    with pytest.raises(ValueError):
        price([LineAmount(1, 1)], -5)


def make_order(quantities: tuple[int, ...] = (2, 1)) -> Order:
    order_id = "order_1"
    lines = [
        OrderLine(
            shop_id="shop_1",
            order_id=order_id,
            product_id="prod_1",
            sku_id=f"sku_{i}",
            quantity=q,
            unit_price=1000,
            snapshot={"title": "Dress"},
        )
        for i, q in enumerate(quantities)
    ]
    amounts = price([LineAmount(line.unit_price, line.quantity) for line in lines], 800)
    return Order.place(
        id=order_id,
        shop_id="shop_1",
        buyer_id="acct_1",
        lines=lines,
        amounts=amounts,
        address={"region_code": "440305"},
    )


def test_the_happy_path_ships_in_two_parts_and_completes() -> None:
    order = make_order()
    assert order.status is OrderStatus.PENDING_PAYMENT and order.total == 3800
    order.pay()
    first, second = order.lines
    assert order.ship({first.id: 1}) is False
    assert order.status is OrderStatus.PARTIALLY_SHIPPED and order.shipped_at is None
    assert order.ship({first.id: 1, second.id: 1}) is True
    assert order.status is OrderStatus.AWAITING_RECEIPT and order.shipped_at is not None
    order.confirm_receipt(ReceivedBy.AUTO)
    assert order.status is OrderStatus.COMPLETED and order.received_by is ReceivedBy.AUTO


def test_an_illegal_transition_names_the_current_status() -> None:
    order = make_order()
    with pytest.raises(InvalidOrderTransition) as e:
        order.ship({order.lines[0].id: 1})
    assert e.value.status == 409 and e.value.code == "invalid_order_transition"
    assert e.value.extra == {"current_status": 10, "current_status_name": "pending_payment"}
    order.pay()
    with pytest.raises(InvalidOrderTransition):
        order.cancel(CancelReason.BUYER)  # a buyer cancels only before paying
    with pytest.raises(InvalidOrderTransition):
        order.reprice(freight=0)  # the price is fixed once paid
    assert order.cancel(CancelReason.PROVIDER) is True  # paid: to be refunded


def test_a_shipment_cannot_carry_more_than_is_left() -> None:
    order = make_order((2,))
    order.pay()
    line = order.lines[0]
    for bad in ({line.id: 3}, {line.id: 0}, {"oline_other": 1}, {}):
        with pytest.raises(QuantityInvalid):
            order.ship(bad)
    assert line.shipped_quantity == 0 and order.status is OrderStatus.AWAITING_SHIPMENT


def test_repricing_keeps_the_amounts_consistent() -> None:
    order = make_order()
    order.discount_total = 2500
    order.total = order.product_total - 2500 + order.freight
    order.reprice(unit_prices={order.lines[0].id: 500}, freight=0)
    assert order.product_total == 2 * 500 + 1000
    assert order.discount_total == 2000  # capped by the new product total
    assert order.total == 0


class Lifecycle(RuleBasedStateMachine):
    """Any sequence of actions, legal or not: the order stays consistent."""

    def __init__(self) -> None:
        super().__init__()
        self.order = make_order((3, 2))
        self.history: list[OrderStatus] = [self.order.status]

    def _state(self) -> tuple[object, ...]:
        o = self.order
        lines = tuple((line.unit_price, line.shipped_quantity) for line in o.lines)
        return (o.status, o.updated_at, o.total, o.freight, lines, o.cancel_reason, o.paid_at)

    def _try(self, action: object) -> None:
        before = self._state()
        try:
            assert callable(action)
            action()
        except (InvalidOrderTransition, QuantityInvalid):
            assert self._state() == before, "a refusal changed the order"
        self.history.append(self.order.status)

    @rule()
    def pay(self) -> None:
        self._try(self.order.pay)

    @rule(reason=st.sampled_from(CancelReason))
    def cancel(self, reason: CancelReason) -> None:
        self._try(lambda: self.order.cancel(reason))

    @rule(index=st.integers(0, 1), quantity=st.integers(0, 4))
    def ship(self, index: int, quantity: int) -> None:
        self._try(lambda: self.order.ship({self.order.lines[index].id: quantity}))

    @rule(by=st.sampled_from(ReceivedBy))
    def confirm(self, by: ReceivedBy) -> None:
        self._try(lambda: self.order.confirm_receipt(by))

    @precondition(lambda self: self.order.status is OrderStatus.PENDING_PAYMENT)
    @rule(freight=st.integers(0, 5000))
    def reprice(self, freight: int) -> None:
        self._try(lambda: self.order.reprice(freight=freight))

    @invariant()
    def consistent(self) -> None:
        o = self.order
        assert all(0 <= line.shipped_quantity <= line.quantity for line in o.lines)
        shipped = sum(line.shipped_quantity for line in o.lines)
        assert o.total == o.product_total - o.discount_total + o.freight
        assert (o.paid_at is not None) == (OrderStatus.AWAITING_SHIPMENT in self.history), (
            "paid exactly when it went through 20"
        )
        if o.status is OrderStatus.CANCELLED:
            assert shipped == 0 and o.cancel_reason is not None
        if o.status is OrderStatus.PARTIALLY_SHIPPED:
            assert 0 < shipped < sum(line.quantity for line in o.lines)
        if o.status in (OrderStatus.AWAITING_RECEIPT, OrderStatus.COMPLETED):
            assert all(line.unshipped == 0 for line in o.lines) and o.shipped_at is not None
        # Statuses only move forward (the codes grow), except that 250 ends it all.
        moves = [s for i, s in enumerate(self.history) if i == 0 or s != self.history[i - 1]]
        assert moves == sorted(moves)


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=200, stateful_step_count=12, deadline=None)


def test_regions_are_gbt_2260_districts() -> None:
    nanshan = region("440305")
    assert (nanshan.province_name, nanshan.city_name, nanshan.district_name) == (
        "广东省",
        "深圳市",
        "南山区",
    )
    assert nanshan.province_code == "44"
    assert region("441900").city is None  # 东莞市 has no districts
    assert region("810000").district_name == "香港特别行政区"
    for not_a_place in ("440300", "440000", "440301", "999999", "44030", ""):
        with pytest.raises(RegionUnknown):
            region(not_a_place)


def test_carriers_check_their_published_waybill_formats() -> None:
    assert len(CARRIERS) >= 10 and len({c.code for c in CARRIERS}) == len(CARRIERS)
    for c in CARRIERS:
        if c.waybill_example:
            assert c.check_waybill(c.waybill_example.lower()) == c.waybill_example
    assert carrier("SF").check_waybill(" sf1234567890123 ") == "SF1234567890123"
    for bad in ("SF123", "1234567890123", "SF12345678901234"):
        with pytest.raises(WaybillInvalid):
            carrier("SF").check_waybill(bad)
    assert carrier("OTHER").check_waybill("ABC12345") == "ABC12345"
    with pytest.raises(WaybillInvalid):
        carrier("OTHER").check_waybill("short")
    with pytest.raises(CarrierUnknown):
        carrier("UPS")


def _charge(amount: int = 100) -> GatewayCharge:
    return GatewayCharge("sbch_1", ChargeState.PAID, amount, "sbtx_1")


def test_a_payment_closes_only_while_pending_and_a_closed_one_may_still_be_paid() -> None:
    payment = Payment(shop_id="s", order_id="o", buyer_id="b", amount=100, gateway="sandbox")
    payment.close()
    assert payment.status is PaymentStatus.CLOSED and not payment.pending
    assert payment.settleable
    with pytest.raises(ValueError):
        payment.close()
    payment.succeed(_charge())
    assert payment.status is PaymentStatus.SUCCEEDED and payment.transaction_id == "sbtx_1"
    assert not payment.settleable
    with pytest.raises(ValueError):
        payment.close()
    refused = Payment(shop_id="s", order_id="o", buyer_id="b", amount=100, gateway="sandbox")
    refused.close()
    refused.refuse(_charge(99))
    assert refused.status is PaymentStatus.REFUSED and refused.reported_amount == 99
    with pytest.raises(ValueError):
        refused.succeed(_charge())
