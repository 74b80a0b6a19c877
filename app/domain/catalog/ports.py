"""The catalogue's ports: qualifications, products and SKUs, their stock, bulk jobs, and the
provider's hot product reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from app.domain.catalog.bulk_jobs import BulkJob, JobItem, JobKind, StoredFile
from app.domain.catalog.products import (
    Product,
    ProductFilter,
    ProductRecord,
    Shortage,
    Sku,
    StockChange,
    StockRow,
)
from app.domain.catalog.qualifications import IndustryQualification, QualificationStatus
from app.domain.events.ports import OutboxRepository
from app.domain.pagination import Page, PageRequest
from app.domain.shops.ports import ShopsUnitOfWork

#: What a reservation's outcome is handed to: what it took, or why it took nothing.
Settle = Callable[[list[StockChange] | Shortage], Awaitable[None]]


class QualificationRepository(Protocol):
    def add(self, qualification: IndustryQualification) -> None: ...
    async def get(self, shop_id: str, qualification_id: str) -> IndustryQualification | None: ...
    async def get_any(self, qualification_id: str) -> IndustryQualification | None:
        """For the platform operator, who reviews every shop's qualifications."""

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, *, status: QualificationStatus | None
    ) -> Page[IndustryQualification]: ...
    async def approved_kinds(self, shop_id: str) -> frozenset[str]: ...
    async def authorized_brands(self, shop_id: str) -> frozenset[str]: ...
    async def in_review(self, page: PageRequest) -> Page[IndustryQualification]: ...


class ProductRepository(Protocol):
    """Products and SKUs; every provider read is scoped by the shop id."""

    def add(self, product: Product) -> None: ...
    def add_sku(self, sku: Sku) -> None: ...
    async def get(self, shop_id: str, product_id: str) -> Product | None: ...
    async def get_any(self, product_id: str) -> Product | None: ...
    async def get_by_out_id(self, shop_id: str, out_product_id: str) -> Product | None: ...
    async def list_for_shop(
        self, shop_id: str, page: PageRequest, f: ProductFilter
    ) -> Page[Product]: ...
    async def in_review(self, page: PageRequest) -> Page[Product]: ...
    async def skus_of(self, shop_id: str, product_ids: list[str]) -> dict[str, list[Sku]]: ...
    async def get_sku(self, shop_id: str, product_id: str, sku_id: str) -> Sku | None: ...
    async def find_sku(
        self, shop_id: str, *, sku_id: str | None = None, out_sku_id: str | None = None
    ) -> Sku | None:
        """A SKU of the shop by our id or the provider's, whatever its product."""

    async def has_stock(self, shop_id: str, product_id: str) -> bool: ...
    async def delete(self, product: Product) -> None: ...


class StockRepository(Protocol):
    """The only writer of an existing SKU's stock: conditional UPDATEs scoped by the shop,
    each returning the exact stock before and after. Use it through
    `app.domain.catalog.stock`, which adds the audit entries and `product.stock_low`."""

    async def lock(self, shop_id: str, sku_ids: Iterable[str]) -> dict[str, StockRow]:
        """The shop's SKUs among `sku_ids`, locked for this transaction in id order."""

    async def adjust(self, shop_id: str, sku_id: str, delta: int) -> StockChange | None:
        """None when the SKU is not the shop's or the result would be negative."""

    async def set(self, shop_id: str, sku_id: str, value: int) -> StockChange | None:
        """None when the SKU is not the shop's."""

    async def set_many(self, shop_id: str, values: Mapping[str, int]) -> list[StockChange]:
        """The SKUs that are the shop's, set, in id order."""

    async def reserve(
        self, shop_id: str, lines: Mapping[str, int], settle: Settle, *, at_once: bool = True
    ) -> None:
        """Take every line's units, or none; `settle` gets what was taken (in id order) or
        the first SKU (by id) that fell short: at once, or (`at_once=False`, where the
        reservation can go with the unit of work's next writes: PostgreSQL) once it is
        sent with them, at the latest at the commit, which `settle` refuses by raising."""

    async def release(self, shop_id: str, lines: Mapping[str, int]) -> list[StockChange]:
        """Give every line's units back (SKUs no longer there are left out)."""


class BulkRepository(Protocol):
    """Bulk jobs with their files and line outcomes, and the set-based catalogue writes an
    import makes (a few statements per chunk). Provider reads are scoped by the shop id."""

    def add(self, job: BulkJob) -> None: ...
    async def get(self, shop_id: str, job_id: str) -> BulkJob | None: ...
    async def list_for_shop(
        self, shop_id: str, page: PageRequest, kind: JobKind | None
    ) -> Page[BulkJob]: ...
    async def claim(
        self, worker_id: str, now: datetime, stale_before: datetime, *, job_id: str | None
    ) -> BulkJob | None:
        """Atomically take a queued job, or a running one whose heartbeat is older than
        `stale_before`; None when there is none (or another worker won the race)."""

    async def lock_for_worker(self, job_id: str, worker_id: str) -> BulkJob | None:
        """The job, locked for this transaction, if `worker_id` still holds it."""

    async def save_progress(self, job: BulkJob) -> None: ...
    async def pending(self, shop_id: str) -> tuple[int, int]:
        """The shop's jobs queued or running and the bytes of their stored files, with the
        shop locked for this transaction (one job is queued at a time per shop)."""

    async def put_file(
        self,
        shop_id: str,
        job_id: str,
        purpose: str,
        content_type: str,
        size: int,
        parts: Iterable[bytes],
    ) -> None:
        """Store a file part by part, reading `parts` as it goes."""

    async def get_file(self, shop_id: str, job_id: str, purpose: str) -> StoredFile | None: ...
    async def add_items(self, items: list[JobItem]) -> None: ...
    async def items(self, shop_id: str, job_id: str, *, failed_only: bool) -> list[JobItem]: ...
    async def items_of(self, shop_id: str, job_ids: list[str]) -> dict[str, list[JobItem]]:
        """Every line of each job, in line order, in one read (a page of jobs)."""

    async def products_by_out_ids(self, shop_id: str, out_ids: list[str]) -> dict[str, Product]:
        """The shop's products by `out_product_id`, or by id for products without one (an
        export names those by their id)."""

    async def sku_owners(self, shop_id: str, out_sku_ids: list[str]) -> dict[str, str]:
        """out_sku_id → the product holding it, for the given ids that exist."""

    async def insert_catalog(
        self, products: list[dict[str, Any]], skus: list[dict[str, Any]]
    ) -> None:
        """New products and SKUs as plain values (`products.new_values`)."""

    async def update_skus(self, shop_id: str, updates: list[dict[str, Any]], now: datetime) -> None:
        """Each dict holds `id`, `version_step` (what to add to the version) and the same
        updatable columns, never `stock` (that is `StockRepository`'s)."""

    async def touch_products(self, shop_id: str, product_ids: list[str], now: datetime) -> None: ...
    async def export_page(
        self, shop_id: str, after_id: str | None, limit: int
    ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]: ...
    async def count_skus(self, shop_id: str) -> int: ...


class ProductReadModel(Protocol):
    """The hot product reads as records (no entities); scoped by the shop."""

    async def get(self, shop_id: str, product_id: str) -> ProductRecord | None: ...
    async def get_by_out_id(self, shop_id: str, out_product_id: str) -> ProductRecord | None: ...
    async def list_for_shop(
        self, shop_id: str, page: PageRequest, f: ProductFilter
    ) -> Page[ProductRecord]: ...
    async def list_listed(self, shop_id: str, page: PageRequest) -> Page[ProductRecord]:
        """The shop's listed products, the latest listed first."""
        ...


class FreightTemplateIds(Protocol):
    """What the catalogue asks of the shop's freight templates (the order context's)."""

    async def existing(self, shop_id: str, template_ids: Collection[str]) -> set[str]:
        """Those of `template_ids` that are the shop's templates."""
        ...


class CatalogUnitOfWork(ShopsUnitOfWork, Protocol):
    """A shop's catalogue: its use cases check the shop and emit events."""

    @property
    def freight_templates(self) -> FreightTemplateIds: ...

    @property
    def qualifications(self) -> QualificationRepository: ...
    @property
    def products(self) -> ProductRepository: ...
    @property
    def stock(self) -> StockRepository: ...
    @property
    def bulk(self) -> BulkRepository: ...
    @property
    def product_reads(self) -> ProductReadModel: ...
    @property
    def outbox(self) -> OutboxRepository: ...
