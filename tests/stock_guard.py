"""What the stock guard looks for: a statement that writes the `stock` column of an existing
SKU without the stock path's tag (`app.infra.db.repositories.stock`, reached through
`app.domain.catalog.stock`). Checked for every statement of the whole suite by
tests/conftest.py, and in depth, flow by flow, by tests/test_stock_guard.py."""

from __future__ import annotations

import re

from app.infra.db.repositories.stock import STOCK_PATH_TAG

UPDATE_SKUS = re.compile(
    r"\bUPDATE\s+(?P<prefix>(?:/\*.*?\*/\s*)*)\"?skus\"?(?:\s+(?:AS\s+)?(?!SET\b)\w+)?\s+SET\s+"
    r"(?P<set>.*?)"
    r"(?=\s+FROM\s|\s+WHERE\s|\s+RETURNING\s|$)",
    re.I | re.S,
)
INSERT_SKUS = re.compile(r"\bINSERT\s+INTO\s+\"?skus\"?[\s(]", re.I)
_ON_CONFLICT_SET = re.compile(r"\bON\s+CONFLICT\b.*?\bDO\s+UPDATE\s+SET\s+(?P<set>.*)", re.I | re.S)
_NAMES_STOCK = re.compile(r"(?<![\w.])\"?stock\"?\s*=", re.I)


def stock_writes(sql: str) -> list[str]:
    """How `sql` writes the stock of existing SKUs: "tagged" for the stock path's own
    UPDATEs, "untagged" for any other; nothing for statements that do not."""
    found = []
    for m in UPDATE_SKUS.finditer(sql):
        if _NAMES_STOCK.search(m["set"]):
            found.append("tagged" if STOCK_PATH_TAG in m["prefix"] else "untagged")
    if INSERT_SKUS.search(sql):
        conflict = _ON_CONFLICT_SET.search(sql)
        if conflict and _NAMES_STOCK.search(conflict["set"]):
            found.append("untagged")
    return found
