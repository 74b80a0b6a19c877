"""The books in tests: `check_books`, the ledger's invariant read from a shop's rows."""

from __future__ import annotations

import sqlalchemy as sa

from app.container import Container
from app.domain.funds.ledger import Account
from app.infra.db import tables


async def check_books(container: Container, shop_id: str) -> dict[Account, int]:
    """The invariant, from the shop's rows: each posting and each order balances, and what
    the shop holds (`pending + available`) is what buyers paid less what went back and the
    platform's fees and premiums; the balances, by account."""
    e, p, r = tables.ledger_entries, tables.payments, tables.refunds
    async with container.engine.connect() as conn:
        by_posting = (
            await conn.execute(
                sa.select(e.c.posting_id, sa.func.sum(e.c.amount))
                .where(e.c.shop_id == shop_id)
                .group_by(e.c.posting_id)
            )
        ).all()
        by_order = (
            await conn.execute(
                sa.select(e.c.order_id, sa.func.sum(e.c.amount))
                .where(e.c.shop_id == shop_id)
                .group_by(e.c.order_id)
            )
        ).all()
        balances = dict.fromkeys(Account, 0)
        for account, total in await conn.execute(
            sa.select(e.c.account, sa.func.sum(e.c.amount))
            .where(e.c.shop_id == shop_id)
            .group_by(e.c.account)
        ):
            balances[Account(account)] = int(total)
        paid = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(p.c.amount), 0)).where(
                    p.c.shop_id == shop_id, p.c.status.in_(["succeeded", "refunded"])
                )
            )
        ).scalar_one()
        full_refunds = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(p.c.amount), 0)).where(
                    p.c.shop_id == shop_id, p.c.status == "refunded"
                )
            )
        ).scalar_one()
        part_refunds = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(r.c.amount), 0)).where(
                    r.c.shop_id == shop_id, r.c.status == "succeeded"
                )
            )
        ).scalar_one()
    assert all(total == 0 for _, total in by_posting), by_posting
    assert all(total == 0 for _, total in by_order), by_order
    refunds = int(full_refunds) + int(part_refunds)
    fees = balances[Account.PLATFORM_FEE] + balances[Account.INSURANCE_PREMIUM]
    assert balances[Account.PENDING] + balances[Account.AVAILABLE] == int(paid) - refunds - fees
    assert balances[Account.REFUNDED] == refunds
    assert balances[Account.GATEWAY] == -int(paid)
    return balances
