"""The one writer of the ledger: every entry reaches `ledger_entries` through `SqlLedger.post`
(tests/test_funds.py fails any other module that writes the table); its reads are here too."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.funds.ledger import Account, Posting
from app.domain.funds.ports import EntryFilter, LedgerEntry
from app.domain.ids import new_id
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.paging import cut, keyset
from app.infra.db.tenancy import select

_e = tables.ledger_entries
#: The columns an entry is read with, named like `LedgerEntry`'s fields.
_ENTRY_COLUMNS = tuple(field.name for field in fields(LedgerEntry))


class SqlLedger:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def post(self, posting: Posting) -> None:
        await self.s.execute(
            sa.insert(_e),
            [
                {
                    "id": new_id("lent"),
                    "shop_id": posting.shop_id,
                    "posting_id": posting.id,
                    "kind": posting.kind,
                    "account": e.account,
                    "amount": e.amount,
                    "order_id": posting.order_id,
                    "payment_id": posting.payment_id,
                    "refund_id": posting.refund_id,
                    "created_at": posting.created_at,
                }
                for e in posting.entries
            ],
        )

    async def balances(self, shop_id: str) -> dict[Account, int]:
        rows = await self.s.execute(
            select(_e, shop_id, _e.c.account, sa.func.sum(_e.c.amount)).group_by(_e.c.account)
        )
        out = dict.fromkeys(Account, 0)
        for account, total in rows:
            out[Account(account)] = int(total)
        return out

    async def held(self, shop_id: str, order_id: str) -> int:
        total = (
            await self.s.execute(
                select(_e, shop_id, sa.func.coalesce(sa.func.sum(_e.c.amount), 0)).where(
                    _e.c.order_id == order_id, _e.c.account == Account.PENDING
                )
            )
        ).scalar_one()
        return int(total)

    async def entries(self, shop_id: str, page: PageRequest, f: EntryFilter) -> Page[LedgerEntry]:
        where: list[sa.ColumnElement[bool]] = []
        if f.account is not None:
            where.append(_e.c.account == f.account)
        if f.order_id is not None:
            where.append(_e.c.order_id == f.order_id)
        if f.created_from is not None:
            where.append(_e.c.created_at >= f.created_from)
        if f.created_to is not None:
            where.append(_e.c.created_at < f.created_to)
        stmt = select(_e, shop_id, *(_e.c[name] for name in _ENTRY_COLUMNS)).where(*where)
        columns: list[sa.ColumnElement[Any]] = [_e.c.created_at, _e.c.id]
        rows = (await self.s.execute(keyset(stmt, page, columns, descending=True))).all()
        found = [LedgerEntry(**row._mapping) for row in rows]
        return cut(found, page, lambda e: (e.created_at, e.id))
