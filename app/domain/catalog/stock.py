"""Stock: set or adjust a SKU's units, and the low-stock alert.

Every stock change goes through `change` — the single endpoints, the batches, and later the
orders that reserve and release stock — so each is one conditional UPDATE (concurrent
changes all count, the stock never goes negative) and `product.stock_low` is written to the
outbox, in the same transaction, exactly when a change takes the stock from above the SKU's
`low_stock_threshold` to at or below it: once per crossing, not again while it stays low,
never on a rise. Old and new stock come from the UPDATE itself, so concurrent changes that
cross together still raise one event.
"""

from __future__ import annotations

from app.domain.audit.model import Actor, AuditEntry
from app.domain.catalog.product_services import get_for_shop, get_sku, product_event
from app.domain.catalog.products import OutOfStock, Sku, SkuNotFound, StockChange
from app.domain.uow import UnitOfWork


async def find_sku(
    uow: UnitOfWork, shop_id: str, *, sku_id: str | None = None, out_sku_id: str | None = None
) -> Sku:
    """A SKU of the shop by our id or by the provider's `out_sku_id`."""
    sku = await uow.products.find_sku(shop_id, sku_id=sku_id, out_sku_id=out_sku_id)
    if sku is None:
        named = f"SKU {sku_id}" if sku_id is not None else f"SKU with out_sku_id {out_sku_id!r}"
        raise SkuNotFound(f"No {named} in this shop.")
    return sku


async def change(
    uow: UnitOfWork,
    actor: Actor,
    shop_id: str,
    sku: Sku,
    *,
    delta: int | None = None,
    absolute: int | None = None,
) -> StockChange:
    """Adjust by `delta` or set to `absolute` (exactly one of them)."""
    done = await uow.products.change_stock(shop_id, sku.id, delta=delta, absolute=absolute)
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
    if done.fell_to_low_stock:
        product = await get_for_shop(uow, shop_id, done.product_id)
        uow.outbox.add(
            product_event(
                "product.stock_low",
                product,
                sku_id=sku.id,
                out_sku_id=sku.out_sku_id,
                stock=done.after,
                low_stock_threshold=done.low_stock_threshold,
            )
        )
    await uow.flush()
    return done


async def change_in_product(
    uow: UnitOfWork,
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
    uow: UnitOfWork,
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
