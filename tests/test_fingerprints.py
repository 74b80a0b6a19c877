"""The fingerprints the refusal tests compare ("nothing changed") see what they claim to see."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from app.container import Container
from app.domain.ids import new_id
from app.infra.db import tables
from tests import factories as f


async def _execute(container: Container, sql: str, **params: str) -> None:
    async with container.engine.begin() as conn:
        await conn.execute(sa.text(sql), params)


async def test_each_fingerprint_sees_the_changes_it_claims_to(
    container: Container, new_client: f.NewClient
) -> None:
    mine = await f.open_shop(await f.user(new_client()))
    owner = await f.user(new_client())
    theirs = await f.open_shop(owner)

    async def now() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        return (
            await f.db_fingerprint(container),
            await f.fingerprint(container, mine["id"]),
            await f.shop_fingerprint(container, mine["id"]),
        )

    before = await now()
    assert await now() == before, "a fingerprint moved with nothing changed"

    # A change to the shop under test: every fingerprint sees it.
    await _execute(container, "UPDATE shops SET name = 'Renamed' WHERE id = :id", id=mine["id"])
    after = await now()
    assert all(a != b for a, b in zip(after, before, strict=True))
    before = after

    # A change to another shop's row: the whole database and nothing scoped to this shop.
    await _execute(container, "UPDATE shops SET name = 'Other' WHERE id = :id", id=theirs["id"])
    whole, scoped, shop = await now()
    assert whole != before[0] and (scoped, shop) == before[1:]
    before = (whole, scoped, shop)

    # A row removed from another shop: the scoped fingerprint counts every shop's rows.
    await _execute(
        container,
        "DELETE FROM shop_members WHERE shop_id = :shop_id AND account_id = :account_id",
        shop_id=theirs["id"],
        account_id=owner.id,
    )
    whole, scoped, shop = await now()
    assert whole != before[0] and scoped != before[1] and shop == before[2]
    before = (whole, scoped, shop)

    # A row of no shop (an account): the whole database and the scoped fingerprint.
    await _execute(
        container, "UPDATE accounts SET display_name = 'Changed' WHERE id = :id", id=owner.id
    )
    whole, scoped, shop = await now()
    assert whole != before[0] and scoped != before[1] and shop == before[2]
    before = (whole, scoped, shop)

    # A row of a shop table whose shop is null (an account's audit entry) belongs to no shop:
    # the whole database and the scoped fingerprint read it in full, not only count it.
    entry = new_id("aud")
    async with container.engine.begin() as conn:
        await conn.execute(
            sa.insert(tables.audit_log).values(
                id=entry,
                shop_id=None,
                actor_type="account",
                actor_id=owner.id,
                surface="merchant",
                action="test.noted",
                target_type="account",
                target_id=owner.id,
                created_at=datetime.now(UTC),
            )
        )
    before = await now()
    await _execute(
        container, "UPDATE audit_log SET action = 'test.changed' WHERE id = :id", id=entry
    )
    whole, scoped, shop = await now()
    assert whole != before[0] and scoped != before[1] and shop == before[2]

    # Several shops under test: a change to any of them shows, one to another shop does not.
    both = await f.fingerprint(container, mine["id"], theirs["id"])
    await _execute(container, "UPDATE shops SET name = 'Again' WHERE id = :id", id=theirs["id"])
    assert await f.fingerprint(container, mine["id"], theirs["id"]) != both
    assert await f.fingerprint(container, mine["id"]) == scoped
