"""Merchant: the shop's funds, read by the members whose role handles the money
(`finance.read`: owners, admins, finance) — the same balances and entries as the open API's
`GET /v1/funds` and `GET /v1/funds/entries`."""

from __future__ import annotations

from app.api.deps import SESSION_ERRORS, CurrentAccount, UoW
from app.api.errors import problem_responses
from app.api.funds import EntryFilterParams, entries_page
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams
from app.api.params import ShopIdPath
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.funds import Funds, FundsEntry
from app.domain.shops import services
from app.domain.shops.errors import PermissionDenied, ShopNotFound
from app.domain.shops.permissions import Permission

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/merchant/shops/{shop_id}", tags=["Merchant: funds"]
)

_READ = (*SESSION_ERRORS, 422, ShopNotFound, PermissionDenied)


@router.get(
    "/funds",
    operation_id="getMerchantFunds",
    summary="The shop's balances",
    description="Permission `finance.read`. As `GET /v1/funds`: the balances of the shop's "
    "ledger; `pending + available` is what buyers paid less what went back and the "
    "platform's fees.",
    response_model=Funds,
    responses=problem_responses(*_READ),
)
async def get_merchant_funds(shop_id: ShopIdPath, ctx: CurrentAccount, uow: UoW) -> Funds:
    await services.access(uow, ctx.account.id, shop_id, Permission.FINANCE_READ)
    return Funds.of(await uow.ledger.balances(shop_id))


@router.get(
    "/funds/entries",
    operation_id="listMerchantFundsEntries",
    summary="The entries of the shop's ledger",
    description="Permission `finance.read`. As `GET /v1/funds/entries`: newest first; "
    "`created_from` is included, `created_to` excluded.",
    response_model=ListResponse[FundsEntry],
    responses=problem_responses(*_READ, *PAGE_ERRORS),
)
async def list_merchant_funds_entries(
    shop_id: ShopIdPath, ctx: CurrentAccount, uow: UoW, page: PageParams, f: EntryFilterParams
) -> ListResponse[FundsEntry]:
    await services.access(uow, ctx.account.id, shop_id, Permission.FINANCE_READ)
    return entries_page(await uow.ledger.entries(shop_id, page, f))
