"""Repository of an order's payments and the gateway transactions settled."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.orders.payments import Payment, PaymentNotification
from app.infra.db import tables
from app.infra.db.locks import locked
from app.infra.db.tenancy import select

_p = tables.payments
_n = tables.payment_notifications


class SqlPaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, payment: Payment) -> None:
        self.s.add(payment)

    async def get(self, shop_id: str, payment_id: str, *, lock: bool = False) -> Payment | None:
        stmt = select(_p, shop_id, Payment).where(_p.c.id == payment_id)
        if lock:
            # Read afresh: what the session holds may predate the lock's wait.
            stmt = locked(stmt)
        payment: Payment | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return payment

    async def by_reference(self, shop_id: str, gateway: str, reference: str) -> Payment | None:
        stmt = select(_p, shop_id, Payment).where(
            _p.c.gateway == gateway, _p.c.gateway_reference == reference
        )
        payment: Payment | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return payment

    async def of_order(self, shop_id: str, order_id: str) -> list[Payment]:
        stmt = (
            select(_p, shop_id, Payment)
            .where(_p.c.order_id == order_id)
            .order_by(_p.c.created_at, _p.c.id)
        )
        return list((await self.s.execute(stmt)).scalars())

    def add_notification(self, notification: PaymentNotification) -> None:
        self.s.add(notification)

    async def notification(
        self, shop_id: str, gateway: str, transaction_id: str
    ) -> PaymentNotification | None:
        stmt = select(_n, shop_id, PaymentNotification).where(
            _n.c.gateway == gateway, _n.c.transaction_id == transaction_id
        )
        found: PaymentNotification | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found
