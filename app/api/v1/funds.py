"""Open API: the shop's funds (the transaction guarantee's ledger)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import UoW
from app.api.errors import problem_responses
from app.api.provider import PROVIDER_ERRORS, FundsRead
from app.api.routing import StrictRoute
from app.api.schemas.funds import Funds
from app.domain.funds.ledger import Account

router = APIRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: funds"])


@router.get(
    "/funds",
    operation_id="getFunds",
    summary="The shop's balances",
    description="Scope `funds:read`. From the shop's double-entry ledger, written with every "
    "payment and refund: a paid order's amount is `pending`; a refund takes it back out "
    "(`refunded`). `pending + available` is always what buyers paid less what went back "
    "and the platform's fees.",
    response_model=Funds,
    responses=problem_responses(*PROVIDER_ERRORS),
)
async def get_funds(access: FundsRead, uow: UoW) -> Funds:
    b = await uow.ledger.balances(access.shop_id)
    return Funds(
        currency="CNY",
        pending=b[Account.PENDING],
        available=b[Account.AVAILABLE],
        refunded=b[Account.REFUNDED],
        platform_fee=b[Account.PLATFORM_FEE],
        insurance_premium=b[Account.INSURANCE_PREMIUM],
    )
