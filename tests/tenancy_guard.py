"""The tenancy guard: every statement on a tenant table names its shop.

Installed for the whole suite (tests/conftest.py) on the engine (`before_cursor_execute`,
ORM flushes included) and on the driver reads that bypass SQLAlchemy (`DriverReader`). A
statement fails the test that sent it when a tenant table (`app.infra.db.tenancy.
TENANT_TABLES`) appears in a SELECT, UPDATE or DELETE whose WHERE clause (or join condition)
does not constrain that table's `shop_id` to a value — directly (`shop_id = :shop`,
`shop_id IN (...)`), or through a join on `shop_id` with a source that is so constrained.
INSERTs write the `shop_id` they are given and are not checked.

Statements that span shops on purpose carry a reason (`tenancy.cross_shop`); only the
reasons below are accepted. Statements the tests send themselves to look at the database
behind the API (no frame of `app/` on their stack) are not the application's and are left
alone.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import greenlet
import sqlglot
from sqlglot import exp

import app
from app.infra.db.tenancy import TENANT_TABLES

_TENANT = frozenset(t.name for t in TENANT_TABLES)
_APP = str(Path(app.__file__).parent) + "/"

#: The statements that legitimately span shops, by the reason they are marked with.
ALLOWED_CROSS_SHOP: dict[str, str] = {
    # The platform operator reviews submissions from every shop: a queue over all shops,
    # and the one product or qualification picked from it by id.
    "operator_review": "the operator's review queues and decisions",
    # Workers serve every shop: they claim the next queued or stale bulk job wherever it is
    # (round robin between shops), then load the claimed job by id.
    "worker_claim": "the bulk worker's claim and the claimed job",
    # An account's own shops, found through its memberships (the dashboard's shop list and
    # the per-account owned-shop limit): the account, not a shop, is the scope.
    "account_shops": "an account's memberships across its shops",
    # A buyer's own orders: a buyer account orders from many shops, and names an order by
    # its id alone (`/v1/storefront/orders/{order_id}`); the buyer, not a shop, is the scope.
    "buyer_orders": "a buyer's own orders across shops",
    "buyer_aftersales": "a buyer's own after-sales across shops",
    # Housekeeping deletes the files of label batches whose time is up, in every shop.
    "expired_files": "housekeeping's deletion of expired label batch files",
}


@dataclass
class Violation:
    sql: str
    tables: list[str]


@dataclass
class Guard:
    violations: list[Violation] = field(default_factory=list)
    unknown_reasons: list[str] = field(default_factory=list)
    checked: int = 0

    def check(self, sql: str, dialect: str, reason: str | None = None) -> None:
        if reason is not None:
            if reason not in ALLOWED_CROSS_SHOP:
                self.unknown_reasons.append(reason)
            return
        if not _mentions_tenant(sql) or not issued_by_app():
            return
        self.checked += 1
        unscoped = unscoped_tenant_tables(sql, dialect)
        if unscoped:
            self.violations.append(Violation(" ".join(sql.split()), unscoped))

    def take(self) -> list[str]:
        """The failures since the last call, as messages; clears them."""
        out = [f"{v.tables} without a shop_id predicate: {v.sql}" for v in self.violations]
        out += [f"cross_shop reason not on the allow-list: {r}" for r in self.unknown_reasons]
        self.violations.clear()
        self.unknown_reasons.clear()
        return out


def issued_by_app() -> bool:
    """Whether code of `app/` is on the stack. SQLAlchemy's async layer runs the statement
    in a greenlet of its own: the awaiting coroutines are on the parent greenlets' stacks."""
    frame: Any = sys._getframe(1)
    glet: Any = greenlet.getcurrent()
    while True:
        while frame is not None:
            if frame.f_code.co_filename.startswith(_APP):
                return True
            frame = frame.f_back
        glet = glet.parent
        if glet is None:
            return False
        frame = glet.gr_frame


def _mentions_tenant(sql: str) -> bool:
    lowered = sql.lower()
    return any(name in lowered for name in _TENANT)


def unscoped_tenant_tables(sql: str, dialect: str = "postgres") -> list[str]:
    """The tenant tables `sql` reads, changes or deletes without a shop predicate."""
    return list(_unscoped(sql, dialect))


@functools.lru_cache(maxsize=16384)
def _unscoped(sql: str, dialect: str) -> tuple[str, ...]:
    """Parsed once per text: the application sends the same few hundred statements over and
    over (SQLAlchemy's compiled cache), and parsing each with sqlglot was a sixth of the CPU of
    the in-process tests."""
    out: list[str] = []
    for statement in sqlglot.parse(sql, read=dialect):
        if statement is None:
            continue
        ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
        for node in statement.find_all(exp.Select, exp.Update, exp.Delete):
            out += _unscoped_in(node, ctes)
    return tuple(out)


def _own_sources(node: exp.Expression) -> dict[str, exp.Expression]:
    """Alias → source for the FROM, JOIN and target tables of this query (not of its
    subqueries)."""
    sources: dict[str, exp.Expression] = {}
    candidates: list[exp.Expression] = []
    if isinstance(node, exp.Update | exp.Delete) and node.this is not None:
        candidates.append(node.this)
    from_ = node.args.get("from") or node.args.get("from_")
    if from_ is not None:
        candidates.append(from_.this)
        candidates += [e for e in from_.expressions or []]
    for join in node.args.get("joins") or []:
        candidates.append(join.this)
    for c in candidates:
        if isinstance(c, exp.Expression):
            sources[c.alias_or_name] = c
    return sources


def _conjuncts(condition: exp.Expression | None) -> Iterator[exp.Expression]:
    if condition is None:
        return
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.left)
        yield from _conjuncts(condition.right)
    else:
        yield condition


def _shop_column(e: exp.Expression, single: str | None) -> str | None:
    """The source alias whose `shop_id` `e` is, if it is one."""
    while isinstance(e, exp.Cast | exp.Paren):
        e = e.this
    if isinstance(e, exp.Column) and e.name.lower() == "shop_id":
        return e.table or single
    return None


def _is_value(e: exp.Expression) -> bool:
    """A bound parameter, a literal, or a subquery: not a column of this query."""
    while isinstance(e, exp.Cast | exp.Paren):
        e = e.this
    return not list(e.find_all(exp.Column)) or isinstance(e, exp.Subquery | exp.Select)


def _unscoped_in(node: exp.Expression, ctes: set[str]) -> list[str]:
    sources = _own_sources(node)
    tenants = {
        alias: src.name
        for alias, src in sources.items()
        if isinstance(src, exp.Table) and src.name.lower() in _TENANT
    }
    if not tenants:
        return []
    single = next(iter(sources)) if len(sources) == 1 else None
    conditions: list[exp.Expression] = []
    where = node.args.get("where")
    if where is not None:
        conditions += _conjuncts(where.this)
    for join in node.args.get("joins") or []:
        conditions += _conjuncts(join.args.get("on"))
    # A subquery or CTE is checked as its own query.
    scoped: set[str] = {
        alias
        for alias, src in sources.items()
        if not isinstance(src, exp.Table) or (src.name in ctes and not src.db)
    }
    links: list[tuple[str, str]] = []
    for c in conditions:
        if isinstance(c, exp.EQ):
            left, right = _shop_column(c.left, single), _shop_column(c.right, single)
            if left and right:
                links.append((left, right))
            elif left and _is_value(c.right):
                scoped.add(left)
            elif right and _is_value(c.left):
                scoped.add(right)
        elif isinstance(c, exp.In):
            col = _shop_column(c.this, single)
            if col:
                scoped.add(col)
    changed = True
    while changed:
        changed = False
        for a, b in links:
            if (a in scoped) != (b in scoped):
                scoped |= {a, b}
                changed = True
    return sorted(name for alias, name in tenants.items() if alias not in scoped)


def dialect_of(conn: Any) -> str:
    return "postgres" if conn.dialect.name == "postgresql" else "sqlite"
