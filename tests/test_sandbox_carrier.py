"""The carrier port through the built-in sandbox carrier (issue 15, "Carriers behind an
adapter"): waybill numbers in each carrier's format, creation idempotent per request id,
cancellation before collection only, tracking that moves with the clock, failures on demand
with nothing duplicated, and carrier answers validated before use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from app.container import Container, build_container
from app.domain.logistics.carrier import (
    CarrierCredentials,
    ParcelLine,
    Party,
    TrackingStage,
    WaybillRequest,
    parse_tracking,
    parse_waybill,
)
from app.domain.logistics.errors import (
    CarrierNotSupported,
    CarrierResponseInvalid,
    CarrierTimeout,
    CarrierUnavailable,
    WaybillNotCancellable,
    WaybillUnknown,
)
from app.domain.orders.carriers import carrier
from app.domain.orders.errors import CarrierUnknown
from app.infra.db import tables
from app.infra.db.repositories.sandbox_carrier import CarrierAdapters, SandboxCarrier
from app.infra.db.uow import SqlUnitOfWork
from app.infra.logistics.sandbox_carrier import SANDBOX_CODES, SandboxCarrierFaults
from app.settings import Settings
from tests.product_support import provider

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
SENDER = Party("张伟", "13800138000", "440305", "科技园南区深南大道10000号")
RECEIVER = Party("王芳", "13900139000", "110105", "望京街道 阜通东大街6号")


class Clock:
    """The sandbox's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, **after: float) -> None:
        self.now = T0 + timedelta(**after)


def creds(shop_id: str, code: str = "SF") -> CarrierCredentials:
    return CarrierCredentials(shop_id, code, "7551234567", "SFPARTNER01", "sk_sandbox_5f3c9a1d7e")


def request(shop_id: str, request_id: str, code: str = "SF") -> WaybillRequest:
    return WaybillRequest(
        credentials=creds(shop_id, code),
        request_id=request_id,
        sender=SENDER,
        receiver=RECEIVER,
        lines=(ParcelLine("亚麻连衣裙", 2),),
        weight_grams=800,
    )


async def _shop_id(client: httpx.AsyncClient) -> str:
    return (await provider(client)).shop_id


async def _waybill_rows(uow: SqlUnitOfWork, shop_id: str) -> int:
    w = tables.sandbox_waybills
    stmt = sa.select(sa.func.count()).select_from(w).where(w.c.shop_id == shop_id)
    return int((await uow.session.execute(stmt)).scalar_one())


async def test_waybill_numbers_follow_each_carriers_published_format(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop_id = await _shop_id(client)
    async with container.uow() as uow:
        adapters = CarrierAdapters(uow.session, SandboxCarrierFaults(), Clock())
        for code in sorted(SANDBOX_CODES):
            waybill = await adapters.get(code).create_waybill(request(shop_id, f"r-{code}", code))
            assert waybill.carrier_code == code
            assert carrier(code).check_waybill(waybill.number) == waybill.number
            if carrier(code).waybill_pattern:
                assert len(waybill.number) >= 10, waybill.number
        assert await _waybill_rows(uow, shop_id) == len(SANDBOX_CODES)
        # A catalogue carrier no adapter serves, and a code the catalogue lacks.
        with pytest.raises(CarrierNotSupported):
            adapters.get("OTHER")
        with pytest.raises(CarrierUnknown):
            adapters.get("NOPE")
        # The unit of work's registry is the same sandbox.
        assert isinstance(uow.carriers.get("SF"), SandboxCarrier)


async def test_creation_is_idempotent_per_request_id(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop_id = await _shop_id(client)
    async with container.uow() as uow:
        sf = SandboxCarrier(uow.session, "SF", SandboxCarrierFaults(), Clock())
        first = await sf.create_waybill(request(shop_id, "ord_1:1"))
        again = await sf.create_waybill(request(shop_id, "ord_1:1"))
        other = await sf.create_waybill(request(shop_id, "ord_1:2"))
        assert again == first
        assert other.number != first.number
        assert first.created_at == T0
        assert await _waybill_rows(uow, shop_id) == 2


async def test_cancel_before_collection_and_refused_after(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop_id = await _shop_id(client)
    clock = Clock()
    async with container.uow() as uow:
        sf = SandboxCarrier(uow.session, "SF", SandboxCarrierFaults(), clock)
        early = await sf.create_waybill(request(shop_id, "early"))
        late = await sf.create_waybill(request(shop_id, "late"))
        clock.at(hours=1, minutes=59)
        await sf.cancel_waybill(creds(shop_id), early.number)
        await sf.cancel_waybill(creds(shop_id), early.number)  # again: nothing changes
        clock.at(hours=40)
        assert await sf.track(creds(shop_id), early.number) == []  # never collected
        clock.at(hours=2)
        with pytest.raises(WaybillNotCancellable) as refused:
            await sf.cancel_waybill(creds(shop_id), late.number)
        assert refused.value.status == 409
        assert [e.stage for e in await sf.track(creds(shop_id), late.number)] == [
            TrackingStage.COLLECTED
        ]
        with pytest.raises(WaybillUnknown):
            await sf.cancel_waybill(creds(shop_id), "SF0000000000000")


async def test_tracking_moves_with_the_clock(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop_id = await _shop_id(client)
    clock = Clock()
    async with container.uow() as uow:
        sf = SandboxCarrier(uow.session, "SF", SandboxCarrierFaults(), clock)
        waybill = await sf.create_waybill(request(shop_id, "track-me"))
        seen: list[list[TrackingStage]] = []
        for hours in (1, 3, 7, 21, 27, 31, 100):
            clock.at(hours=hours)
            seen.append([e.stage for e in await sf.track(creds(shop_id), waybill.number)])
        c, t, o, d = (
            TrackingStage.COLLECTED,
            TrackingStage.IN_TRANSIT,
            TrackingStage.OUT_FOR_DELIVERY,
            TrackingStage.DELIVERED,
        )
        assert seen == [[], [c], [c, t], [c, t, t], [c, t, t, o], [c, t, t, o, d], [c, t, t, o, d]]
        events = await sf.track(creds(shop_id), waybill.number)
        assert events[0].location == "广东省深圳市南山区"  # the sender's district
        assert events[1].location == "深圳市转运中心"
        assert events[2].location == "北京市转运中心"
        assert events[-1].location.endswith("朝阳区")  # the receiver's
        assert events[0].at == T0 + timedelta(hours=2)
        assert events == sorted(events, key=lambda e: e.at)


async def test_a_creation_that_fails_twice_then_succeeds_duplicates_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop_id = await _shop_id(client)
    faults = SandboxCarrierFaults(fail_creations=2)
    async with container.uow() as uow:
        sf = SandboxCarrier(uow.session, "SF", faults, Clock())
        for _ in range(2):
            with pytest.raises(CarrierUnavailable) as failed:
                await sf.create_waybill(request(shop_id, "retried"))
            assert failed.value.status == 503
            assert await _waybill_rows(uow, shop_id) == 0
        waybill = await sf.create_waybill(request(shop_id, "retried"))
        assert await sf.create_waybill(request(shop_id, "retried")) == waybill
        assert await _waybill_rows(uow, shop_id) == 1
        assert faults.fail_creations == 0


async def test_a_tracking_timeout_is_a_typed_error(
    client: httpx.AsyncClient, container: Container
) -> None:
    shop_id = await _shop_id(client)
    clock = Clock()
    faults = SandboxCarrierFaults(track_timeouts=1)
    async with container.uow() as uow:
        sf = SandboxCarrier(uow.session, "ZTO", faults, clock)
        waybill = await sf.create_waybill(request(shop_id, "slow", "ZTO"))
        clock.at(hours=3)
        with pytest.raises(CarrierTimeout) as timed_out:
            await sf.track(creds(shop_id, "ZTO"), waybill.number)
        assert (timed_out.value.status, timed_out.value.code) == (504, "carrier_timeout")
        assert len(await sf.track(creds(shop_id, "ZTO"), waybill.number)) == 1


async def test_the_containers_knob_is_seeded_from_the_settings(settings: Settings) -> None:
    s = settings.model_copy(
        update={"sandbox_carrier_fail_creations": 2, "sandbox_carrier_track_timeouts": 1}
    )
    built = build_container(s)
    try:
        assert built.sandbox_carrier_faults == SandboxCarrierFaults(2, 1)
        assert built.uow().carriers.faults is built.sandbox_carrier_faults
    finally:
        await built.close()


@pytest.mark.parametrize(
    "answer",
    [
        None,
        [],
        {},
        {"waybill_no": 123, "created_at": "2026-12-07T08:00:00+00:00"},
        {"waybill_no": "SF12345", "created_at": "2026-12-07T08:00:00+00:00"},  # too short
        {"waybill_no": "ZT1234567890123", "created_at": "2026-12-07T08:00:00+00:00"},
        {"waybill_no": "sf1234567890123", "created_at": "2026-12-07T08:00:00+00:00"},
        {"waybill_no": "SF1234567890123"},
        {"waybill_no": "SF1234567890123", "created_at": "2026-12-07T08:00:00"},  # no zone
        {"waybill_no": "SF1234567890123", "created_at": "yesterday"},
    ],
)
def test_a_malformed_creation_answer_is_refused(answer: object) -> None:
    with pytest.raises(CarrierResponseInvalid) as e:
        parse_waybill("SF", answer)
    assert e.value.status == 502


def test_a_valid_creation_answer_is_taken() -> None:
    w = parse_waybill("SF", {"waybill_no": "SF1234567890123", "created_at": T0.isoformat()})
    assert (w.number, w.created_at) == ("SF1234567890123", T0)


def _event(stage: str = "collected", at: str = "2026-12-07T10:00:00+08:00", **kw: object) -> dict:
    return {"stage": stage, "at": at, "location": "深圳", "description": "揽收", **kw}


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"events": "none"},
        {"events": [1]},
        {"events": [_event(stage="lost")]},
        {"events": [_event(location="")]},
        {"events": [_event(description="x" * 201)]},
        {"events": [_event(at="2026-12-07 10:00")]},
        {"events": [_event(at="2026-12-08T10:00:00Z"), _event(at="2026-12-07T10:00:00Z")]},
    ],
)
def test_a_malformed_tracking_answer_is_refused(answer: object) -> None:
    with pytest.raises(CarrierResponseInvalid):
        parse_tracking("SF", answer)
