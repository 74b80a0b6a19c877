"""What both surfaces read of a shop's funds the same way: the entries list's filters (one
set of documented query parameters) and its page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query

from app.api.pagination import ListResponse, encode_cursor
from app.api.params import require_zone
from app.api.schemas.funds import TIME_EXAMPLE, AccountName, FundsEntry
from app.api.schemas.orders import ORDER_EXAMPLE
from app.domain.funds.ledger import Account
from app.domain.funds.ports import EntryFilter, LedgerEntry
from app.domain.pagination import Page


async def entry_filter(
    account: Annotated[
        AccountName | None, Query(description="Only this account's.", examples=["pending"])
    ] = None,
    order_id: Annotated[
        str | None, Query(max_length=40, description="Only this order's.", examples=[ORDER_EXAMPLE])
    ] = None,
    created_from: Annotated[
        datetime | None, Query(description="Posted at or after.", examples=[TIME_EXAMPLE])
    ] = None,
    created_to: Annotated[
        datetime | None, Query(description="Posted before.", examples=["2026-11-26T08:00:00Z"])
    ] = None,
) -> EntryFilter:
    require_zone(created_from=created_from, created_to=created_to)
    return EntryFilter(
        account=Account(account) if account is not None else None,
        order_id=order_id,
        created_from=created_from,
        created_to=created_to,
    )


#: The entries lists' filters, on both surfaces.
EntryFilterParams = Annotated[EntryFilter, Depends(entry_filter)]


def entries_page(result: Page[LedgerEntry]) -> ListResponse[FundsEntry]:
    return ListResponse[FundsEntry](
        data=[FundsEntry.model_validate(e) for e in result.items],
        next_cursor=encode_cursor(result.next_after),
    )
