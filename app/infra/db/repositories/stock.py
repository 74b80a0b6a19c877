"""The one place that writes the `stock` column of existing SKUs.

Every statement is a conditional UPDATE scoped by the shop: an adjustment never reads the
stock into Python and writes it back (`SET stock = stock + :d WHERE ... AND stock + :d >= 0`),
an absolute set writes its value (`SET stock = :v`), so concurrent changes all count and the
stock never goes negative. Writes of the other SKU columns (the ORM, a bulk import's
set-based update) never name `stock`; tests/test_stock_guard.py fails any statement outside
this module that does. A new SKU's INSERT carries its initial stock: that is its creation,
not a change, and races nobody.

Rows are locked in id order (`lock`, `set_many`, and the callers sort theirs), so two
transactions changing several SKUs each cannot deadlock. On PostgreSQL a reservation (an
order's lines) is one statement sent through the driver: lock in id order, check every line,
take them all or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.domain.catalog.ports import Settle
from app.domain.catalog.products import Shortage, Sku, StockChange, StockRow
from app.domain.clock import utcnow
from app.infra.db import tables
from app.infra.db.driver import OnSessionAndDriver
from app.infra.db.tenancy import select, update

_s = tables.skus

#: Marks the statements of this module in the SQL itself (and so in the database's logs and
#: `pg_stat_statements`); the stock guard test fails an UPDATE of `stock` without it.
STOCK_PATH_TAG = "/* stock_path */"


def _update(shop_id: str) -> sa.Update:
    return update(_s, shop_id).prefix_with(STOCK_PATH_TAG)


#: `reserve` on PostgreSQL, as the parts of one statement (`DriverReader.defer`, which writes
#: `{n}` as the name of part n): the wanted lines; the shop's SKUs among them, locked in id
#: order (read twice, so PostgreSQL materializes it: the locks are taken, all of them, before
#: anything is written); the lines missing or short; the stock taken from each only if none
#: is (the conditional UPDATE: never below zero); a row per line: the SKU's product, its
#: stock before and after (NULL: not taken).
_RESERVE_PARTS = (
    "SELECT w.id, w.q FROM unnest($2::text[], $3::int[]) AS w(id, q)",
    """SELECT s.id, s.product_id, s.stock, s.low_stock_threshold
    FROM skus s WHERE s.shop_id = $1 AND s.id = ANY($2::text[])
    ORDER BY s.id FOR UPDATE""",
    """SELECT w.id FROM {0} w LEFT JOIN {1} l ON l.id = w.id
    WHERE l.id IS NULL OR l.stock < w.q""",
    f"""UPDATE {STOCK_PATH_TAG} skus
    SET stock = skus.stock - want.q, version = skus.version + 1, updated_at = $4
    FROM {{0}} want
    WHERE skus.shop_id = $1 AND skus.id = ANY($2::text[]) AND skus.id = want.id
      AND skus.stock - want.q >= 0  -- the keys again: probed by the key even when generic
      AND NOT EXISTS (SELECT 1 FROM {{2}})
    RETURNING skus.id, skus.stock, skus.version""",  # noqa: S608 — only the constant tag
    """SELECT w.id AS sku_id, l.product_id, l.stock AS before, t.stock AS after,
           l.low_stock_threshold AS threshold, t.version
    FROM {0} w LEFT JOIN {1} l ON l.id = w.id LEFT JOIN {3} t ON t.id = w.id""",
)


class SqlStockRepository(OnSessionAndDriver):
    async def lock(self, shop_id: str, sku_ids: Iterable[str]) -> dict[str, StockRow]:
        """The shop's SKUs among `sku_ids`, locked for this transaction in id order
        (`SELECT ... ORDER BY id FOR UPDATE` on PostgreSQL; SQLite's writer holds the
        database lock since `BEGIN IMMEDIATE`)."""
        return {i: row for i, (row, _) in (await self._lock(shop_id, sku_ids)).items()}

    async def _lock(self, shop_id: str, sku_ids: Iterable[str]) -> dict[str, tuple[StockRow, int]]:
        ids = sorted(set(sku_ids))
        if not ids:
            return {}
        res = await self.s.execute(
            select(_s, shop_id, _s.c.id, _s.c.product_id, _s.c.stock)
            .add_columns(_s.c.low_stock_threshold, _s.c.version)
            .where(_s.c.id.in_(ids))
            .order_by(_s.c.id)
            .with_for_update()
        )
        return {
            r.id: (StockRow(r.id, r.product_id, int(r.stock), r.low_stock_threshold), r.version)
            for r in res
        }

    async def adjust(self, shop_id: str, sku_id: str, delta: int) -> StockChange | None:
        """Add `delta` (negative: take away) unless the result would be negative; None then,
        or when the SKU is not this shop's. The old stock is the new one less `delta`, both
        from the row the UPDATE locked."""
        new = _s.c.stock + delta
        now = utcnow()
        row = (
            await self.s.execute(
                _update(shop_id)
                .where(_s.c.id == sku_id, new >= 0)
                .values(stock=new, version=_s.c.version + 1, updated_at=now)
                .returning(_s.c.stock, _s.c.version, _s.c.product_id, _s.c.low_stock_threshold)
            )
        ).one_or_none()
        if row is None:
            return None
        after = int(row.stock)
        self._refresh_loaded(shop_id, sku_id, stock=after, version=row.version, updated_at=now)
        return StockChange(sku_id, row.product_id, after - delta, after, row.low_stock_threshold)

    async def set(self, shop_id: str, sku_id: str, value: int) -> StockChange | None:
        """Set to `value`; None when the SKU is not this shop's."""
        done = await self.set_many(shop_id, {sku_id: value})
        return done[0] if done else None

    async def set_many(self, shop_id: str, values: Mapping[str, int]) -> list[StockChange]:
        """Set each SKU to its value, in id order; SKUs not of this shop are left out.

        RETURNING sees only the new row (SQLite, PostgreSQL < 18), so the old stock is read
        under the row lock first; the new value never depends on that read.
        """
        locked = await self._lock(shop_id, values)
        if not locked:
            return []
        now = utcnow()
        stmt = (
            _update(shop_id)
            .where(_s.c.id == sa.bindparam("b_id"))
            .values(stock=sa.bindparam("b_stock"), version=_s.c.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        conn = await self.s.connection()
        await conn.execute(stmt, [{"b_id": i, "b_stock": values[i]} for i in locked])
        out = []
        for sku_id, (row, version) in locked.items():
            after = values[sku_id]
            self._refresh_loaded(shop_id, sku_id, stock=after, version=version + 1, updated_at=now)
            out.append(
                StockChange(sku_id, row.product_id, row.stock, after, row.low_stock_threshold)
            )
        return out

    async def reserve(
        self, shop_id: str, lines: Mapping[str, int], settle: Settle, *, at_once: bool = True
    ) -> None:
        """Take each line's units, all or none: the SKUs are locked in id order, and the
        first one (by id) missing or short is what `settle` gets instead, nothing changed.
        On PostgreSQL the reservation is one statement, deferred with the unit of work's
        writes (and sent at once unless `at_once` is False)."""
        if self._driver is not None:
            await self._reserve_direct(shop_id, lines, settle, at_once)
            return
        locked = await self._lock(shop_id, lines)
        for sku_id in sorted(lines):
            if sku_id not in locked:
                await settle(Shortage(sku_id, None))
                return
            if locked[sku_id][0].stock < lines[sku_id]:
                await settle(Shortage(sku_id, locked[sku_id][0].stock))
                return
        await settle(await self._add_locked(shop_id, locked, {i: -q for i, q in lines.items()}))

    async def _reserve_direct(
        self, shop_id: str, lines: Mapping[str, int], settle: Settle, at_once: bool
    ) -> None:
        ids = sorted(lines)
        now = utcnow()

        async def taken(rows: Sequence[Mapping[str, Any]]) -> None:
            await settle(self._reserved(shop_id, lines, rows, now))

        assert self._driver is not None
        await self._driver.defer(
            _RESERVE_PARTS,
            shop_id,
            ids,
            [lines[i] for i in ids],
            now,
            key=("stock.reserve", shop_id),  # one statement may not change a row twice
            then=taken,
        )
        if at_once:
            await self._driver.send_pending()

    def _reserved(
        self,
        shop_id: str,
        lines: Mapping[str, int],
        rows: Sequence[Mapping[str, Any]],
        now: datetime,
    ) -> list[StockChange] | Shortage:
        rows = sorted(rows, key=lambda r: r["sku_id"])  # id order: the first short says why
        if any(r["after"] is None for r in rows):  # nothing taken
            for r in rows:
                if r["product_id"] is None:
                    return Shortage(r["sku_id"], None)
                if r["before"] < lines[r["sku_id"]]:
                    return Shortage(r["sku_id"], int(r["before"]))
            raise AssertionError("a reservation took nothing and found no shortage")
        out = []
        for r in rows:
            sku_id, after = r["sku_id"], int(r["after"])
            self._refresh_loaded(shop_id, sku_id, stock=after, version=r["version"], updated_at=now)
            out.append(
                StockChange(sku_id, r["product_id"], int(r["before"]), after, r["threshold"])
            )
        return out

    async def release(self, shop_id: str, lines: Mapping[str, int]) -> list[StockChange]:
        """Give each line's units back; SKUs gone or not of this shop are left out."""
        locked = await self._lock(shop_id, lines)
        return await self._add_locked(shop_id, locked, dict(lines))

    async def _add_locked(
        self,
        shop_id: str,
        locked: Mapping[str, tuple[StockRow, int]],
        deltas: Mapping[str, int],
    ) -> list[StockChange]:
        """Add each delta to SKUs this transaction has locked (and checked): still the
        conditional UPDATE, so a result below zero could never be written."""
        if not locked:
            return []
        now = utcnow()
        new = _s.c.stock + sa.bindparam("b_delta", type_=sa.Integer)
        stmt = (
            _update(shop_id)
            .where(_s.c.id == sa.bindparam("b_id"), new >= 0)
            .values(stock=new, version=_s.c.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        conn = await self.s.connection()
        await conn.execute(stmt, [{"b_id": i, "b_delta": deltas[i]} for i in locked])
        out = []
        for sku_id, (row, version) in locked.items():
            after = row.stock + deltas[sku_id]
            self._refresh_loaded(shop_id, sku_id, stock=after, version=version + 1, updated_at=now)
            out.append(
                StockChange(sku_id, row.product_id, row.stock, after, row.low_stock_threshold)
            )
        return out

    def _refresh_loaded(self, shop_id: str, sku_id: str, **values: object) -> None:
        """The UPDATE bypassed the ORM: a SKU already loaded in this session (a batch reads
        it again, or changes it twice) must show the stored values, not the old ones."""
        session = self._driver.opened_session if self._driver is not None else self.s
        if session is None or not session.identity_map:  # placing an order loads nothing
            return
        sku = session.identity_map.get(identity_key(Sku, (shop_id, sku_id)))
        if sku is not None:
            for name, value in values.items():
                set_committed_value(sku, name, value)
