"""docs/scaling.md stays true to the code: every table is placed, the distributed ones are
exactly the tenant tables, and every other table carrying shop_id is named with a reason."""

from __future__ import annotations

import re
from pathlib import Path

from app.infra.db import tables
from app.infra.db.tenancy import TENANT_TABLES

DOC = Path(__file__).parent.parent / "docs" / "scaling.md"


def _sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)$", DOC.read_text(), flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def _listed(body: str) -> list[str]:
    """The table each bullet of a section names first."""
    return re.findall(r"^- `(\w+)`", body, flags=re.M)


def test_every_table_is_placed_once() -> None:
    s = _sections()
    placed = [
        name
        for title in (
            "Distributed by shop_id",
            "Reference tables",
            "Coordinator (local) tables",
            "Carry shop_id, not distributed by it",
        )
        for name in _listed(s[title])
    ]
    assert sorted(placed) == sorted(tables.metadata.tables)


def test_the_distributed_tables_are_the_tenant_tables() -> None:
    distributed = set(_listed(_sections()["Distributed by shop_id"]))
    assert distributed == {t.name for t in TENANT_TABLES} | {"shops"}


def test_every_other_table_with_shop_id_is_named_with_its_reason() -> None:
    body = _sections()["Carry shop_id, not distributed by it"]
    carrying = {
        t.name
        for t in tables.metadata.tables.values()
        if "shop_id" in t.c and t not in TENANT_TABLES
    }
    assert set(_listed(body)) == carrying
    for name in carrying:
        reason = re.search(rf"^- `{name}` — (.+)$", body, flags=re.M)
        assert reason and len(reason[1]) > 20, name


def test_the_cross_shop_reasons_are_documented() -> None:
    from tests.tenancy_guard import ALLOWED_CROSS_SHOP

    body = _sections()["Which queries route to one shard"]
    assert set(re.findall(r"^- `(\w+)` — ", body, flags=re.M)) == set(ALLOWED_CROSS_SHOP)
