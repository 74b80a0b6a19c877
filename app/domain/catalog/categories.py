"""The category tree, shipped as data (`data/categories.json`), and what a shop may use.

Three levels; only leaves take products. Each leaf names the shop types it is open to, the
qualifications a shop must hold to list in it, and the conditions (new, second-hand) allowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from app.domain.catalog.errors import CategoryNotFound


@dataclass(frozen=True)
class QualificationKind:
    code: str
    name: str
    description: str


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    name_zh: str
    level: int
    parent_id: str | None
    shop_types: frozenset[str] = frozenset()
    qualifications: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    children: tuple[str, ...] = field(default=())

    @property
    def is_leaf(self) -> bool:
        return not self.children


@dataclass(frozen=True)
class Usability:
    usable: bool
    open_to_shop_type: bool
    missing_qualifications: tuple[str, ...]


class CategoryTree:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.qualifications = {
            q["code"]: QualificationKind(q["code"], q["name"], q["description"])
            for q in raw["qualifications"]
        }
        self.by_id: dict[str, Category] = {}
        self.roots = tuple(self._add(node, None, 1) for node in raw["categories"])
        self._leaves: dict[str, tuple[str, ...]] = {}

    def _add(self, node: dict[str, Any], parent: str | None, level: int) -> str:
        children = tuple(self._add(c, node["id"], level + 1) for c in node.get("children", []))
        self.by_id[node["id"]] = Category(
            id=node["id"],
            name=node["name"],
            name_zh=node.get("name_zh", ""),
            level=level,
            parent_id=parent,
            shop_types=frozenset(node.get("shop_types", ())),
            qualifications=tuple(node.get("qualifications", ())),
            conditions=tuple(node.get("conditions", ())),
            children=children,
        )
        return str(node["id"])

    def get(self, category_id: str) -> Category | None:
        return self.by_id.get(category_id)

    def require(self, category_id: str) -> Category:
        category = self.by_id.get(category_id)
        if category is None:
            raise CategoryNotFound(f"No category {category_id}.")
        return category

    def leaves_under(self, category_id: str) -> tuple[str, ...]:
        if category_id not in self._leaves:
            node = self.by_id[category_id]
            if node.is_leaf:
                out: tuple[str, ...] = (node.id,)
            else:
                out = tuple(leaf for c in node.children for leaf in self.leaves_under(c))
            self._leaves[category_id] = out
        return self._leaves[category_id]

    def usability(self, category_id: str, shop_type: str, held: frozenset[str]) -> Usability:
        """A leaf is usable when it is open to the shop's type and every qualification it
        requires is held (approved). A branch is usable when one of its leaves is."""
        node = self.by_id[category_id]
        if not node.is_leaf:
            parts = [self.usability(leaf, shop_type, held) for leaf in self.leaves_under(node.id)]
            return Usability(
                usable=any(p.usable for p in parts),
                open_to_shop_type=any(p.open_to_shop_type for p in parts),
                missing_qualifications=(),
            )
        missing = tuple(q for q in node.qualifications if q not in held)
        open_ = shop_type in node.shop_types
        return Usability(
            usable=open_ and not missing, open_to_shop_type=open_, missing_qualifications=missing
        )


@lru_cache(maxsize=1)
def category_tree() -> CategoryTree:
    text = resources.files("app.domain.catalog").joinpath("data/categories.json").read_text("utf-8")
    return CategoryTree(json.loads(text))
