"""Use cases of in-store pickup: the shop's pickup points (audited), the code a paid pickup
order gets, marking it ready, and verifying the code the buyer shows.

Every use case takes the shop: another shop's point or order does not exist here (404), and
another shop's code is as wrong as any. A wrong code gets one answer whatever it is (unknown,
another shop's, an order not ready, collected or cancelled): 422 `pickup_code_invalid`. Each
is counted against the shop (`PickupThrottle`, locked by every verification so they take
turns across processes) and recorded in the audit log without the code; past the limit every
code, right ones too, is a 429 until the window ends. The code itself never enters an event,
a log line or the audit log.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from app.domain.audit.model import Actor, AuditEntry
from app.domain.clock import utcnow
from app.domain.errors import IntegrityConflict
from app.domain.orders import services
from app.domain.orders.addresses import normalize_phone, resolve_region
from app.domain.orders.errors import (
    PickupCodeInvalid,
    PickupCodeThrottled,
    PickupPointLimitReached,
    PickupPointNotFound,
)
from app.domain.orders.model import Order, ReceivedBy
from app.domain.orders.pickup import (
    CODE_DRAWS,
    MAX_PICKUP_POINTS,
    WRONG_CODES_PER_WINDOW,
    PickupPoint,
    PickupPointChanges,
    is_code_shaped,
    new_code,
)
from app.domain.orders.ports import OrdersUnitOfWork
from app.domain.pagination import Page, PageRequest
from app.domain.shops.permissions import Permission
from app.domain.shops.services import access as shop_access
from app.domain.shops.services import check_version, storefront_shop

log = logging.getLogger(__name__)


# --- pickup points ---------------------------------------------------------------------------


async def list_points(uow: OrdersUnitOfWork, shop_id: str, page: PageRequest) -> Page[PickupPoint]:
    return await uow.pickup_points.list_page(shop_id, page)


async def storefront_points(uow: OrdersUnitOfWork, shop_id: str) -> list[PickupPoint]:
    """The points buyers may choose, oldest first; a shop whose storefront is not open is
    not found, as on the storefront's other public reads."""
    await storefront_shop(uow, shop_id)
    return await uow.pickup_points.enabled(shop_id)


async def get_point(uow: OrdersUnitOfWork, shop_id: str, point_id: str) -> PickupPoint:
    point = await uow.pickup_points.get(shop_id, point_id)
    if point is None:
        raise PickupPointNotFound(f"No pickup point {point_id} in this shop.")
    return point


async def create_point(
    uow: OrdersUnitOfWork,
    actor: Actor,
    shop_id: str,
    *,
    name: str,
    region_code: str,
    detail: str,
    hours: str,
    contact_name: str,
    contact_phone: str,
    enabled: bool = True,
) -> PickupPoint:
    resolve_region(region_code)
    phone = normalize_phone(contact_phone, "contact_phone")
    if await uow.pickup_points.count(shop_id) >= MAX_PICKUP_POINTS:
        raise PickupPointLimitReached(
            f"A shop keeps at most {MAX_PICKUP_POINTS} pickup points; delete one first.",
            extra={"limit": MAX_PICKUP_POINTS},
        )
    point = PickupPoint(
        shop_id=shop_id,
        name=name,
        region_code=region_code,
        detail=detail,
        hours=hours,
        contact_name=contact_name,
        contact_phone=phone,
        enabled=enabled,
    )
    uow.pickup_points.add(point)
    uow.audit.add(
        AuditEntry.about(actor, "pickup_point.create", "pickup_point", point, after=_summary(point))
    )
    await uow.flush()
    return point


async def update_point(
    uow: OrdersUnitOfWork,
    actor: Actor,
    shop_id: str,
    point_id: str,
    changes: PickupPointChanges,
    *,
    expected_version: int | None = None,
) -> PickupPoint:
    """Orders already placed keep the point as it was (their snapshot); a disabled point is
    no longer offered nor accepted for new orders."""
    point = await uow.pickup_points.get(shop_id, point_id, lock=True)
    if point is None:
        raise PickupPointNotFound(f"No pickup point {point_id} in this shop.")
    check_version(point.version, expected_version)
    before = _summary(point)
    if changes.region_code is not None:
        resolve_region(changes.region_code)
        point.region_code = changes.region_code
    if changes.contact_phone is not None:
        point.contact_phone = normalize_phone(changes.contact_phone, "contact_phone")
    for name in ("name", "detail", "hours", "contact_name", "enabled"):
        value = getattr(changes, name)
        if value is not None:
            setattr(point, name, value)
    after = _summary(point)
    if after == before:
        return point  # nothing changed: no new version, no audit entry
    point.updated_at = utcnow()
    uow.audit.add(
        AuditEntry.about(
            actor, "pickup_point.update", "pickup_point", point, before=before, after=after
        )
    )
    await uow.flush()
    return point


async def delete_point(uow: OrdersUnitOfWork, actor: Actor, shop_id: str, point_id: str) -> None:
    """Orders placed for it keep their snapshot and are collected as before."""
    point = await get_point(uow, shop_id, point_id)
    await uow.pickup_points.delete(point)
    uow.audit.add(
        AuditEntry.about(
            actor, "pickup_point.delete", "pickup_point", point, before=_summary(point)
        )
    )
    await uow.flush()


def _summary(p: PickupPoint) -> dict[str, Any]:
    return {
        "name": p.name,
        "region_code": p.region_code,
        "detail": p.detail,
        "hours": p.hours,
        "contact_name": p.contact_name,
        "enabled": p.enabled,
    }


# --- pickup codes ----------------------------------------------------------------------------


async def assign_code(uow: OrdersUnitOfWork, order: Order) -> None:
    """A paid pickup order's code: drawn until one is free among the shop's open pickup
    orders. The partial unique index decides, so two payments drawing the same code at once
    cannot both keep it: the loser's savepoint rolls back and it draws again."""
    shop_id, order_id = order.shop_id, order.id
    for _ in range(CODE_DRAWS):
        try:
            async with uow.savepoint():
                order.pickup_code = new_code()
        except IntegrityConflict:
            # The savepoint's rollback expired the order: read it again (the same object).
            await services.get(uow, shop_id, order_id, lock=True)
            continue
        return
    raise RuntimeError(f"no free pickup code in {CODE_DRAWS} draws")  # never, short of a bug


async def mark_ready(uow: OrdersUnitOfWork, actor: Actor, shop_id: str, order_id: str) -> Order:
    """The paid pickup order waits at its point: `order.ready_for_pickup`, once (saying it
    again changes nothing)."""
    order = await services.get(uow, shop_id, order_id, lock=True)
    if not order.mark_ready_for_pickup():
        return order
    point = order.pickup_point or {}
    uow.audit.add(
        AuditEntry.about(
            actor,
            "order.ready_for_pickup",
            "order",
            order,
            after={"pickup_point_id": point.get("id")},
        )
    )
    await services.order_event(
        uow, "order.ready_for_pickup", order, pickup_point_id=point.get("id")
    )
    await uow.flush()
    return order


async def verify_code(
    uow: OrdersUnitOfWork, actor: Actor, shop_id: str, code: str, now: datetime | None = None
) -> Order:
    """The buyer's code completes its ready pickup order (`order.received` by `pickup`,
    `order.completed`, settlement scheduled as for a confirmed receipt). A wrong one is
    counted and audited before `PickupCodeInvalid` is raised: the caller keeps those writes
    (`keep_writes_on_error` at the edge) while answering the error."""
    now = now or utcnow()
    throttle = await uow.pickup_throttles.lock(shop_id, now)
    wait = throttle.retry_after(now)
    if wait is not None:
        log.warning(
            "pickup code refused: throttled",
            extra={"shop_id": shop_id, "actor_id": actor.id, "retry_after": wait},
        )
        raise PickupCodeThrottled(
            f"More than {WRONG_CODES_PER_WINDOW} wrong pickup codes for this shop within a "
            f"minute; try again in {wait} s.",
            headers={"Retry-After": str(wait)},
            extra={"retry_after": wait},
        )
    order = (
        await uow.orders.by_pickup_code(shop_id, code, lock=True) if is_code_shaped(code) else None
    )
    if order is None or not order.collectable:
        throttle.count_failure(now)
        uow.audit.add(
            AuditEntry.record(
                actor,
                "pickup_code.rejected",
                target_type="shop",
                target_id=shop_id,
                shop_id=shop_id,
                after={"failures_in_window": throttle.failures},
            )
        )
        await uow.flush()
        log.warning(
            "pickup code rejected",
            extra={"shop_id": shop_id, "actor_id": actor.id, "failures": throttle.failures},
        )
        raise PickupCodeInvalid(
            "This code does not match an order ready for pickup in this shop.",
            errors=[{"loc": ["body", "code"], "msg": "not valid", "type": "pickup_code"}],
        )
    order.collect(now)
    uow.audit.add(
        AuditEntry.about(
            actor,
            "order.collected",
            "order",
            order,
            after={"status": int(order.status)},
        )
    )
    await services.completed(uow, order, ReceivedBy.PICKUP)
    await uow.flush()
    return order


async def _member(uow: OrdersUnitOfWork, actor: Actor, shop_id: str) -> None:
    acc = await shop_access(uow, actor.id, shop_id, Permission.ORDERS_MANAGE)
    acc.shop.ensure_active()


async def mark_ready_by_member(
    uow: OrdersUnitOfWork, actor: Actor, shop_id: str, order_id: str
) -> Order:
    """A member whose role manages orders; not while the shop is suspended."""
    await _member(uow, actor, shop_id)
    return await mark_ready(uow, actor, shop_id, order_id)


async def verify_code_by_member(
    uow: OrdersUnitOfWork, actor: Actor, shop_id: str, code: str
) -> Order:
    await _member(uow, actor, shop_id)
    return await verify_code(uow, actor, shop_id, code)
