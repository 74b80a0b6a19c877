"""The one way a repository reads rows to change them: `locked(stmt)`.

`SELECT ... FOR UPDATE` waits for the row, but the ORM hands back the object it already
holds for that row, attributes as they were when the session first loaded it (an unlocked
read earlier in the same request, say the buyer's own order looked up before it is locked).
A change made from those stale attributes then overwrites what another transaction committed
in between: a counter loses an increment, a cancelled order is cancelled again. With
`populate_existing` the locked read refreshes the object from the row it locked.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

S = TypeVar("S", bound=sa.Select[Any])


def locked(stmt: S, **for_update: Any) -> S:
    """`stmt` FOR UPDATE (`for_update`: `with_for_update`'s options), its objects refreshed."""
    return stmt.with_for_update(**for_update).execution_options(populate_existing=True)


async def lock_shop(session: AsyncSession, shop_id: str) -> None:
    """The shop's row, locked until the transaction ends: the mutex of a per-shop "exactly
    one" rule (its default freight template, its default sender) when there may be no row
    of the rule's own to lock yet. Changes under it take turns, each seeing the last one's."""
    from app.infra.db import tables

    sh = tables.shops
    await session.execute(locked(sa.select(sh.c.id).where(sh.c.id == shop_id)))
