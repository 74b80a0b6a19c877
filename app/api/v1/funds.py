"""Open API: the shop's funds (the transaction guarantee's ledger)."""

from __future__ import annotations

from app.api.deps import UoW
from app.api.errors import problem_responses
from app.api.funds import EntryFilterParams, entries_page
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams
from app.api.provider import PROVIDER_ERRORS, FundsRead
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.funds import Funds, FundsEntry

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: funds"])


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
    return Funds.of(await uow.ledger.balances(access.shop_id))


@router.get(
    "/funds/entries",
    operation_id="listFundsEntries",
    summary="The entries of the shop's ledger",
    description="Scope `funds:read`. Newest first, each a signed amount on one account; the "
    "entries of one posting (`posting_id`) add up to zero, and the balances of "
    "`GET /v1/funds` are their sums. `created_from` is included, `created_to` excluded; "
    "`account` and `order_id` narrow the list (another shop's order finds nothing).",
    response_model=ListResponse[FundsEntry],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_funds_entries(
    access: FundsRead, uow: UoW, page: PageParams, f: EntryFilterParams
) -> ListResponse[FundsEntry]:
    return entries_page(await uow.ledger.entries(access.shop_id, page, f))
