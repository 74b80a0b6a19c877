"""Shipping insurance: policies and claims (every statement names its shop)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.orders.insurance import Claim, Policy
from app.infra.db import tables
from app.infra.db.locks import locked
from app.infra.db.tenancy import select

_s = tables.aftersale_settings
_p = tables.insurance_policies
_c = tables.insurance_claims


class SqlInsuranceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def covers(self, shop_id: str) -> bool:
        found = (
            await self.s.execute(select(_s, shop_id, _s.c.shipping_insurance))
        ).scalar_one_or_none()
        return bool(found)

    def add_policy(self, policy: Policy) -> None:
        self.s.add(policy)

    async def policy_of(self, shop_id: str, order_id: str) -> Policy | None:
        stmt = select(_p, shop_id, Policy).where(_p.c.order_id == order_id)
        found: Policy | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found

    def add_claim(self, claim: Claim) -> None:
        self.s.add(claim)

    async def claim(self, shop_id: str, claim_id: str, *, lock: bool = False) -> Claim | None:
        stmt = select(_c, shop_id, Claim).where(_c.c.id == claim_id)
        if lock:
            stmt = locked(stmt)
        found: Claim | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found

    async def claims_of(self, shop_id: str, order_id: str) -> list[Claim]:
        stmt = select(_c, shop_id, Claim).where(_c.c.order_id == order_id).order_by(_c.c.id)
        return list((await self.s.execute(stmt)).scalars())
