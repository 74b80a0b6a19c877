"""Products (SPU) and their SKUs: the catalogue a provider runs for a shop.

Lifecycle: draft → in_review → approved → listed ⇄ delisted; rejected (editable, resubmit);
banned (by the platform, never listed again). Prices are integer fen; stock never negative.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.clock import utcnow
from app.domain.errors import Conflict, InvalidTransition, NotFound
from app.domain.ids import new_id


class ProductStatus(StrEnum):
    """Where a product is in its review and sale lifecycle."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    LISTED = "listed"
    DELISTED = "delisted"
    REJECTED = "rejected"
    BANNED = "banned"


class Condition(StrEnum):
    """New goods, or second-hand (only where the category and shop type allow)."""

    NEW = "new"
    SECOND_HAND = "second_hand"


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"


class SkuNotFound(NotFound):
    code = "sku_not_found"
    title = "SKU not found"


class OutOfStock(Conflict):
    code = "insufficient_stock"
    title = "Not enough stock"


class NotListable(Conflict):
    code = "not_listable"
    title = "The product cannot be listed yet"


#: GB/T 2260 province-level codes (the first two digits of a division code).
REGION_CODES: frozenset[str] = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


@dataclass(frozen=True)
class ProductFilter:
    """The filters of the provider's product list (each optional)."""

    status: ProductStatus | None = None
    category_id: str | None = None
    #: The leaves `category_id` stands for (itself when it is a leaf), filled by the service.
    category_ids: tuple[str, ...] | None = None
    updated_since: datetime | None = None
    out_product_id: str | None = None
    query: str | None = None


def attrs_key(sale_attrs: dict[str, str]) -> str:
    """Canonical form of a SKU's sale attributes: one SKU per combination."""
    return json.dumps(sorted(sale_attrs.items()), ensure_ascii=False, separators=(",", ":"))


@dataclass(eq=False)
class Product:
    shop_id: str
    title: str
    category_id: str
    subtitle: str = ""
    description: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    brand: str | None = None
    attributes: list[dict[str, str]] = field(default_factory=list)
    condition: Condition = Condition.NEW
    regions: list[str] = field(default_factory=list)
    out_product_id: str | None = None
    status: ProductStatus = ProductStatus.DRAFT
    rejection_reason: str | None = None
    ban_reason: str | None = None
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None
    listed_at: datetime | None = None
    ever_listed: bool = False
    id: str = field(default_factory=lambda: new_id("prod"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    def _move(self, action: str, allowed: tuple[ProductStatus, ...], to: ProductStatus) -> None:
        if self.status not in allowed:
            raise InvalidTransition(action, self.status)
        self.status = to
        self.updated_at = utcnow()

    def submit(self) -> None:
        self._move(
            "submit the product for review",
            (ProductStatus.DRAFT, ProductStatus.REJECTED),
            ProductStatus.IN_REVIEW,
        )
        self.submitted_at = self.updated_at
        self.rejection_reason = None

    def approve(self) -> None:
        self._move("approve the product", (ProductStatus.IN_REVIEW,), ProductStatus.APPROVED)
        self.reviewed_at = self.updated_at

    def reject(self, reason: str) -> None:
        self._move("reject the product", (ProductStatus.IN_REVIEW,), ProductStatus.REJECTED)
        self.reviewed_at = self.updated_at
        self.rejection_reason = reason

    def list_for_sale(self) -> None:
        self._move(
            "list the product",
            (ProductStatus.APPROVED, ProductStatus.DELISTED),
            ProductStatus.LISTED,
        )
        self.listed_at = self.updated_at
        self.ever_listed = True

    def delist(self) -> None:
        self._move("delist the product", (ProductStatus.LISTED,), ProductStatus.DELISTED)

    def ban(self, reason: str) -> None:
        if self.status is ProductStatus.BANNED:
            raise InvalidTransition("ban the product", self.status)
        self.status = ProductStatus.BANNED
        self.ban_reason = reason
        self.updated_at = utcnow()

    def back_to_draft(self) -> None:
        """An edit of reviewed content: an approved or delisted product is reviewed again."""
        if self.status in (ProductStatus.APPROVED, ProductStatus.DELISTED):
            self.status = ProductStatus.DRAFT
        self.updated_at = utcnow()

    def summary(self) -> dict[str, Any]:
        return {"title": self.title, "status": str(self.status), "category_id": self.category_id}


@dataclass(eq=False)
class Sku:
    shop_id: str
    product_id: str
    sale_attrs: dict[str, str]
    price: int
    stock: int = 0
    market_price: int | None = None
    out_sku_id: str | None = None
    barcode: str | None = None
    weight_g: int | None = None
    attrs_key: str = ""
    id: str = field(default_factory=lambda: new_id("sku"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    def __post_init__(self) -> None:
        self.attrs_key = attrs_key(self.sale_attrs)


def new_values(cls: type[Product] | type[Sku], **given: Any) -> dict[str, Any]:
    """The attributes a new `cls` would have, as a plain dict: for writes of thousands of
    rows at once (a bulk import), where building instrumented instances costs more than the
    insert itself. Defaults come from the class, so the two never disagree."""
    values = dict(given)
    for f in _fields(cls):
        if f.name in values:
            continue
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            values[f.name] = f.default_factory()
    if cls is Sku:
        values["attrs_key"] = attrs_key(values["sale_attrs"])
    return values


_FIELDS: dict[type, tuple[dataclasses.Field[Any], ...]] = {}


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    if cls not in _FIELDS:
        _FIELDS[cls] = dataclasses.fields(cls)
    return _FIELDS[cls]
