"""Shipping insurance claims: a return of an insured order completes (its refund landed),
and the platform compensates the buyer's return shipping.

The claim is made with the refund's settlement (`claim_for_return`), and paid by the worker
(`PAY_CLAIM`, at once): the platform's money through the gateway, idempotent per claim, then
`insurance.claim_paid` in the order's sequence. The shop's books are not touched: the shop
paid its part, the premium, when the goods left (`app/domain/orders/insurance.py`).
"""

from __future__ import annotations

from app.domain.aftersales.model import AfterSale, AfterSaleType
from app.domain.aftersales.ports import AfterSalesUnitOfWork
from app.domain.clock import utcnow
from app.domain.events.catalog import InsuranceClaimData
from app.domain.events.model import Event
from app.domain.orders.insurance import Claim
from app.domain.orders.model import Order

#: The durable timer that pays a claim (key: the claim's id).
PAY_CLAIM = "insurance.pay_claim"


async def claim_for_return(uow: AfterSalesUnitOfWork, order: Order, aftersale: AfterSale) -> None:
    """`aftersale` was refunded: when it was a return of an insured order, the buyer's
    return shipping is owed (once per after-sale), and paid by the worker."""
    if aftersale.type is not AfterSaleType.RETURN_REFUND:
        return
    policy = await uow.insurance.policy_of(order.shop_id, order.id)
    if policy is None:
        return
    claim = Claim(
        shop_id=order.shop_id,
        order_id=order.id,
        policy_id=policy.id,
        aftersale_id=aftersale.id,
        buyer_id=order.buyer_id,
        amount=uow.insurance_terms.claim_for(order.region_code),
    )
    uow.insurance.add_claim(claim)
    await uow.timers.schedule(
        PAY_CLAIM, claim.id, utcnow(), {"shop_id": order.shop_id}, shop_id=order.shop_id
    )


async def pay_claim(uow: AfterSalesUnitOfWork, shop_id: str, claim_id: str) -> bool:
    """The worker pays a pending claim through the gateway; False when it was paid already."""
    claim = await uow.insurance.claim(shop_id, claim_id, lock=True)
    if claim is None or claim.paid_at is not None:
        return False
    claim.pay(await uow.gateway.pay_out(shop_id, claim))
    data = InsuranceClaimData(
        shop_id=shop_id,
        order_id=claim.order_id,
        claim_id=claim.id,
        aftersale_id=claim.aftersale_id,
        amount=claim.amount,
    )
    await uow.outbox.add_in_sequence(
        Event("insurance.claim_paid", data, resource_id=claim.order_id)
    )
    await uow.flush()
    return True
