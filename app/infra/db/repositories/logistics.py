"""Repositories of a shop's carrier accounts, sender address book and electronic waybills;
every statement starts from the tenancy builder."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.clock import utcnow
from app.domain.logistics.accounts import LogisticsAccount
from app.domain.logistics.carrier import TrackingEvent
from app.domain.logistics.ports import WaybillFilter
from app.domain.logistics.senders import SenderAddress
from app.domain.logistics.waybills import EWaybill, WaybillStatus
from app.domain.pagination import Page, PageRequest
from app.infra.db import tables
from app.infra.db.locks import lock_shop, locked
from app.infra.db.paging import fetch_page
from app.infra.db.tenancy import select

_a = tables.logistics_accounts
_s = tables.sender_addresses
_w = tables.waybills
_te = tables.waybill_tracking_events


class SqlLogisticsAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, account: LogisticsAccount) -> None:
        self.s.add(account)

    async def get(self, shop_id: str, account_id: str) -> LogisticsAccount | None:
        stmt = select(_a, shop_id, LogisticsAccount).where(_a.c.id == account_id)
        found: LogisticsAccount | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found

    async def find(
        self, shop_id: str, carrier_code: str, customer_code: str
    ) -> LogisticsAccount | None:
        stmt = select(_a, shop_id, LogisticsAccount).where(
            _a.c.carrier_code == carrier_code, _a.c.customer_code == customer_code
        )
        found: LogisticsAccount | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found

    async def list_page(self, shop_id: str, page: PageRequest) -> Page[LogisticsAccount]:
        return await fetch_page(self.s, select(_a, shop_id, LogisticsAccount), page, [_a.c.id])

    async def delete(self, account: LogisticsAccount) -> None:
        await self.s.delete(account)


class SqlSenderAddressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, address: SenderAddress) -> None:
        self.s.add(address)

    async def get(
        self, shop_id: str, address_id: str, *, lock: bool = False
    ) -> SenderAddress | None:
        stmt = select(_s, shop_id, SenderAddress).where(_s.c.id == address_id)
        found: SenderAddress | None = (
            await self.s.execute(locked(stmt) if lock else stmt)
        ).scalar_one_or_none()
        return found

    async def list_page(self, shop_id: str, page: PageRequest) -> Page[SenderAddress]:
        return await fetch_page(self.s, select(_s, shop_id, SenderAddress), page, [_s.c.id])

    async def count(self, shop_id: str) -> int:
        return int((await self.s.execute(select(_s, shop_id, sa.func.count()))).scalar_one())

    async def get_default(self, shop_id: str, *, lock: bool = False) -> SenderAddress | None:
        if lock:  # the book may be empty: the shop's row is the default's mutex
            await lock_shop(self.s, shop_id)
        stmt = select(_s, shop_id, SenderAddress).where(_s.c.is_default.is_(True))
        found: SenderAddress | None = (
            await self.s.execute(locked(stmt) if lock else stmt)
        ).scalar_one_or_none()
        return found

    async def newest(self, shop_id: str) -> SenderAddress | None:
        stmt = select(_s, shop_id, SenderAddress).order_by(_s.c.id.desc()).limit(1)
        found: SenderAddress | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found

    async def delete(self, address: SenderAddress) -> None:
        await self.s.delete(address)


class SqlWaybillRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def add(self, waybill: EWaybill) -> None:
        self.s.add(waybill)

    async def get(self, shop_id: str, waybill_id: str, *, lock: bool = False) -> EWaybill | None:
        stmt = select(_w, shop_id, EWaybill).where(_w.c.id == waybill_id)
        found: EWaybill | None = (
            await self.s.execute(locked(stmt) if lock else stmt)
        ).scalar_one_or_none()
        return found

    async def list_page(self, shop_id: str, page: PageRequest, f: WaybillFilter) -> Page[EWaybill]:
        stmt = select(_w, shop_id, EWaybill)
        if f.order_id is not None:
            stmt = stmt.where(_w.c.order_id == f.order_id)
        if f.status is not None:
            stmt = stmt.where(_w.c.status == f.status)
        if f.created_from is not None:
            stmt = stmt.where(_w.c.created_at >= f.created_from)
        if f.created_to is not None:
            stmt = stmt.where(_w.c.created_at < f.created_to)
        return await fetch_page(self.s, stmt, page, [_w.c.id])

    async def by_number(self, shop_id: str, carrier_code: str, number: str) -> EWaybill | None:
        stmt = (
            select(_w, shop_id, EWaybill)
            .where(
                _w.c.carrier_code == carrier_code,
                _w.c.number == number,
                _w.c.status == WaybillStatus.ISSUED,
            )
            .order_by(_w.c.id.desc())
            .limit(1)
        )
        found: EWaybill | None = (await self.s.execute(stmt)).scalar_one_or_none()
        return found

    async def of_order(self, shop_id: str, order_id: str) -> list[EWaybill]:
        stmt = select(_w, shop_id, EWaybill).where(
            _w.c.order_id == order_id, _w.c.status == WaybillStatus.ISSUED
        )
        return list((await self.s.execute(stmt)).scalars())

    async def many(self, shop_id: str, waybill_ids: Sequence[str]) -> list[EWaybill]:
        found: list[EWaybill] = []
        ids = list(waybill_ids)
        for i in range(0, len(ids), 500):  # a bounded IN list per statement
            stmt = select(_w, shop_id, EWaybill).where(_w.c.id.in_(ids[i : i + 500]))
            found.extend((await self.s.execute(stmt)).scalars())
        return found

    async def tracking(self, shop_id: str, waybill_id: str) -> list[TrackingEvent]:
        rows = await self.s.execute(
            select(_te, shop_id, _te.c.stage, _te.c.at, _te.c.location, _te.c.description)
            .where(_te.c.waybill_id == waybill_id)
            .order_by(_te.c.seq)
        )
        return [TrackingEvent(r.stage, r.at, r.location, r.description) for r in rows]

    async def add_tracking(
        self, waybill: EWaybill, first_seq: int, events: Sequence[TrackingEvent]
    ) -> None:
        if not events:
            return
        now = utcnow()
        await self.s.execute(
            sa.insert(_te),
            [
                {
                    "shop_id": waybill.shop_id,
                    "waybill_id": waybill.id,
                    "seq": first_seq + i,
                    "stage": e.stage,
                    "at": e.at,
                    "location": e.location,
                    "description": e.description,
                    "recorded_at": now,
                }
                for i, e in enumerate(events)
            ],
        )
