"""Stock: the one path for every change of an existing SKU's units, and the low-stock alert.

Set, adjust, the batches (`change`), a bulk import's stock cells (`set_many`), and the
reservations and releases of orders (`reserve`, `release`) all go through this module to
`uow.stock`, whose conditional UPDATEs are the only statements that write the `stock`
column (tests/test_stock_guard.py holds that): concurrent changes all count, the stock never
goes negative, and nothing writes back a stock it read earlier. A new SKU is born with its
initial stock in its INSERT; that is creation, not a change.

`product.stock_low` is written in the same transaction exactly when a change takes the
stock from above the SKU's `low_stock_threshold` to at or below it: once per crossing, not
again while it stays low, never on a rise. Old and new stock come from the row lock of the
change itself, so concurrent changes that cross together still raise one event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.domain.audit.model import Actor, AuditEntry
from app.domain.catalog.errors import OutOfStock, SkuNotFound
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.catalog.product_services import get_for_shop, get_sku, product_ref
from app.domain.catalog.products import Product, Shortage, Sku, StockChange
from app.domain.errors import DomainError, ValidationFailed
from app.domain.events.catalog import StockLowData
from app.domain.events.model import Event


async def find_sku(
    uow: CatalogUnitOfWork,
    shop_id: str,
    *,
    sku_id: str | None = None,
    out_sku_id: str | None = None,
) -> Sku:
    """A SKU of the shop by our id or by the provider's `out_sku_id`."""
    sku = await uow.products.find_sku(shop_id, sku_id=sku_id, out_sku_id=out_sku_id)
    if sku is None:
        named = f"SKU {sku_id}" if sku_id is not None else f"SKU with out_sku_id {out_sku_id!r}"
        raise SkuNotFound(f"No {named} in this shop.")
    return sku


async def change(
    uow: CatalogUnitOfWork,
    actor: Actor,
    shop_id: str,
    sku: Sku,
    *,
    delta: int | None = None,
    absolute: int | None = None,
) -> StockChange:
    """Adjust by `delta` or set to `absolute` (exactly one of them)."""
    if delta is not None:
        done = await uow.stock.adjust(shop_id, sku.id, delta)
    elif absolute is not None:
        done = await uow.stock.set(shop_id, sku.id, absolute)
    else:
        raise ValueError("give delta or absolute")
    if done is None:
        raise OutOfStock(
            f"Adjusting by {delta} would take the stock of {sku.id} below zero.",
            extra={"sku_id": sku.id},
        )
    uow.audit.add(
        AuditEntry.record(
            actor,
            "sku.stock_adjusted" if delta is not None else "sku.stock_set",
            target_type="sku",
            target_id=sku.id,
            shop_id=shop_id,
            before={"stock": done.before},
            after={"stock": done.after, **({"delta": delta} if delta is not None else {})},
        )
    )
    await _alert(uow, shop_id, [done], {sku.id: sku.out_sku_id})
    await uow.flush()
    return done


def stock_low_event(product: Product, done: StockChange, out_sku_id: str | None) -> Event | None:
    """`product.stock_low` when `done` crossed the SKU's threshold, else None."""
    if not done.fell_to_low_stock or done.low_stock_threshold is None:
        return None
    data = StockLowData.model_validate(
        product_ref(product)
        | {
            "sku_id": done.sku_id,
            "out_sku_id": out_sku_id,
            "stock": done.after,
            "low_stock_threshold": done.low_stock_threshold,
        }
    )
    return Event("product.stock_low", data, resource_id=product.id)


async def _alert(
    uow: CatalogUnitOfWork,
    shop_id: str,
    changes: list[StockChange],
    out_sku_ids: Mapping[str, str | None] | None = None,
) -> None:
    for done in changes:
        if not done.fell_to_low_stock:
            continue
        if out_sku_ids is None or done.sku_id not in out_sku_ids:
            sku = await find_sku(uow, shop_id, sku_id=done.sku_id)
            out_sku_id = sku.out_sku_id
        else:
            out_sku_id = out_sku_ids[done.sku_id]
        product = await get_for_shop(uow, shop_id, done.product_id)
        event = stock_low_event(product, done, out_sku_id)
        if event is not None:
            await uow.outbox.add(event)


async def set_many(
    uow: CatalogUnitOfWork, shop_id: str, levels: Mapping[str, int]
) -> list[StockChange]:
    """Set several SKUs at once (a bulk import chunk), in id order; SKUs the shop no longer
    has are left out. The caller writes the alerts (`stock_low_event`) with its own events."""
    _check_quantities(levels, allow_zero=True)
    return await uow.stock.set_many(shop_id, levels)


def _check_quantities(lines: Mapping[str, int], *, allow_zero: bool = False) -> None:
    bad = [i for i, q in lines.items() if q < 0 or (q == 0 and not allow_zero)]
    if bad:
        raise ValidationFailed(f"Quantities must be positive (SKU {bad[0]}).")


async def reserve(
    uow: CatalogUnitOfWork, shop_id: str, lines: Mapping[str, int]
) -> list[StockChange]:
    """Take `lines` (SKU id → units) from the shop's stock: every line or none.

    The SKUs are locked in id order, so concurrent reservations of overlapping SKUs queue
    instead of deadlocking, and none ever takes units another has taken. When a line cannot
    be met nothing changes and `OutOfStock` (409 `insufficient_stock`) names the first such
    SKU by id, with the units available; a SKU the shop lacks is `SkuNotFound`.
    """
    return await _reserve(uow, shop_id, lines, at_once=True)


async def reserve_with_writes(
    uow: CatalogUnitOfWork,
    shop_id: str,
    lines: Mapping[str, int],
    refused: Callable[[DomainError], DomainError] | None = None,
) -> None:
    """`reserve`, sent with the unit of work's next writes where it can be (PostgreSQL: one
    round trip for the stock and the writes that follow it, the SKUs locked for the commit's
    round trip only), else at once. A shortage is then raised when it is sent, at the latest
    by the commit, which does not happen: `refused` turns it into the caller's own error.
    For a use case whose other writes are void without the stock (placing an order)."""
    await _reserve(uow, shop_id, lines, at_once=False, refused=refused)


async def _reserve(
    uow: CatalogUnitOfWork,
    shop_id: str,
    lines: Mapping[str, int],
    *,
    at_once: bool,
    refused: Callable[[DomainError], DomainError] | None = None,
) -> list[StockChange]:
    """What the reservation took once it is settled (nothing yet, unless `at_once`)."""
    taken: list[StockChange] = []

    async def settle(done: list[StockChange] | Shortage) -> None:
        if isinstance(done, Shortage):
            error = _shortage(lines, done)
            raise refused(error) if refused is not None else error
        await _alert(uow, shop_id, done)
        taken.extend(done)

    _check_quantities(lines)
    if lines:
        await uow.stock.reserve(shop_id, lines, settle, at_once=at_once)
    return taken


def _shortage(lines: Mapping[str, int], done: Shortage) -> DomainError:
    """Why a reservation took nothing: the SKU the shop lacks, or the first one short."""
    if done.available is None:
        return SkuNotFound(f"No SKU {done.sku_id} in this shop.", extra={"sku_id": done.sku_id})
    return OutOfStock(
        f"SKU {done.sku_id} has {done.available} in stock, fewer than "
        f"{lines[done.sku_id]} asked for.",
        extra={"sku_id": done.sku_id, "available": done.available},
    )


async def release(
    uow: CatalogUnitOfWork, shop_id: str, lines: Mapping[str, int]
) -> list[StockChange]:
    """Give reserved units back (an order closed or cancelled). A SKU deleted since is left
    out: there is nothing to return its units to."""
    _check_quantities(lines)
    return await uow.stock.release(shop_id, lines)


async def change_in_product(
    uow: CatalogUnitOfWork,
    actor: Actor,
    shop_id: str,
    product_id: str,
    sku_id: str,
    *,
    delta: int | None = None,
    absolute: int | None = None,
) -> StockChange:
    """A SKU named under its product, as the per-SKU endpoints do (404 for either)."""
    sku = await get_sku(uow, shop_id, product_id, sku_id)
    return await change(uow, actor, shop_id, sku, delta=delta, absolute=absolute)


async def change_by_ref(
    uow: CatalogUnitOfWork,
    actor: Actor,
    shop_id: str,
    *,
    sku_id: str | None,
    out_sku_id: str | None,
    delta: int | None = None,
    absolute: int | None = None,
) -> StockChange:
    """A SKU named by our id or the provider's, as the stock batch does."""
    sku = await find_sku(uow, shop_id, sku_id=sku_id, out_sku_id=out_sku_id)
    return await change(uow, actor, shop_id, sku, delta=delta, absolute=absolute)
