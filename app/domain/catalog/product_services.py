"""Use cases of products and SKUs — create, read, edit, delete, prices and stock — run
through a unit of work that the edge commits. The review and sale lifecycle is in
`product_lifecycle`.

Tenancy: every provider use case takes the token's shop and looks products up through
`uow.products.get(shop_id, ...)`, so another shop's product does not exist here (404).
Each change writes an audit entry, and the events providers subscribe to go to the outbox
in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.domain.audit.model import Actor, AuditEntry
from app.domain.catalog import product_rules as rules
from app.domain.catalog.categories import category_tree
from app.domain.catalog.product_rules import MAX_SKUS
from app.domain.catalog.product_rules import ProductFields as ProductFields
from app.domain.catalog.product_rules import SkuFields as SkuFields
from app.domain.catalog.products import (
    OutOfStock,
    Product,
    ProductFilter,
    ProductNotFound,
    ProductStatus,
    Sku,
    SkuNotFound,
    attrs_key,
)
from app.domain.clock import utcnow
from app.domain.errors import Conflict, InvalidTransition
from app.domain.events.model import Event
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Shop
from app.domain.shops.services import check_version
from app.domain.uow import UnitOfWork

#: Fields whose change sends an approved or delisted product back through review.
REVIEWED_FIELDS = (
    "title",
    "subtitle",
    "description",
    "images",
    "category_id",
    "brand",
    "attributes",
    "condition",
    "regions",
)
#: States in which the provider may edit a product directly.
EDITABLE = (
    ProductStatus.DRAFT,
    ProductStatus.REJECTED,
    ProductStatus.APPROVED,
    ProductStatus.DELISTED,
)


class OutProductIdTaken(Conflict):
    code = "out_product_id_taken"
    title = "Another product of the shop has this out_product_id"


class ProductWasListed(Conflict):
    code = "product_was_listed"
    title = "A product that was ever listed cannot be deleted"


def audit_entry(
    actor: Actor, action: str, p: Product, before: dict[str, Any] | None, **after: Any
) -> AuditEntry:
    return AuditEntry.record(
        actor,
        action,
        target_type="product",
        target_id=p.id,
        shop_id=p.shop_id,
        before=before,
        after={**p.summary(), **after},
    )


def product_event(type_: str, p: Product, **data: Any) -> Event:
    return Event(
        type=type_,
        shop_id=p.shop_id,
        resource_id=p.id,
        data={
            "product_id": p.id,
            "out_product_id": p.out_product_id,
            "status": str(p.status),
            **data,
        },
    )


async def _check_out_id(uow: UnitOfWork, shop_id: str, out_id: str | None, own: str) -> None:
    if out_id is None:
        return
    other = await uow.products.get_by_out_id(shop_id, out_id)
    if other is not None and other.id != own:
        raise OutProductIdTaken(
            f"The shop already has a product with out_product_id {out_id!r}.",
            extra={"product_id": other.id},
        )


async def create(
    uow: UnitOfWork, actor: Actor, shop: Shop, fields: ProductFields, skus: list[SkuFields]
) -> tuple[Product, list[Sku]]:
    shop.ensure_active()
    sc = await rules.shop_catalog(uow, shop)
    rules.raise_errors(rules.new_product_errors(sc, fields, skus))
    await _check_out_id(uow, shop.id, fields.out_product_id, own="")
    product = Product(shop_id=shop.id, **vars(fields))
    uow.products.add(product)
    await uow.flush()  # the product row first: SKUs reference it
    made = [Sku(shop_id=shop.id, product_id=product.id, **vars(s)) for s in skus]
    for sku in made:
        uow.products.add_sku(sku)
    uow.audit.add(audit_entry(actor, "product.created", product, None, skus=len(made)))
    await uow.flush()
    return product, made


async def get_for_shop(uow: UnitOfWork, shop_id: str, product_id: str) -> Product:
    product = await uow.products.get(shop_id, product_id)
    if product is None:
        raise ProductNotFound(f"No product {product_id} in this shop.")
    return product


async def get_by_out_id(uow: UnitOfWork, shop_id: str, out_product_id: str) -> Product:
    product = await uow.products.get_by_out_id(shop_id, out_product_id)
    if product is None:
        raise ProductNotFound(f"No product with out_product_id {out_product_id!r} in this shop.")
    return product


async def skus_of(uow: UnitOfWork, products: list[Product]) -> dict[str, list[Sku]]:
    return await uow.products.skus_of([p.id for p in products])


async def list_for_shop(
    uow: UnitOfWork, shop_id: str, page: PageRequest, f: ProductFilter
) -> Page[Product]:
    """A branch category filters on every leaf beneath it."""
    tree = category_tree()
    if f.category_id is not None and tree.get(f.category_id) is not None:
        f = replace(f, category_ids=tree.leaves_under(f.category_id))
    elif f.category_id is not None:
        f = replace(f, category_ids=(f.category_id,))
    return await uow.products.list_for_shop(shop_id, page, f)


def ensure_editable(product: Product) -> None:
    if product.status not in EDITABLE:
        raise InvalidTransition(
            "edit the product (delist it first; edits of listed products are not supported yet)",
            product.status,
        )


def content_changes(product: Product, changes: dict[str, Any]) -> dict[str, Any]:
    """The given fields whose value differs from the product's."""
    return {k: v for k, v in changes.items() if getattr(product, k) != v}


def apply_content(product: Product, changed: dict[str, Any]) -> None:
    """A change of reviewed content sends an approved or delisted product back to draft."""
    for name, value in changed.items():
        setattr(product, name, value)
    if any(name in REVIEWED_FIELDS for name in changed):
        product.back_to_draft()
    else:
        product.updated_at = utcnow()


async def update(
    uow: UnitOfWork,
    actor: Actor,
    shop: Shop,
    product_id: str,
    changes: dict[str, Any],
    expected_version: int | None,
) -> Product:
    """Direct edits in draft, rejected, approved and delisted. A listed product would need a
    pending revision reviewed while the live version keeps selling: not built yet, so 409."""
    shop.ensure_active()
    product = await get_for_shop(uow, shop.id, product_id)
    check_version(product.version, expected_version)
    ensure_editable(product)
    changed = content_changes(product, changes)
    if not changed:
        return product
    sc = await rules.shop_catalog(uow, shop)
    rules.raise_errors(
        rules.changed_product_errors(sc, product.category_id, product.condition, changed)
    )
    if "out_product_id" in changed:
        await _check_out_id(uow, shop.id, changed["out_product_id"], own=product.id)
    before = product.summary()
    apply_content(product, changed)
    uow.audit.add(audit_entry(actor, "product.updated", product, before, changed=sorted(changed)))
    uow.outbox.add(product_event("product.updated", product, changed=sorted(changed)))
    await uow.flush()
    return product


async def delete(uow: UnitOfWork, actor: Actor, shop_id: str, product_id: str) -> None:
    product = await get_for_shop(uow, shop_id, product_id)
    if product.ever_listed:
        raise ProductWasListed(
            "The product has been listed before; delist it instead of deleting it.",
            extra={"current_status": str(product.status)},
        )
    uow.audit.add(audit_entry(actor, "product.deleted", product, product.summary()))
    await uow.products.delete(product)
    await uow.flush()


async def add_sku(
    uow: UnitOfWork, actor: Actor, shop: Shop, product_id: str, fields: SkuFields
) -> tuple[Product, Sku]:
    shop.ensure_active()
    product = await get_for_shop(uow, shop.id, product_id)
    if product.status is ProductStatus.BANNED:
        raise InvalidTransition("add a SKU", product.status)
    existing = (await uow.products.skus_of([product.id]))[product.id]
    errors = []
    if len(existing) >= MAX_SKUS:
        errors.append(rules.sku_count_error("body"))
    errors += rules.price_errors("body.", fields.price, fields.market_price)
    taken = {s.attrs_key: s.id for s in existing}
    if attrs_key(fields.sale_attrs) in taken:
        errors.append(
            rules.duplicate_attrs_error("body.sale_attrs", taken[attrs_key(fields.sale_attrs)])
        )
    rules.raise_errors(errors)
    sku = Sku(shop_id=shop.id, product_id=product.id, **vars(fields))
    uow.products.add_sku(sku)
    product.updated_at = utcnow()
    uow.audit.add(audit_entry(actor, "product.sku_added", product, None, sku_id=sku.id))
    uow.outbox.add(product_event("product.updated", product, changed=["skus"], sku_id=sku.id))
    await uow.flush()
    return product, sku


async def get_sku(uow: UnitOfWork, shop_id: str, product_id: str, sku_id: str) -> Sku:
    await get_for_shop(uow, shop_id, product_id)
    sku = await uow.products.get_sku(shop_id, product_id, sku_id)
    if sku is None:
        raise SkuNotFound(f"No SKU {sku_id} in product {product_id}.")
    return sku


async def update_sku(
    uow: UnitOfWork,
    actor: Actor,
    shop: Shop,
    product_id: str,
    sku_id: str,
    changes: dict[str, Any],
) -> Sku:
    """Price and the provider's own fields change at once, without review (not when banned)."""
    shop.ensure_active()
    product = await get_for_shop(uow, shop.id, product_id)
    sku = await get_sku(uow, shop.id, product_id, sku_id)
    if product.status is ProductStatus.BANNED:
        raise InvalidTransition("change a SKU", product.status)
    changed = {k: v for k, v in changes.items() if getattr(sku, k) != v}
    if not changed:
        return sku
    rules.raise_errors(
        rules.price_errors(
            "body.", changed.get("price", sku.price), changed.get("market_price", sku.market_price)
        )
    )
    before = {k: getattr(sku, k) for k in changed}
    for name, value in changed.items():
        setattr(sku, name, value)
    sku.updated_at = product.updated_at = utcnow()
    uow.audit.add(
        AuditEntry.record(
            actor,
            "sku.updated",
            target_type="sku",
            target_id=sku.id,
            shop_id=shop.id,
            before=before,
            after={k: getattr(sku, k) for k in changed},
        )
    )
    uow.outbox.add(
        product_event("product.updated", product, changed=sorted(changed), sku_id=sku.id)
    )
    await uow.flush()
    return sku


async def change_stock(
    uow: UnitOfWork,
    actor: Actor,
    shop_id: str,
    product_id: str,
    sku_id: str,
    *,
    delta: int | None = None,
    absolute: int | None = None,
) -> int:
    """One conditional UPDATE (`stock + delta >= 0`): concurrent adjustments never lose one."""
    await get_sku(uow, shop_id, product_id, sku_id)
    new = await uow.products.change_stock(
        shop_id, product_id, sku_id, delta=delta, absolute=absolute
    )
    if new is None:
        raise OutOfStock(
            f"Adjusting by {delta} would take the stock of {sku_id} below zero.",
            extra={"sku_id": sku_id},
        )
    uow.audit.add(
        AuditEntry.record(
            actor,
            "sku.stock_adjusted" if delta is not None else "sku.stock_set",
            target_type="sku",
            target_id=sku_id,
            shop_id=shop_id,
            after={"stock": new, **({"delta": delta} if delta is not None else {})},
        )
    )
    await uow.flush()
    return new
