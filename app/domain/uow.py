"""The unit of work and repository ports every use case runs through.

A use case gets one `UnitOfWork` per request; it never commits: the edge does, once.
Every method that reads tenant data takes the shop id it is scoped to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from app.domain.accounts.model import Account, Session
from app.domain.audit.model import AuditEntry
from app.domain.authz.model import (
    App,
    AppStatus,
    AuthorizationCode,
    Grant,
    RefreshToken,
    TokenFamily,
    TokenState,
)
from app.domain.events.model import Event

if TYPE_CHECKING:
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
    from app.domain.webhooks.model import Attempt, Delivery, DeliveryStatus, WebhookEndpoint
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Member, Qualification, Shop, ShopStatus, SubjectType
from app.domain.shops.permissions import Role
from app.domain.timers.ports import Timers


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...
    async def get(self, account_id: str) -> Account | None: ...
    async def get_by_username(self, username: str) -> Account | None: ...
    async def lock(self, account_id: str) -> None:
        """Serialise concurrent changes that count an account's rows (shop limits)."""

    def add_session(self, session: Session) -> None: ...
    async def get_session(self, token_hash: str) -> Session | None: ...
    async def get_many(self, account_ids: list[str]) -> dict[str, Account]: ...


class ShopRepository(Protocol):
    def add(self, shop: Shop) -> None: ...
    async def get(self, shop_id: str) -> Shop | None: ...
    async def count_owned(self, account_id: str, subject_types: tuple[SubjectType, ...]) -> int: ...
    async def list_for_account(
        self, account_id: str, page: PageRequest
    ) -> Page[tuple[Shop, Member]]: ...
    async def list_by_status(
        self, status: ShopStatus, page: PageRequest, *, suspended: bool | None = None
    ) -> Page[Shop]: ...
    async def review_queue(self, page: PageRequest) -> Page[Shop]:
        """Shops in review, by submission time then id; `page.after` is that pair."""
        ...

    async def get_qualification(self, shop_id: str) -> Qualification | None: ...
    def add_qualification(self, qualification: Qualification) -> None: ...


class MemberRepository(Protocol):
    def add(self, member: Member) -> None: ...
    async def get(self, shop_id: str, account_id: str) -> Member | None: ...
    async def delete(self, member: Member) -> None: ...
    async def list_page(self, shop_id: str, page: PageRequest) -> Page[Member]: ...
    async def lock_owners(self, shop_id: str) -> list[Member]:
        """The shop's owners, locked, so 'the last owner stays' holds under concurrency."""
        ...


class AuditRepository(Protocol):
    def add(self, entry: AuditEntry) -> None: ...
    async def list_page(
        self,
        shop_id: str,
        page: PageRequest,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[AuditEntry]: ...


class AppRepository(Protocol):
    def add(self, app: App) -> None: ...
    async def get(self, app_id: str) -> App | None: ...
    async def get_by_client_id(self, client_id: str) -> App | None: ...
    async def list_for_developer(self, developer_id: str, page: PageRequest) -> Page[App]: ...
    async def list_all(self, page: PageRequest, *, status: AppStatus | None) -> Page[App]: ...
    async def list_published(
        self, page: PageRequest, *, service_type: str | None, query: str | None
    ) -> Page[App]: ...
    async def developer_names(self, developer_ids: list[str]) -> dict[str, str]: ...


class GrantRepository(Protocol):
    def add(self, grant: Grant) -> None: ...
    async def get(self, grant_id: str) -> Grant | None: ...
    async def get_active(self, app_id: str, shop_id: str, *, lock: bool = False) -> Grant | None:
        """The (app, shop) grant still in force; locked when the caller will change it."""

    async def list_active_for_shop(
        self, shop_id: str, page: PageRequest
    ) -> Page[tuple[Grant, App]]: ...
    async def active_for_shops(self, shop_ids: list[str]) -> list[tuple[Grant, App]]: ...
    async def touch(self, grant_id: str, when: datetime) -> None: ...


class OAuthRepository(Protocol):
    def add_code(self, code: AuthorizationCode) -> None: ...
    async def get_code(self, code_hash: str) -> AuthorizationCode | None: ...
    async def mark_code_used(self, code_hash: str, when: datetime) -> bool:
        """Atomically claim the code; False if it was already used (replay)."""

    def add_family(self, family: TokenFamily) -> None: ...
    async def get_family(self, family_id: str) -> TokenFamily | None: ...
    async def revoke_family(self, family_id: str, reason: str) -> None: ...
    async def revoke_families_of_grant(self, grant_id: str, reason: str) -> None: ...
    def add_refresh(self, token: RefreshToken) -> None: ...
    async def get_refresh(self, token_hash: str) -> RefreshToken | None: ...
    async def rotate_refresh(self, token_id: str, when: datetime) -> bool:
        """Atomically mark the token used; False if it already was (reuse)."""

    async def token_state(self, family_id: str) -> TokenState | None:
        """Family, grant and app state behind an access token, in one query."""


class QualificationRepository(Protocol):
    def add(self, qualification: IndustryQualification) -> None: ...
    async def get(self, qualification_id: str) -> IndustryQualification | None: ...
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
    async def skus_of(self, product_ids: list[str]) -> dict[str, list[Sku]]: ...
    async def get_sku(self, shop_id: str, product_id: str, sku_id: str) -> Sku | None: ...
    async def find_sku(
        self, shop_id: str, *, sku_id: str | None = None, out_sku_id: str | None = None
    ) -> Sku | None:
        """A SKU of the shop by our id or the provider's, whatever its product."""

    async def has_stock(self, product_id: str) -> bool: ...
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

    async def reserve(self, shop_id: str, lines: Mapping[str, int]) -> list[StockChange] | Shortage:
        """Take every line's units, or none and say which SKU (the first by id) fell short."""

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
    async def products_by_out_ids(self, shop_id: str, out_ids: list[str]) -> dict[str, Product]:
        """The shop's products by `out_product_id`, or by id for products without one (an
        export names those by their id)."""

    async def sku_owners(self, shop_id: str, out_sku_ids: list[str]) -> dict[str, str]:
        """out_sku_id → the product holding it, for the given ids that exist."""

    async def insert_catalog(
        self, products: list[dict[str, Any]], skus: list[dict[str, Any]]
    ) -> None:
        """New products and SKUs as plain values (`products.new_values`)."""

    async def update_skus(self, updates: list[dict[str, Any]], now: datetime) -> None:
        """Each dict holds `id`, `version_step` (what to add to the version) and the same
        updatable columns, never `stock` (that is `StockRepository`'s)."""

    async def touch_products(self, product_ids: list[str], now: datetime) -> None: ...
    async def export_page(
        self, shop_id: str, after_id: str | None, limit: int
    ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]: ...
    async def count_skus(self, shop_id: str) -> int: ...


class ProductReadModel(Protocol):
    """The provider's hot product reads as records (no entities); scoped by the shop."""

    async def get(self, shop_id: str, product_id: str) -> ProductRecord | None: ...
    async def get_by_out_id(self, shop_id: str, out_product_id: str) -> ProductRecord | None: ...
    async def list_for_shop(
        self, shop_id: str, page: PageRequest, f: ProductFilter
    ) -> Page[ProductRecord]: ...


class OutboxRepository(Protocol):
    async def add(self, event: Event) -> None:
        """An event of a family without sequence (anything but `order.*`)."""

    async def add_many(self, events: list[Event]) -> None:
        """Many events without sequence at once (a bulk job's chunk)."""

    async def add_in_sequence(self, event: Event) -> int:
        """An event of a sequenced family (`order.*`): takes its resource's next `sequence`
        (set on the event and in its `data`) and holds that resource's counter until the
        transaction ends, so numbers follow commit order and a rollback leaves no gap."""


class WebhookRepository(Protocol):
    """Endpoints are reached through their app; deliveries and attempts through an endpoint."""

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None: ...
    async def list_endpoints(self, app_id: str, page: PageRequest) -> Page[WebhookEndpoint]: ...
    async def count_endpoints(self, app_id: str) -> int: ...
    async def delete_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    def add_delivery(self, delivery: Delivery) -> None: ...
    async def get_delivery(self, delivery_id: str) -> Delivery | None: ...
    async def list_deliveries(
        self, endpoint_id: str, page: PageRequest, *, status: DeliveryStatus | None
    ) -> Page[Delivery]:
        """Newest first."""

    async def list_attempts(
        self, endpoint_id: str, page: PageRequest, *, failed_only: bool
    ) -> Page[Attempt]:
        """Newest first."""

    async def requeue_failed(self, endpoint_id: str, since: datetime) -> int: ...


class UnitOfWork(Protocol):
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def shops(self) -> ShopRepository: ...
    @property
    def members(self) -> MemberRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def apps(self) -> AppRepository: ...
    @property
    def grants(self) -> GrantRepository: ...
    @property
    def oauth(self) -> OAuthRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def qualifications(self) -> QualificationRepository: ...
    @property
    def products(self) -> ProductRepository: ...
    @property
    def stock(self) -> StockRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def bulk(self) -> BulkRepository: ...
    @property
    def product_reads(self) -> ProductReadModel: ...
    @property
    def timers(self) -> Timers: ...

    async def flush(self) -> None: ...
    # No `commit`: the domain never commits; the edge does (app/api/deps.py), once.
    async def rollback(self) -> None: ...
    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: an exception leaving the block undoes exactly the writes
        made inside it (audit and outbox rows included) and the rest of the unit of work
        stays usable. One item of a batch runs in each."""
        ...


__all__ = [
    "AccountRepository",
    "AppRepository",
    "AuditRepository",
    "BulkRepository",
    "GrantRepository",
    "MemberRepository",
    "OAuthRepository",
    "OutboxRepository",
    "ProductReadModel",
    "ProductRepository",
    "Role",
    "ShopRepository",
    "StockRepository",
    "UnitOfWork",
    "WebhookRepository",
]
