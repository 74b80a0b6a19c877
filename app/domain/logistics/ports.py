"""The logistics context's ports: the carrier adapters and where they are found, the shop's
carrier accounts and its sender address book."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.domain.logistics.accounts import LogisticsAccount
from app.domain.logistics.carrier import (
    AccountVerdict,
    CarrierCredentials,
    TrackingEvent,
    Waybill,
    WaybillRequest,
)
from app.domain.logistics.senders import SenderAddress
from app.domain.logistics.waybills import EWaybill, TrackingTerms, WaybillStatus
from app.domain.orders.ports import OrdersUnitOfWork
from app.domain.pagination import Page, PageRequest
from app.domain.ports import Cipher


class Carrier(Protocol):
    """A carrier's electronic waybill service, for one carrier code. Every answer it gives
    has been validated (`carrier.parse_waybill`, `carrier.parse_tracking`); a failure is a
    `CarrierFailure` (unavailable, timed out, a malformed answer)."""

    @property
    def code(self) -> str: ...

    async def verify_account(self, credentials: CarrierCredentials) -> AccountVerdict:
        """Whether the carrier accepts these credentials (a refusal is not an error)."""

    async def create_waybill(self, request: WaybillRequest) -> Waybill:
        """A waybill number for the parcel; the same `request_id` gives the same waybill."""

    async def cancel_waybill(self, credentials: CarrierCredentials, number: str) -> None:
        """Before the carrier collects the parcel (`WaybillNotCancellable` after);
        cancelling a cancelled waybill again changes nothing."""

    async def track(self, credentials: CarrierCredentials, number: str) -> list[TrackingEvent]:
        """What happened to the parcel so far, oldest first."""


class CarrierRegistry(Protocol):
    def get(self, carrier_code: str) -> Carrier:
        """The adapter of a catalogue carrier (`CarrierUnknown` for a code the catalogue
        lacks, `CarrierNotSupported` for one no adapter serves)."""


class LogisticsAccountRepository(Protocol):
    """A shop's carrier accounts; every method names the shop."""

    def add(self, account: LogisticsAccount) -> None: ...
    async def get(self, shop_id: str, account_id: str) -> LogisticsAccount | None: ...
    async def find(
        self, shop_id: str, carrier_code: str, customer_code: str
    ) -> LogisticsAccount | None: ...
    async def list_page(self, shop_id: str, page: PageRequest) -> Page[LogisticsAccount]: ...
    async def delete(self, account: LogisticsAccount) -> None: ...


class SenderAddressRepository(Protocol):
    """A shop's sender/return addresses; every method names the shop."""

    def add(self, address: SenderAddress) -> None: ...
    async def get(
        self, shop_id: str, address_id: str, *, lock: bool = False
    ) -> SenderAddress | None: ...
    async def list_page(self, shop_id: str, page: PageRequest) -> Page[SenderAddress]: ...
    async def count(self, shop_id: str) -> int: ...
    async def get_default(self, shop_id: str, *, lock: bool = False) -> SenderAddress | None:
        """`lock`: held until the transaction ends, so changes of the default take turns."""

    async def newest(self, shop_id: str) -> SenderAddress | None: ...
    async def delete(self, address: SenderAddress) -> None: ...


@dataclass(frozen=True)
class WaybillFilter:
    """The shop's waybills: of one order, in one status, issued in a time range."""

    order_id: str | None = None
    status: WaybillStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class WaybillRepository(Protocol):
    """The shop's electronic waybills; every method names the shop."""

    def add(self, waybill: EWaybill) -> None: ...
    async def get(
        self, shop_id: str, waybill_id: str, *, lock: bool = False
    ) -> EWaybill | None: ...
    async def list_page(self, shop_id: str, page: PageRequest, f: WaybillFilter) -> Page[EWaybill]:
        """Oldest first."""

    async def by_number(self, shop_id: str, carrier_code: str, number: str) -> EWaybill | None:
        """The issued (not cancelled) waybill of that carrier and number, if the shop has one."""

    async def of_order(self, shop_id: str, order_id: str) -> list[EWaybill]:
        """The order's issued (not cancelled) waybills."""

    async def many(self, shop_id: str, waybill_ids: Sequence[str]) -> list[EWaybill]:
        """Those of the ids that are the shop's waybills, in no particular order."""

    async def tracking(self, shop_id: str, waybill_id: str) -> list[TrackingEvent]:
        """What the carrier reported so far, oldest first."""

    async def add_tracking(
        self, waybill: EWaybill, first_seq: int, events: Sequence[TrackingEvent]
    ) -> None:
        """Store `events` as numbers `first_seq`, `first_seq + 1`... of the waybill."""


class LogisticsUnitOfWork(OrdersUnitOfWork, Protocol):
    #: How often carriers are polled for tracking, and the confirmation period after delivery.
    tracking: TrackingTerms

    @property
    def cipher(self) -> Cipher:
        """Opens the shop's carrier credentials for a call (the worker's polls)."""

    @property
    def carriers(self) -> CarrierRegistry:
        """The carrier adapters, acting for this unit of work (the sandbox carrier keeps its
        waybills in the same transaction)."""

    @property
    def logistics_accounts(self) -> LogisticsAccountRepository: ...
    @property
    def sender_addresses(self) -> SenderAddressRepository: ...
    @property
    def waybills(self) -> WaybillRepository: ...
