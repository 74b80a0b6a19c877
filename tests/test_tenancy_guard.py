"""The tenancy guard (tests/tenancy_guard.py) reads SQL precisely, sees the application's
statements, and fails an unscoped one: an unscoped helper brought back, a join between
tenant tables on their key alone, a cross-shop reason that is not on the allow-list."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container
from app.domain.catalog.products import Product, Sku
from app.infra.db import tables
from app.infra.db.reads import catalog as catalog_reads
from app.infra.db.repositories.catalog import SqlProductRepository
from app.infra.db.tenancy import TENANT_TABLES, cross_shop
from tests.product_support import provider, sku
from tests.tenancy_guard import Guard, unscoped_tenant_tables

CASES = [
    # Scoped: directly, through a join on shop_id, in a subquery, by IN, after a cast.
    ("SELECT p.id FROM products p WHERE p.shop_id = $1 AND p.id = $2", []),
    (
        "SELECT p.id, s.id FROM products p LEFT JOIN skus s"
        " ON s.shop_id = p.shop_id AND s.product_id = p.id WHERE p.shop_id = $1",
        [],
    ),
    (
        "WITH page AS (SELECT * FROM products WHERE shop_id = $1 LIMIT 3) SELECT * FROM page p"
        " LEFT JOIN skus s ON s.shop_id = p.shop_id AND s.product_id = p.id",
        [],
    ),
    ("UPDATE /* stock_path */ skus SET stock = (skus.stock + $1) WHERE skus.shop_id = $2", []),
    ("DELETE FROM skus WHERE skus.shop_id = $1 AND skus.product_id = $2", []),
    ("SELECT bulk_jobs.id FROM bulk_jobs WHERE bulk_jobs.shop_id = $1::VARCHAR", []),
    ("SELECT skus.id FROM skus WHERE skus.shop_id IN ($1, $2)", []),
    ("SELECT shops.id FROM shops WHERE shops.status = $1", []),  # not a tenant table
    ("INSERT INTO skus (id, shop_id) VALUES ($1, $2)", []),  # writes the shop it is given
    # Unscoped.
    ("SELECT skus.id FROM skus WHERE skus.product_id IN ($1, $2)", ["skus"]),
    (
        "UPDATE products SET title = $1 WHERE products.id = $2 AND products.version = $3",
        ["products"],
    ),
    ("DELETE FROM skus WHERE skus.product_id = $1", ["skus"]),
    (
        "SELECT p.id, s.id FROM products p LEFT JOIN skus s ON s.product_id = p.id"
        " WHERE p.shop_id = $1",
        ["skus"],
    ),
    (
        "WITH page AS (SELECT * FROM products LIMIT 3) SELECT * FROM page p"
        " LEFT JOIN skus s ON s.shop_id = p.shop_id AND s.product_id = p.id",
        ["products"],
    ),
    (
        "SELECT products.id FROM products WHERE products.shop_id = $1 OR products.id = $2",
        ["products"],
    ),
    ("SELECT products.id FROM products WHERE products.shop_id = products.shop_id", ["products"]),
    (
        "SELECT count(*) FROM skus WHERE skus.product_id = $1"
        " AND EXISTS (SELECT 1 FROM products WHERE products.shop_id = $2)",
        ["skus"],
    ),
]


@pytest.mark.parametrize(("sql", "unscoped"), CASES)
def test_the_parser_finds_tenant_tables_without_a_shop_predicate(
    sql: str, unscoped: list[str]
) -> None:
    assert unscoped_tenant_tables(sql) == unscoped
    if "::" not in sql:  # a PostgreSQL cast
        as_sqlite = sql.replace("$1", "?").replace("$2", "?").replace("$3", "?")
        assert unscoped_tenant_tables(as_sqlite, "sqlite") == unscoped


def test_every_tenant_table_has_a_shop_id() -> None:
    assert all("shop_id" in t.c for t in TENANT_TABLES)


async def _unscoped_skus_of(
    self: SqlProductRepository, shop_id: str, product_ids: list[str]
) -> dict[str, list[Sku]]:
    """The helper as it was: SKUs by product id alone."""
    out: dict[str, list[Sku]] = {pid: [] for pid in product_ids}
    res = await self.s.execute(sa.select(Sku).where(tables.skus.c.product_id.in_(product_ids)))
    for found in res.scalars():
        out[found.product_id].append(found)
    return out


async def test_the_guard_sees_the_application_and_fails_an_unscoped_helper(
    client: httpx.AsyncClient,
    tenancy_guard: Guard,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = await provider(client)
    product = await p.create(skus=[sku(stock=3)])
    r = await client.get(f"/v1/products/{product['id']}", headers=p.h)
    assert r.status_code == 200, r.text
    assert tenancy_guard.checked > 0
    assert tenancy_guard.take() == []

    monkeypatch.setattr(SqlProductRepository, "skus_of", _unscoped_skus_of)
    r = await client.patch(f"/v1/products/{product['id']}", json={"title": "Renamed"}, headers=p.h)
    assert r.status_code == 200, r.text
    failures = tenancy_guard.take()
    assert len(failures) == 1, failures
    assert failures[0].startswith("['skus'] without a shop_id predicate: SELECT skus.id")


async def test_the_guard_fails_a_join_on_the_key_alone(
    client: httpx.AsyncClient,
    container: Container,
    is_postgres: bool,
    tenancy_guard: Guard,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hot product read, with its SKUs joined by product_id only (on PostgreSQL the
    statement the driver runs, on SQLite the Core statement)."""
    p = await provider(client)
    product = await p.create(skus=[sku()])
    tenancy_guard.take()
    if is_postgres:
        broken = catalog_reads._BY_ID_SQL.replace("s.shop_id = p.shop_id AND ", "")
        assert broken != catalog_reads._BY_ID_SQL
        monkeypatch.setattr(catalog_reads, "_BY_ID_SQL", broken)
    else:
        original = catalog_reads.join_on

        def key_only(child: Any, parent: Any, *keys: tuple[Any, Any]) -> Any:
            return sa.and_(*(left == right for left, right in keys))

        monkeypatch.setattr(catalog_reads, "join_on", key_only)
        assert catalog_reads.join_on is not original
    r = await client.get(f"/v1/products/{product['id']}", headers=p.h)
    assert r.status_code == 200, r.text
    failures = tenancy_guard.take()
    assert failures and all(f.startswith("['skus'] without") for f in failures), failures


async def test_a_cross_shop_reason_must_be_on_the_allow_list(
    container: Container, tenancy_guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenancy_guard.take()

    async def listed(self: SqlProductRepository, product_id: str) -> Product | None:
        stmt = sa.select(Product).where(tables.products.c.id == product_id)
        return (await self.s.execute(cross_shop(stmt, "just_because"))).scalar_one_or_none()

    monkeypatch.setattr(SqlProductRepository, "get_any", listed)
    async with container.uow() as uow:
        assert await uow.products.get_any("prod_none") is None
    assert tenancy_guard.take() == ["cross_shop reason not on the allow-list: just_because"]
