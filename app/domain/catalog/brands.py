"""The brand catalogue, shipped as data (`data/brands.json`), bound to categories.

A brand may be used in every leaf under the categories it is bound to. `brand_none` ("no
brand", 无品牌) fits every category and needs nothing; every other brand needs an approved
`brand_authorization` qualification for that brand (the owner's trademark certificate, or a
reseller's authorization chain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from app.domain.catalog.categories import CategoryTree, category_tree
from app.domain.catalog.errors import BrandNotFound

NO_BRAND = "brand_none"
BRAND_AUTHORIZATION = "brand_authorization"
_EVERYWHERE = "*"


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    name_zh: str
    categories: tuple[str, ...]
    authorization_required: bool


class BrandCatalogue:
    def __init__(self, raw: dict[str, Any], tree: CategoryTree) -> None:
        self.tree = tree
        self.brands = tuple(
            Brand(
                id=b["id"],
                name=b["name"],
                name_zh=b.get("name_zh", ""),
                categories=tuple(b["categories"]),
                authorization_required=bool(b["authorization_required"]),
            )
            for b in raw["brands"]
        )
        self.by_id = {b.id: b for b in self.brands}
        self._leaves = {
            b.id: frozenset(
                leaf for c in b.categories if c != _EVERYWHERE for leaf in tree.leaves_under(c)
            )
            for b in self.brands
        }

    def get(self, brand_id: str) -> Brand | None:
        return self.by_id.get(brand_id)

    def require(self, brand_id: str) -> Brand:
        brand = self.by_id.get(brand_id)
        if brand is None:
            raise BrandNotFound(f"No brand {brand_id}.")
        return brand

    def fits(self, brand: Brand, category_id: str) -> bool:
        """The brand may be used in the category (for a branch: in one of its leaves)."""
        if _EVERYWHERE in brand.categories:
            return True
        return not self._leaves[brand.id].isdisjoint(self.tree.leaves_under(category_id))

    def search(self, *, category_id: str | None = None, query: str | None = None) -> list[Brand]:
        found = list(self.brands)
        if category_id is not None:
            found = [b for b in found if self.fits(b, category_id)]
        if query:
            q = query.casefold()
            found = [b for b in found if q in b.name.casefold() or q in b.name_zh]
        return found

    def named(self, name: str) -> Brand | None:
        """The brand with this name, English or Chinese, ignoring case (not `brand_none`)."""
        wanted = name.strip().casefold()
        for b in self.brands:
            if b.id != NO_BRAND and wanted in (b.name.casefold(), b.name_zh.casefold()):
                return b
        return None

    @staticmethod
    def authorized(brand: Brand, authorized_brands: frozenset[str]) -> bool:
        return not brand.authorization_required or brand.id in authorized_brands


@lru_cache(maxsize=1)
def brand_catalogue() -> BrandCatalogue:
    text = resources.files("app.domain.catalog").joinpath("data/brands.json").read_text("utf-8")
    return BrandCatalogue(json.loads(text), category_tree())
