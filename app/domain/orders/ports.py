"""The order context's ports: orders and their lines, buyers' addresses, and what placing an
order needs of the contexts below (the catalogue's stock path, timers, the outbox)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from app.domain.accounts.ports import AccountsUnitOfWork
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.funds.ledger import SettlementTerms
from app.domain.funds.ports import Ledger
from app.domain.orders.addresses import Address
from app.domain.orders.freight import FreightTemplate
from app.domain.orders.insurance import Claim, InsuranceTerms, Policy
from app.domain.orders.model import (
    BookAddress,
    CartLine,
    Offers,
    Order,
    OrderFilter,
    OrderRecord,
    Shipment,
)
from app.domain.orders.payments import GatewayCharge, Payment, PaymentNotification
from app.domain.orders.pickup import PickupPoint, PickupThrottle
from app.domain.pagination import Page, PageRequest
from app.domain.timers.ports import Timers


class AddressRepository(Protocol):
    """A buyer's addresses: every method takes the account they belong to."""

    def add(self, address: Address) -> None: ...
    async def get(self, account_id: str, address_id: str) -> Address | None: ...
    async def list_page(self, account_id: str, page: PageRequest) -> Page[Address]: ...
    async def count(self, account_id: str) -> int: ...
    async def get_default(self, account_id: str) -> Address | None: ...
    async def newest(self, account_id: str) -> Address | None: ...
    async def delete(self, address: Address) -> None: ...


class AddressesUnitOfWork(AccountsUnitOfWork, Protocol):
    """Address use cases: the buyer's account (locked to serialise a buyer's changes) and
    the addresses."""

    @property
    def addresses(self) -> AddressRepository: ...


class OrderRepository(Protocol):
    """A shop's orders with their lines; every statement names the shop."""

    async def add(self, order: Order) -> None:
        """A new order with its lines, written in the unit of work's transaction."""

    async def offers(
        self,
        shop_id: str,
        sku_ids: list[str],
        address: BookAddress | None = None,
        *,
        snapshot: bool = True,
    ) -> Offers:
        """The shop's terms (None: no such shop), the offer of each of its SKUs among
        `sku_ids` (a SKU it lacks is left out) and, when asked for, the address of the
        buyer's book: one read for everything an order checks. `snapshot=False` (a freight
        quote) leaves out what only an order keeps of its lines: titles, images, attributes."""

    async def lock_many(self, shop_id: str, order_ids: list[str]) -> dict[str, Order]:
        """Those of the ids that are the shop's orders, with their lines, locked (in id
        order) until the transaction ends."""

    async def get(self, shop_id: str, order_id: str, *, lock: bool = False) -> Order | None:
        """The order with its lines; `lock`: held (FOR UPDATE) until the transaction ends,
        so two changes of one order (a payment and the close timer) run one after the other."""

    async def list_for_shop(
        self, shop_id: str, page: PageRequest, f: OrderFilter
    ) -> Page[Order]: ...
    async def get_for_buyer(self, buyer_id: str, order_id: str) -> Order | None:
        """One of the buyer's own orders, whichever shop it is from."""

    async def list_for_buyer(
        self, buyer_id: str, page: PageRequest, shop_id: str | None
    ) -> Page[Order]:
        """The buyer's own orders, newest first (of one shop when `shop_id` is given)."""

    async def by_pickup_code(self, shop_id: str, code: str, *, lock: bool = False) -> Order | None:
        """The shop's open (not completed, closed or cancelled) pickup order with `code`."""

    def add_shipment(self, shipment: Shipment) -> None: ...
    async def get_shipment(
        self, shop_id: str, order_id: str, shipment_id: str
    ) -> Shipment | None: ...
    async def shipments_of(self, shop_id: str, order_ids: list[str]) -> dict[str, list[Shipment]]:
        """The shipments of each order, oldest first."""


class FreightTemplateRepository(Protocol):
    """A shop's freight templates; every statement names the shop."""

    async def existing(self, shop_id: str, template_ids: Collection[str]) -> set[str]: ...
    async def add(self, template: FreightTemplate) -> None: ...
    async def get(
        self, shop_id: str, template_id: str, *, lock: bool = False
    ) -> FreightTemplate | None:
        """`lock`: held until the transaction ends (a change reads it so)."""

    async def page(self, shop_id: str, page: PageRequest) -> Page[FreightTemplate]:
        """Oldest first (by id)."""

    async def save(self, template: FreightTemplate) -> None:
        """Write a changed template (read locked)."""

    async def delete(self, shop_id: str, template_id: str) -> None: ...
    async def clear_default(self, shop_id: str) -> None:
        """No template of the shop is its default any more."""

    async def lock_default(self, shop_id: str) -> None:
        """Held until the transaction ends: changes of the shop's default take turns."""

    async def products_using(self, shop_id: str, template_id: str) -> int:
        """How many of the shop's products name the template."""


class PickupPointRepository(Protocol):
    """A shop's pickup points; every method names the shop."""

    def add(self, point: PickupPoint) -> None: ...
    async def get(
        self, shop_id: str, point_id: str, *, lock: bool = False
    ) -> PickupPoint | None: ...
    async def list_page(self, shop_id: str, page: PageRequest) -> Page[PickupPoint]: ...
    async def enabled(self, shop_id: str) -> list[PickupPoint]:
        """The enabled points, oldest first."""

    async def count(self, shop_id: str) -> int: ...
    async def delete(self, point: PickupPoint) -> None: ...


class PickupThrottleRepository(Protocol):
    async def lock(self, shop_id: str, now: datetime) -> PickupThrottle:
        """The shop's counter of wrong codes (made at `now` if it has none), locked until
        the transaction ends; changes to it are saved with the unit of work."""


class OrderReads(Protocol):
    """The provider's order reads as records (`OrderRecord`), for the API to serialise
    once; every statement names the shop."""

    async def page(self, shop_id: str, page: PageRequest, f: OrderFilter) -> Page[OrderRecord]: ...
    async def one(self, shop_id: str, order_id: str) -> OrderRecord | None: ...


class CartRepository(Protocol):
    """A buyer's cart lines in a shop (every statement names the shop)."""

    def add(self, line: CartLine) -> None: ...
    async def lines(self, shop_id: str, account_id: str) -> list[CartLine]:
        """Oldest first."""

    async def remove(self, line: CartLine) -> None: ...


class PaymentRepository(Protocol):
    """An order's payments and the gateway transactions settled; every method names the shop."""

    def add(self, payment: Payment) -> None: ...
    async def get(self, shop_id: str, payment_id: str, *, lock: bool = False) -> Payment | None:
        """`lock`: held until the transaction ends, and read afresh (not from the session)."""

    async def by_reference(self, shop_id: str, gateway: str, reference: str) -> Payment | None: ...
    async def of_order(self, shop_id: str, order_id: str) -> list[Payment]:
        """The order's payments, oldest first."""

    def add_notification(self, notification: PaymentNotification) -> None: ...
    async def notification(
        self, shop_id: str, gateway: str, transaction_id: str
    ) -> PaymentNotification | None: ...


class PaymentGateway(Protocol):
    """A payment service provider: opens a payment for an amount, says what became of it,
    refunds it. Its notifications reach the platform on the callback surface."""

    @property
    def name(self) -> str: ...

    async def create(self, payment: Payment) -> str:
        """Open `payment` (its amount, for its shop) at the gateway; the gateway's reference."""

    async def query(self, payment: Payment) -> GatewayCharge:
        """What the gateway knows of `payment` (by its reference)."""

    async def refund_part(
        self, payment: Payment, refund_id: str, amount: int, *, attempt: int = 1
    ) -> str:
        """Ask for `amount` of `payment` back, known to the gateway by `refund_id` (asking
        again for the same refund refunds once; a later `attempt` tries one that failed
        again): the gateway's reference. How it ended comes later, by the gateway's refund
        notification."""

    async def pay_out(self, shop_id: str, claim: Claim) -> str:
        """The platform pays `claim.amount` to the claim's buyer (a shipping insurance
        compensation): the gateway's reference. Idempotent per claim."""

    async def refund(self, payment: Payment) -> str:
        """Give a paid payment's money back in full; the refund's reference. Idempotent per
        payment: asked again, the gateway answers with the same refund."""


class InsuranceRepository(Protocol):
    """Shipping insurance: whether a shop insures its orders, the policies, the claims."""

    async def covers(self, shop_id: str) -> bool:
        """The shop insures its orders (its after-sales settings say so)."""

    def add_policy(self, policy: Policy) -> None: ...
    async def policy_of(self, shop_id: str, order_id: str) -> Policy | None: ...
    def add_claim(self, claim: Claim) -> None: ...
    async def claim(self, shop_id: str, claim_id: str, *, lock: bool = False) -> Claim | None:
        """`lock`: held until the transaction ends."""

    async def claims_of(self, shop_id: str, order_id: str) -> list[Claim]:
        """The order's claims, oldest first."""


class OrdersUnitOfWork(CatalogUnitOfWork, AddressesUnitOfWork, Protocol):
    #: The platform's settlement terms (how long a done order's money is held, the fee).
    settlement: SettlementTerms
    #: The platform's shipping insurance: premium, compensations by region.
    insurance_terms: InsuranceTerms

    @property
    def insurance(self) -> InsuranceRepository: ...

    @property
    def ledger(self) -> Ledger:
        """The shop's books: a payment and a refund post to it with the change."""

    @property
    def freight_templates(self) -> FreightTemplateRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def pickup_points(self) -> PickupPointRepository: ...
    @property
    def pickup_throttles(self) -> PickupThrottleRepository: ...
    @property
    def order_reads(self) -> OrderReads: ...
    @property
    def carts(self) -> CartRepository: ...
    @property
    def payments(self) -> PaymentRepository: ...
    @property
    def gateway(self) -> PaymentGateway:
        """The payment gateway, acting for this unit of work (the sandbox keeps its ledger
        in the same transaction)."""

    @property
    def timers(self) -> Timers: ...
