"""The sandbox payment gateway's side of the port: its ledger (`sandbox_charges`), written in
the caller's transaction (see `app/infra/payments/sandbox.py` for the gateway as a whole)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import utcnow
from app.domain.ids import new_id
from app.domain.orders.insurance import Claim
from app.domain.orders.payments import ChargeState, GatewayCharge, Payment
from app.domain.timers.ports import Timers
from app.infra.db import tables
from app.infra.db.tenancy import select, update
from app.infra.payments.sandbox import (
    NOTIFY,
    REFUND_CALLBACK_PATH,
    REFUND_NOTIFY,
    SANDBOX,
    notification,
    refund_notification,
)

_c = tables.sandbox_charges
_r = tables.sandbox_refunds
_p = tables.sandbox_payouts


class SandboxGateway:
    """The gateway port, on the sandbox's ledger, in the caller's transaction."""

    name = SANDBOX

    def __init__(self, session: AsyncSession, timers: Timers, notify_after: timedelta) -> None:
        self.s = session
        self.timers = timers
        self.notify_after = notify_after

    async def create(self, payment: Payment) -> str:
        now = utcnow()
        reference = new_id("sbch")
        values = {
            "id": reference,
            "shop_id": payment.shop_id,
            "payment_id": payment.id,
            "amount": payment.amount,
            "state": ChargeState.PAID,
            "transaction_id": new_id("sbtx"),
            "paid_at": now,
            "created_at": now,
            "updated_at": now,
        }
        await self.s.execute(sa.insert(_c).values(**values))
        row = (await self.s.execute(select(_c, payment.shop_id).where(_c.c.id == reference))).one()
        await self.timers.schedule(
            NOTIFY,
            reference,
            now + self.notify_after,
            {"notification": notification(row)},
            shop_id=payment.shop_id,
        )
        return reference

    async def _row(self, payment: Payment) -> Any:
        row = (
            await self.s.execute(
                select(_c, payment.shop_id).where(_c.c.id == payment.gateway_reference)
            )
        ).one_or_none()
        if row is None:
            raise LookupError(f"the sandbox has no charge {payment.gateway_reference}")
        return row

    async def query(self, payment: Payment) -> GatewayCharge:
        row = await self._row(payment)
        return GatewayCharge(
            reference=row.id,
            state=ChargeState(row.state),
            amount=row.amount,
            transaction_id=row.transaction_id,
            paid_at=row.paid_at,
        )

    async def refund_part(
        self, payment: Payment, refund_id: str, amount: int, *, attempt: int = 1
    ) -> str:
        """Recorded at once (succeeded, or failed when the charge has less left than asked),
        and told to the platform by the worker a moment later, as the payment is. Asked
        again (a later `attempt`), it tells the platform again; one that failed is tried
        anew."""
        taken = (
            await self.s.execute(select(_r, payment.shop_id).where(_r.c.refund_id == refund_id))
        ).one_or_none()
        if taken is not None:
            if attempt > 1:
                await self._retried(payment, taken, attempt)
            return str(taken.id)
        charge = await self._row(payment)
        ok = charge.state == ChargeState.PAID and amount <= await self._left(payment, charge)
        now, reference = utcnow(), new_id("sbrf")
        values = {
            "id": reference,
            "shop_id": payment.shop_id,
            "refund_id": refund_id,
            "charge_id": charge.id,
            "amount": amount,
            "state": "succeeded" if ok else "failed",
            "created_at": now,
            "updated_at": now,
        }
        await self.s.execute(sa.insert(_r).values(**values))
        await self.timers.schedule(
            REFUND_NOTIFY,
            reference,
            now + self.notify_after,
            {"notification": refund_notification(values), "path": REFUND_CALLBACK_PATH},
            shop_id=payment.shop_id,
        )
        return reference

    async def _left(self, payment: Payment, charge: Any, *, besides: str | None = None) -> int:
        """What the charge has not yet refunded (partial refunds that succeeded)."""
        stmt = select(_r, payment.shop_id, sa.func.coalesce(sa.func.sum(_r.c.amount), 0)).where(
            _r.c.charge_id == charge.id, _r.c.state == "succeeded"
        )
        if besides is not None:
            stmt = stmt.where(_r.c.id != besides)
        return int(charge.amount) - int((await self.s.execute(stmt)).scalar_one())

    async def _retried(self, payment: Payment, row: Any, attempt: int) -> None:
        charge = await self._row(payment)
        state = row.state
        if state != "succeeded":
            ok = charge.state == ChargeState.PAID and row.amount <= await self._left(
                payment, charge, besides=row.id
            )
            state = "succeeded" if ok else "failed"
        now = utcnow()
        await self.s.execute(
            update(_r, payment.shop_id).where(_r.c.id == row.id).values(state=state, updated_at=now)
        )
        values = {**row._mapping, "state": state}
        await self.timers.schedule(
            REFUND_NOTIFY,
            f"{row.id}:{attempt}",
            now + self.notify_after,
            {"notification": refund_notification(values), "path": REFUND_CALLBACK_PATH},
            shop_id=payment.shop_id,
        )

    async def refund(self, payment: Payment) -> str:
        row = await self._row(payment)
        if row.refund_id:
            return str(row.refund_id)
        if row.state != ChargeState.PAID:
            raise ValueError(f"the sandbox cannot refund a {row.state} charge")
        refund_id, now = new_id("sbrf"), utcnow()
        await self.s.execute(
            update(_c, payment.shop_id)
            .where(_c.c.id == row.id)
            .values(
                state=ChargeState.REFUNDED, refund_id=refund_id, refunded_at=now, updated_at=now
            )
        )
        return refund_id

    async def pay_out(self, shop_id: str, claim: Claim) -> str:
        """Paid at once (the sandbox's buyers always can be); asked again for the same
        claim, the same payout."""
        taken = (
            await self.s.execute(select(_p, shop_id, _p.c.id).where(_p.c.claim_id == claim.id))
        ).scalar_one_or_none()
        if taken is not None:
            return str(taken)
        reference = new_id("sbpo")
        await self.s.execute(
            sa.insert(_p).values(
                id=reference,
                shop_id=shop_id,
                claim_id=claim.id,
                buyer_id=claim.buyer_id,
                amount=claim.amount,
                created_at=utcnow(),
            )
        )
        return reference
