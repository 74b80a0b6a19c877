"""Products (SPU) and their SKUs: the catalogue a provider runs for a shop.

Lifecycle: draft → in_review → approved → listed ⇄ delisted; rejected (editable, resubmit);
banned (by the platform, never listed again). Prices are integer fen; stock never negative.

A product that has been approved keeps selling while an edit of its reviewed content waits
for review: the edit is a *pending revision* (`pending_changes`, reviewed on its own), and
approval swaps it into the live fields in one step.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.catalog.brands import NO_BRAND
from app.domain.catalog.errors import (
    NoPendingRevision,
)
from app.domain.clock import utcnow
from app.domain.errors import InvalidTransition
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


class RevisionStatus(StrEnum):
    """Where a pending revision of a live product is in review."""

    IN_REVIEW = "in_review"
    REJECTED = "rejected"


#: Fields whose change needs review: on a live product they wait in a pending revision.
REVIEWED_FIELDS = (
    "title",
    "subtitle",
    "description",
    "images",
    "category_id",
    "brand_id",
    "brand",
    "attributes",
    "condition",
    "regions",
)


class Condition(StrEnum):
    """New goods, or second-hand (only where the category and shop type allow)."""

    NEW = "new"
    SECOND_HAND = "second_hand"


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


#: A product as providers read it: its stored values by name and its SKUs under `skus` (each a
#: dict of `SKU_RECORD_FIELDS`). Read models return these for the hot reads, where loading
#: entities would only be undone again by serialisation.
ProductRecord = dict[str, Any]

PRODUCT_RECORD_FIELDS = (
    "id",
    "shop_id",
    "title",
    "subtitle",
    "description",
    "images",
    "category_id",
    "brand_id",
    "brand",
    "attributes",
    "condition",
    "regions",
    "out_product_id",
    "freight_template_id",
    "status",
    "rejection_reason",
    "ban_reason",
    "submitted_at",
    "reviewed_at",
    "listed_at",
    "created_at",
    "updated_at",
    "version",
    "pending_changes",
    "pending_status",
    "pending_rejection_reason",
)
SKU_RECORD_FIELDS = (
    "id",
    "product_id",
    "shop_id",
    "sale_attrs",
    "price",
    "market_price",
    "stock",
    "out_sku_id",
    "barcode",
    "weight_g",
    "low_stock_threshold",
    "updated_at",
    "version",
)


def record_pending_view(record: ProductRecord) -> dict[str, Any]:
    """`Product.pending_view` of a record: the reviewed fields once the revision is approved."""
    live = {name: record[name] for name in REVIEWED_FIELDS}
    return {**live, **(record["pending_changes"] or {})}


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
    #: The brand's id in the catalogue (`brand_none`: no brand) and its name when chosen.
    brand_id: str = NO_BRAND
    brand: str | None = None
    attributes: list[dict[str, str]] = field(default_factory=list)
    condition: Condition = Condition.NEW
    regions: list[str] = field(default_factory=list)
    out_product_id: str | None = None
    #: The freight template its orders pay (None: the shop's default template, else the
    #: shop's flat freight). Not reviewed: a change applies at once.
    freight_template_id: str | None = None
    status: ProductStatus = ProductStatus.DRAFT
    rejection_reason: str | None = None
    ban_reason: str | None = None
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None
    listed_at: datetime | None = None
    ever_listed: bool = False
    pending_changes: dict[str, Any] | None = None
    pending_status: RevisionStatus | None = None
    pending_rejection_reason: str | None = None
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
        self._clear_revision()
        self.updated_at = utcnow()

    # -- pending revisions of a live product ------------------------------------------------

    @property
    def revises_in_place(self) -> bool:
        """Reviewed edits wait in a revision: the product is on sale, or already has one."""
        return self.status is ProductStatus.LISTED or self.pending_changes is not None

    def propose(self, changes: dict[str, Any]) -> list[str]:
        """Merge reviewed-field `changes` into the pending revision and send it to review.

        A change back to the live value drops out; when nothing differs from live any more
        the revision is gone. Returns the fields the revision now changes.
        """
        if self.status not in (ProductStatus.LISTED, ProductStatus.DELISTED):
            raise InvalidTransition("revise the product", self.status)
        merged = {**(self.pending_changes or {}), **changes}
        merged = {k: v for k, v in merged.items() if getattr(self, k) != v}
        if not merged:
            self._clear_revision()
        else:
            self.pending_changes = merged
            self.pending_status = RevisionStatus.IN_REVIEW
            self.pending_rejection_reason = None
            self.submitted_at = utcnow()
        self.updated_at = utcnow()
        return sorted(merged)

    def approve_revision(self) -> list[str]:
        """Swap the pending revision into the live fields; returns the fields changed."""
        if self.pending_status is not RevisionStatus.IN_REVIEW or not self.pending_changes:
            raise InvalidTransition("approve a revision", self.status)
        changed = sorted(self.pending_changes)
        for name, value in self.pending_changes.items():
            setattr(self, name, Condition(value) if name == "condition" else value)
        self._clear_revision()
        self.updated_at = self.reviewed_at = utcnow()
        return changed

    def reject_revision(self, reason: str) -> None:
        if self.pending_status is not RevisionStatus.IN_REVIEW:
            raise InvalidTransition("reject a revision", self.status)
        self.pending_status = RevisionStatus.REJECTED
        self.pending_rejection_reason = reason
        self.updated_at = self.reviewed_at = utcnow()

    def discard_revision(self) -> None:
        if self.pending_changes is None:
            raise NoPendingRevision(f"Product {self.id} has no pending revision.")
        self._clear_revision()
        self.updated_at = utcnow()

    def _clear_revision(self) -> None:
        self.pending_changes = None
        self.pending_status = None
        self.pending_rejection_reason = None

    def pending_view(self) -> dict[str, Any]:
        """The reviewed fields as they will read once the pending revision is approved."""
        live = {name: getattr(self, name) for name in REVIEWED_FIELDS}
        return {**live, **(self.pending_changes or {})}

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
    #: `product.stock_low` fires when a change takes the stock from above this to at or
    #: below it; None (the default) means no alert.
    low_stock_threshold: int | None = None
    attrs_key: str = ""
    id: str = field(default_factory=lambda: new_id("sku"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    def __post_init__(self) -> None:
        self.attrs_key = attrs_key(self.sale_attrs)


@dataclass(frozen=True)
class StockRow:
    """A SKU's stock as read under its row lock."""

    sku_id: str
    product_id: str
    stock: int
    low_stock_threshold: int | None


@dataclass(frozen=True)
class Shortage:
    """Why a reservation took nothing: the first SKU (by id) the shop lacks or is short of."""

    sku_id: str
    #: Units in stock; None when the shop has no such SKU.
    available: int | None


@dataclass(frozen=True)
class StockChange:
    """A SKU's stock on both sides of one change, as the conditional UPDATE saw them under
    its row lock: concurrent changes each see their own exact before and after."""

    sku_id: str
    product_id: str
    before: int
    after: int
    #: The threshold when the change was made.
    low_stock_threshold: int | None

    @property
    def fell_to_low_stock(self) -> bool:
        """From above the threshold to at or below it: the one moment to raise the alert."""
        t = self.low_stock_threshold
        return t is not None and self.before > t >= self.after


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
