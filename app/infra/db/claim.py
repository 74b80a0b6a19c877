"""The one way a worker claims rows of a work table (bulk jobs, timers): with a lease.

Two statements in the caller's transaction. The first picks up to `limit` claimable ids
`FOR UPDATE SKIP LOCKED`, so on PostgreSQL concurrent workers pick disjoint rows instead of
queueing behind each other. The second writes the claim (a lease: the row's owner and until
when it holds) only where the row is still claimable, so a worker that read a row another
worker had just claimed gets nothing for it. SQLite renders no `FOR UPDATE`, but its writers
are serialised (`BEGIN IMMEDIATE`, see `engine.py`), which makes the same two statements
correct there for one machine.

Not `UPDATE … WHERE id IN (SELECT … LIMIT … SKIP LOCKED)`: PostgreSQL may run such a subquery
once per row and then claim more than `limit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.infra.db.tenancy import CROSS_SHOP


async def claim_with_lease(
    db: AsyncSession | AsyncConnection,
    table: sa.Table,
    *,
    claimable: sa.ColumnElement[bool],
    lease: Mapping[str, Any],
    order_by: Sequence[sa.ColumnElement[Any]] = (),
    limit: int = 1,
    pick: sa.Select[tuple[Any]] | None = None,
    cross_shop: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The ids (`table.c.id`) of the rows now claimed: at most `limit`, in `order_by` order,
    each matching `claimable` and given the `lease` values (its owner, its expiry, an
    attempt more...). `claimable` must no longer hold for a row once `lease` is written, or
    until the lease runs out.

    `pick` replaces the first statement when choosing takes more than `claimable` (webhook
    deliveries wait for their predecessors): it selects the ids, locked `SKIP LOCKED`, and
    `claimable` is then only re-checked by the update. `cross_shop` marks both statements
    as spanning shops (a tenant table's queue), with its reason (`tenancy.cross_shop`).
    `params` binds the values of `pick` and `claimable` when they were built once with
    `bindparam`s (the webhook dispatcher's, run many times a second); their names must not
    be column names of `table`, which an update's parameters would set."""
    if pick is None:
        pick = (
            sa.select(table.c.id)
            .where(claimable)
            .order_by(*order_by)
            .limit(limit)
            .with_for_update(skip_locked=True, of=table)
        )
    options = {CROSS_SHOP: cross_shop} if cross_shop else {}
    values = dict(params or {})
    picked = list((await db.execute(pick, values, execution_options=options)).scalars())
    if not picked:
        return []
    res = await db.execute(
        sa.update(table)
        .where(table.c.id.in_(picked), claimable)
        .values(**lease)
        .returning(table.c.id),
        values,
        execution_options={"synchronize_session": False, **options},
    )
    claimed = set(res.scalars())
    return [i for i in picked if i in claimed]
