"""Shipping insurance (issue 14, 运费险): a shop that turns it on pays the platform's premium
out of each order when its goods first leave; a completed return of an insured order is
compensated to the buyer by the platform (a flat amount by province), paid through the
gateway by the worker, `insurance.claim_paid` sent; `GET /v1/orders/{id}` shows the policy and
its claims."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.aftersales import insurance
from app.domain.funds.ledger import Account
from app.infra.db import tables
from app.settings import Settings
from app.worker.timers import build_registry
from tests import factories as f
from tests.aftersale_support import RETURN_ADDRESS, Sale, paid
from tests.aftersale_support import sale as sale
from tests.funds_support import check_books
from tests.order_support import on_sale
from tests.payment_support import fire


async def _insure(sale: Sale, on: bool = True) -> None:
    r = await sale.shop.p.client.put(
        "/v1/aftersales/settings",
        json={"return_address": RETURN_ADDRESS, "restock_returns": True, "shipping_insurance": on},
        headers=sale.shop.p.h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["shipping_insurance"] is on


async def _claims(container: Container, order_id: str) -> list[Any]:
    c = tables.insurance_claims
    async with container.engine.connect() as conn:
        return list(
            await conn.execute(sa.select(c).where(c.c.order_id == order_id).order_by(c.c.id))
        )


async def test_an_insured_order_pays_its_premium_and_a_completed_return_is_compensated(
    sale: Sale,
) -> None:
    await _insure(sale)
    assert (await sale.provider_order())["insurance"] is None  # not shipped yet
    await sale.ship()
    order = await sale.provider_order()
    assert order["insurance"]["premium"] == 150 and order["insurance"]["claims"] == []
    books = await check_books(sale.container, sale.shop.shop_id)
    assert (books[Account.PENDING], books[Account.INSURANCE_PREMIUM]) == (25000 - 150, 150)
    assert (await sale.shop.p.get("/v1/funds")).json()["insurance_premium"] == 150

    # A refund without a return is no claim ...
    asked = await sale.ask(
        type="refund", reason="other", lines=[{"line_id": sale.line(1), "quantity": 1}]
    )
    r = await sale.shop.p.post(f"/v1/aftersales/{asked.json()['id']}/acceptance", {})
    assert r.status_code == 200, r.text
    await sale.refund_lands(asked.json()["id"])
    assert await _claims(sale.container, sale.id) == []

    # ... a completed return is: the buyer's address is in Guangdong (44): 1 000 fen.
    back = await sale.sent_back(0, 1, "SF", "SF9876543210987")
    r = await sale.shop.p.post(f"/v1/aftersales/{back['id']}/return-receipt")
    assert r.status_code == 200, r.text
    await sale.refund_lands(back["id"])
    (claim,) = await _claims(sale.container, sale.id)
    assert (claim.status, claim.amount, claim.aftersale_id) == ("pending", 1000, back["id"])
    # The worker pays it through the gateway (the platform's money, not the shop's).
    registry = build_registry()
    assert await fire(sale.container, registry, insurance.PAY_CLAIM, claim.id) >= 1
    assert await fire(sale.container, registry, insurance.PAY_CLAIM, claim.id) == 0  # once
    await registry.close()
    (claim,) = await _claims(sale.container, sale.id)
    assert claim.status == "paid" and claim.gateway_reference
    p = tables.sandbox_payouts
    async with sale.container.engine.connect() as conn:
        payout = (await conn.execute(sa.select(p).where(p.c.claim_id == claim.id))).one()
    assert (payout.id, payout.amount, payout.buyer_id) == (claim.gateway_reference, 1000, sale.b.id)
    paid_events = [d for t, d in await sale.events() if t == "insurance.claim_paid"]
    assert len(paid_events) == 1
    assert paid_events[0]["claim_id"] == claim.id and paid_events[0]["amount"] == 1000
    assert paid_events[0]["sequence"] > 1  # in the order's sequence
    order = await sale.provider_order()
    assert order["insurance"]["claims"] == [
        {
            "id": claim.id,
            "aftersale_id": back["id"],
            "amount": 1000,
            "status": "paid",
            "paid_at": order["insurance"]["claims"][0]["paid_at"],
        }
    ]
    assert order["insurance"]["claims"][0]["paid_at"] is not None
    # The shop's books do not move with the claim: 25 000 paid, 5 000 + 10 000 refunded, the
    # premium.
    books = await check_books(sale.container, sale.shop.shop_id)
    assert (books[Account.PENDING], books[Account.REFUNDED]) == (25000 - 15000 - 150, 15000)


async def test_a_shop_without_insurance_pays_nothing_and_its_returns_claim_nothing(
    sale: Sale,
) -> None:
    await _insure(sale, on=False)
    await sale.ship()
    assert (await sale.provider_order())["insurance"] is None
    back = await sale.sent_back(0, 1, "SF", "SF9876543210987")
    assert (await sale.shop.p.post(f"/v1/aftersales/{back['id']}/return-receipt")).is_success
    await sale.refund_lands(back["id"])
    assert await _claims(sale.container, sale.id) == []
    books = await check_books(sale.container, sale.shop.shop_id)
    assert books[Account.INSURANCE_PREMIUM] == 0


async def test_the_compensation_follows_the_region_table(
    client: httpx.AsyncClient,
    container: Container,
    new_client: f.NewClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`MINISHOP_INSURANCE_CLAIMS` by province: a buyer in Shanghai (31) gets its amount."""
    terms = Settings(insurance_claims={"31": 1800}).insurance_terms
    monkeypatch.setattr(container, "_insurance", terms)
    shop = await on_sale(client, container)
    b = await f.buyer(new_client())
    await f.buyer_address(b, region_code="310104")
    s = Sale(shop, b, await paid(container, shop, b), container)
    assert s.order["address"]["region_code"] == "310104"
    await _insure(s)
    await s.ship()
    back = await s.sent_back(0, 1, "SF", "SF9876543210987")
    assert (await s.shop.p.post(f"/v1/aftersales/{back['id']}/return-receipt")).is_success
    await s.refund_lands(back["id"])
    (claim,) = await _claims(container, s.id)
    assert claim.amount == 1800
