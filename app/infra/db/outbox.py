"""The one writer of the outbox: every event reaches `outbox_events` through this module.

One event (`write`), many at once (`write_many`, by COPY on PostgreSQL, for bulk jobs) or one
of a sequenced family numbered per resource (`write_in_sequence`), each in the caller's
transaction, from a session (the unit of work) or a bare connection (the webhook worker).
On PostgreSQL the unit of work writes a sequenced event through the driver, as a deferred
write sent with the request's other writes (`write_in_sequence_direct`): the hot path of an
order's life. The INSERTs carry
`OUTBOX_WRITER_TAG`; the guard test fails any other write to the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.domain.events.model import Event
from app.infra.db import tables
from app.infra.db.driver import DriverReader, OnSessionAndDriver, json_text
from app.infra.db.rows import insert_rows

#: Marks this module's statements in the SQL itself (and so in the database's logs).
OUTBOX_WRITER_TAG = "/* outbox_writer */"

_o = tables.outbox_events
_seq = tables.event_sequences

Db = AsyncSession | AsyncConnection


def _row(event: Event) -> dict[str, Any]:
    return {c.key: getattr(event, c.key) for c in _o.columns}


async def _connection(db: Db) -> AsyncConnection:
    return db if isinstance(db, AsyncConnection) else await db.connection()


def _unsequenced(events: list[Event]) -> None:
    for event in events:
        if event.sequenced:
            raise ValueError(f"{event.type} is sequenced: use write_in_sequence")


async def write(db: Db, event: Event) -> None:
    """One event of a family without sequence (anything but `order.*`)."""
    _unsequenced([event])
    await db.execute(sa.insert(_o).prefix_with(OUTBOX_WRITER_TAG), [_row(event)])


async def write_many(db: Db, events: list[Event]) -> None:
    """Many events of families without sequence, as few statements as the database allows."""
    _unsequenced(events)
    await insert_rows(await _connection(db), _o, [_row(e) for e in events], tag=OUTBOX_WRITER_TAG)


async def write_in_sequence(db: Db, event: Event) -> int:
    """An event of a sequenced family: takes its resource's next `sequence` (set on the event
    and in its `data`). The counter's row stays locked until the transaction ends, so numbers
    follow commit order and a rollback leaves no gap."""
    if not event.sequenced or event.resource_id is None:
        raise ValueError(f"{event.type} is not a sequenced event of a resource")
    conn = await _connection(db)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(_seq)
        .values(resource_id=event.resource_id, last_sequence=1)
        .on_conflict_do_update(
            index_elements=[_seq.c.resource_id],
            set_={"last_sequence": _seq.c.last_sequence + 1},
        )
        .returning(_seq.c.last_sequence)
    )
    number = int((await db.execute(stmt)).scalar_one())
    event.sequence = number
    event.data = {**event.data, "sequence": number}
    await db.execute(sa.insert(_o).prefix_with(OUTBOX_WRITER_TAG), [_row(event)])
    return number


#: `write_in_sequence` as a deferred write of two parts: the resource's counter taken (its
#: row locked until the transaction ends, as there), then the event written with the number,
#: in `data` too. It returns what it wrote of the event (the guard test checks it against the
#: catalogue).
_IN_SEQUENCE_SQL = (
    """
INSERT INTO event_sequences (resource_id, last_sequence) VALUES ($5, 1)
ON CONFLICT (resource_id) DO UPDATE SET last_sequence = event_sequences.last_sequence + 1
RETURNING last_sequence
""",
    f"""
INSERT {OUTBOX_WRITER_TAG} INTO outbox_events
    (id, type, shop_id, app_id, resource_id, data, created_at, sequence)
SELECT $1, $2, $3, $4, $5,
       $6::text::jsonb || jsonb_build_object('sequence', n.last_sequence), $7, n.last_sequence
FROM {{0}} n
RETURNING type, shop_id, data, sequence
""",  # noqa: S608 — only the constant tag is formatted in
)


async def write_in_sequence_direct(driver: DriverReader, event: Event) -> None:
    """`write_in_sequence` through the driver (PostgreSQL), in the unit of work's
    transaction, deferred: it goes with the request's other writes, in their round trip.
    The number is set on the event once it is written (at the latest when the unit of work
    flushes or commits)."""
    if not event.sequenced or event.resource_id is None:
        raise ValueError(f"{event.type} is not a sequenced event of a resource")

    async def numbered(rows: Sequence[Mapping[str, Any]]) -> None:
        (row,) = rows
        number = int(row["sequence"])
        event.sequence = number
        event.data = {**event.data, "sequence": number}

    await driver.defer(
        _IN_SEQUENCE_SQL,
        event.id,
        event.type,
        event.shop_id,
        event.app_id,
        event.resource_id,
        json_text(event.data),
        event.created_at,
        # The counter's row: a second event of the resource waits for the first's number.
        key=("event_sequences", event.resource_id),
        then=numbered,
    )


class SqlOutboxRepository(OnSessionAndDriver):
    """The unit of work's outbox port, on its session (and its driver, on PostgreSQL)."""

    async def add(self, event: Event) -> None:
        await write(self.s, event)

    async def add_many(self, events: list[Event]) -> None:
        await write_many(self.s, events)

    async def add_in_sequence(self, event: Event) -> None:
        if self._driver is not None:
            await write_in_sequence_direct(self._driver, event)
        else:
            await write_in_sequence(self.s, event)
