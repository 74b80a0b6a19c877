"""The after-sales context's ports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.domain.aftersales.model import AfterSale, AfterSaleStatus
from app.domain.aftersales.refunds import Refund
from app.domain.aftersales.settings import AfterSaleSettings
from app.domain.orders.ports import OrdersUnitOfWork
from app.domain.pagination import Page, PageRequest


@dataclass(frozen=True)
class AfterSaleFilter:
    """What a shop's list keeps: statuses (any of), one order, a creation time range
    (`[from, to)`), and for sync the ones changed since (ordered by their last change)."""

    statuses: frozenset[AfterSaleStatus] = frozenset()
    order_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_since: datetime | None = None

    @property
    def by_updated(self) -> bool:
        return self.updated_since is not None


class AfterSaleRepository(Protocol):
    def add(self, aftersale: AfterSale) -> None: ...
    async def get(self, shop_id: str, aftersale_id: str, *, lock: bool = False) -> AfterSale | None:
        """`lock`: held until the transaction ends (take the order's lock first)."""

    async def of_order(self, shop_id: str, order_id: str) -> list[AfterSale]:
        """Every after-sale of the order, oldest first."""

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, f: AfterSaleFilter
    ) -> Page[AfterSale]: ...
    async def get_for_buyer(self, buyer_id: str, aftersale_id: str) -> AfterSale | None: ...
    async def list_for_buyer(self, buyer_id: str, page: PageRequest) -> Page[AfterSale]: ...


class RefundRepository(Protocol):
    def add(self, refund: Refund) -> None: ...
    async def get(self, shop_id: str, refund_id: str, *, lock: bool = False) -> Refund | None:
        """`lock`: held until the transaction ends (take the order's lock first)."""

    async def of_order(self, shop_id: str, order_id: str) -> list[Refund]:
        """Every refund of the order, oldest first."""


class AfterSaleSettingsRepository(Protocol):
    def add(self, settings: AfterSaleSettings) -> None: ...
    async def get(self, shop_id: str, *, lock: bool = False) -> AfterSaleSettings | None: ...


class AfterSalesUnitOfWork(OrdersUnitOfWork, Protocol):
    @property
    def aftersale_settings(self) -> AfterSaleSettingsRepository: ...
    @property
    def aftersales(self) -> AfterSaleRepository: ...
    @property
    def refunds(self) -> RefundRepository: ...
