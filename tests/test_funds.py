"""The shops' ledger (issue 14, transaction guarantee, first step): every payment and refund
posts balanced entries with the change, through the one writer; `GET /v1/funds` shows the
balances, and the books always say `pending + available == payments - refunds - fees`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.container import Container
from app.domain.aftersales import refunding
from app.domain.funds.ledger import Account, payment_received, refund_paid
from app.infra.db import tables
from tests import factories as f
from tests.funds_support import check_books
from tests.order_support import OnSale, buyer_order, on_sale
from tests.payment_support import open_payment, settle_in_process

APP = Path(__file__).resolve().parents[1] / "app"


def test_only_the_writer_touches_the_ledger_table() -> None:
    """`ledger_entries` is written by `app/infra/db/ledger.py` alone (its table, the tenancy
    list and the tables' index name it too)."""
    allowed = {
        APP / "infra/db/ledger.py",
        APP / "infra/db/tables/funds.py",
        APP / "infra/db/tables/__init__.py",
        APP / "infra/db/tenancy.py",
    }
    naming = {p for p in APP.rglob("*.py") if "ledger_entries" in p.read_text()}
    assert naming <= allowed, sorted(str(p) for p in naming - allowed)


async def _paid(container: Container, shop: OnSale, b: f.Buyer, *quantities: int) -> Any:
    order = await buyer_order(b, shop, *quantities)
    payment = await open_payment(container, b.id, order["id"])
    assert await settle_in_process(container, payment) == "paid"
    return order


async def refunded_line(
    container: Container, shop: OnSale, b: f.Buyer, order: dict[str, Any], line: int
) -> str:
    """One unit of the order's line refunded through an after-sale the shop accepts, its
    refund settled by the gateway; the refund's id."""
    r = await b.client.post(
        f"/v1/storefront/orders/{order['id']}/aftersales",
        json={
            "type": "refund",
            "reason": "other",
            "lines": [{"line_id": order["lines"][line]["id"], "quantity": 1}],
        },
        headers=b.h,
    )
    assert r.status_code == 201, r.text
    accepted = await shop.p.post(f"/v1/aftersales/{r.json()['id']}/acceptance", {})
    assert accepted.status_code == 200, accepted.text
    rf = tables.refunds
    async with container.engine.connect() as conn:
        refund = (
            await conn.execute(sa.select(rf).where(rf.c.aftersale_id == r.json()["id"]))
        ).one()
    async with container.uow() as uow:
        await refunding.settle(uow, shop.shop_id, refund.id, succeeded=True, amount=refund.amount)
        await uow.commit()
    return str(refund.id)


async def test_payments_and_refunds_post_to_the_books_and_the_funds_show_them(
    client: httpx.AsyncClient, container: Container, new_client: f.NewClient
) -> None:
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    funds = await shop.p.get("/v1/funds")
    assert funds.status_code == 200, funds.text
    assert funds.json() == {
        "currency": "CNY",
        "pending": 0,
        "available": 0,
        "refunded": 0,
        "platform_fee": 0,
        "insurance_premium": 0,
    }
    kept = await _paid(container, shop, b, 2, 1)  # 25000
    assert (await shop.p.get("/v1/funds")).json()["pending"] == 25000
    await check_books(container, shop.shop_id)

    # Part of it back through an after-sale ...
    await refunded_line(container, shop, b, kept, 1)
    # ... and a whole order the shop cancels after it was paid.
    gone = await _paid(container, shop, b, 1)
    r = await shop.p.post(f"/v1/orders/{gone['id']}/cancellation", {"reason": "Out of stock"})
    assert r.status_code == 200, r.text

    balances = await check_books(container, shop.shop_id)
    assert (balances[Account.PENDING], balances[Account.REFUNDED]) == (25000 - 5000, 5000 + 10000)
    shown = (await shop.p.get("/v1/funds")).json()
    assert (shown["pending"], shown["refunded"]) == (20000, 15000)


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["pay", "refund"]), st.integers(0, 10_000_000)), max_size=40
    )
)
def test_any_sequence_of_payments_and_refunds_keeps_the_books(
    steps: list[tuple[str, int]],
) -> None:
    """Postings in any order: every one balances, and the shop's accounts always hold what
    was paid less what went back."""
    totals = dict.fromkeys(Account, 0)
    paid = refunded = 0
    for i, (what, amount) in enumerate(steps):
        if what == "pay":
            posting = payment_received("shop_x", f"order_{i}", f"pay_{i}", amount)
            paid += amount
        else:
            posting = refund_paid("shop_x", f"order_{i}", amount, refund_id=f"rfd_{i}")
            refunded += amount
        for entry in posting.entries:
            totals[entry.account] += entry.amount
        assert sum(totals.values()) == 0
        assert totals[Account.PENDING] + totals[Account.AVAILABLE] == paid - refunded
        assert totals[Account.REFUNDED] == refunded
