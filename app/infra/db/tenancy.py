"""Tenancy in one place: every statement on a tenant table starts here, scoped by a shop.

A tenant table holds one shop's rows and carries `shop_id`, its distribution column on
Citus (docs/scaling.md). `select`, `update` and `delete` start a statement with
`shop_id = :shop` already in its WHERE clause; `join_on` joins two tenant tables on their
shared shop as well as their key, so a join never leaves the shop (nor the shard). A
statement that must span shops (the operator's review queues, the worker's claims) is built
as usual and marked with `cross_shop(stmt, reason)`: the reason names it for the tenancy
guard of the test suite (tests/tenancy_guard.py), which fails every other statement on a
tenant table without a `shop_id` predicate, and keeps an allow-list of the reasons.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.base import Executable

from app.infra.db import tables

#: The tables whose every row belongs to one shop, distributed by `shop_id`.
TENANT_TABLES: tuple[sa.Table, ...] = (
    tables.shop_qualifications,
    tables.shop_members,
    tables.industry_qualifications,
    tables.products,
    tables.skus,
    tables.bulk_jobs,
    tables.bulk_job_files,
    tables.bulk_job_file_parts,
    tables.bulk_job_items,
    tables.orders,
    tables.order_lines,
    tables.shipments,
    tables.cart_lines,
    tables.payments,
    tables.payment_notifications,
    tables.sandbox_charges,
    tables.aftersales,
    tables.aftersale_settings,
    tables.ledger_entries,
    tables.refunds,
    tables.sandbox_refunds,
    tables.sandbox_payouts,
    tables.insurance_policies,
    tables.insurance_claims,
    tables.logistics_accounts,
    tables.sender_addresses,
    tables.sandbox_waybills,
    tables.waybills,
    tables.waybill_tracking_events,
    tables.freight_templates,
    tables.pickup_points,
    tables.pickup_code_throttles,
)

#: The execution option that carries a cross-shop statement's reason.
CROSS_SHOP = "cross_shop"

E = TypeVar("E", bound=Executable)


def _shop(table: sa.Table) -> sa.ColumnElement[Any]:
    if table not in TENANT_TABLES:
        raise ValueError(f"{table.name} is not a tenant table")
    return table.c.shop_id


def select(table: sa.Table, shop_id: str, *columns: Any) -> sa.Select[*tuple[Any, ...]]:
    """`SELECT <columns, or the mapped entity / the whole row> FROM table WHERE shop_id = :shop`."""
    return sa.select(*(columns or (table,))).where(_shop(table) == shop_id)


def update(table: sa.Table, shop_id: str) -> sa.Update:
    return sa.update(table).where(_shop(table) == shop_id)


def delete(table: sa.Table, shop_id: str) -> sa.Delete:
    return sa.delete(table).where(_shop(table) == shop_id)


def join_on(child: Any, parent: Any, *keys: tuple[Any, Any]) -> sa.ColumnElement[bool]:
    """`child.shop_id = parent.shop_id AND child.k = parent.k ...` for two tenant sources
    (tables, aliases or subqueries)."""
    return sa.and_(child.c.shop_id == parent.c.shop_id, *(left == right for left, right in keys))


def cross_shop(stmt: E, reason: str) -> E:
    """Mark a statement that spans shops on purpose; `reason` must be on the guard's list."""
    return stmt.execution_options(**{CROSS_SHOP: reason})
