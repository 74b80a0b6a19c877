"""Use cases of products and SKUs — create, read, edit, delete, prices — run through a unit
of work that the edge commits. The review and sale lifecycle is in `product_lifecycle`,
stock changes and the low-stock alert in `stock`, the validation rules in `product_rules`.

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
from app.domain.catalog.errors import (
    OutProductIdTaken,
    ProductNotFound,
    ProductWasListed,
    SkuNotFound,
)
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.catalog.product_rules import MAX_SKUS, brand_name
from app.domain.catalog.product_rules import ProductFields as ProductFields
from app.domain.catalog.product_rules import SkuFields as SkuFields
from app.domain.catalog.products import (
    REVIEWED_FIELDS,
    Product,
    ProductFilter,
    ProductRecord,
    ProductStatus,
    Sku,
    attrs_key,
)
from app.domain.clock import utcnow
from app.domain.errors import InvalidTransition
from app.domain.events.catalog import ProductEventData
from app.domain.events.model import Event
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Shop
from app.domain.shops.services import check_version

#: States in which the provider may edit a product (a listed product, or one with a pending
#: revision, takes reviewed changes into its revision).
EDITABLE = (
    ProductStatus.DRAFT,
    ProductStatus.REJECTED,
    ProductStatus.APPROVED,
    ProductStatus.DELISTED,
    ProductStatus.LISTED,
)


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


def product_ref(p: Product) -> dict[str, Any]:
    """The fields every product event names the product by (`events.catalog.ProductRef`)."""
    return {
        "shop_id": p.shop_id,
        "product_id": p.id,
        "out_product_id": p.out_product_id,
        "status": p.status,
    }


def product_event(
    type_: str,
    p: Product,
    *,
    changed: list[str] | None = None,
    revision: bool | None = None,
    reason: str | None = None,
    sku_id: str | None = None,
) -> Event:
    """A `product.*` event about `p`; the optional fields that do not apply stay absent."""
    optional = {"changed": changed, "revision": revision, "reason": reason, "sku_id": sku_id}
    data = ProductEventData.model_validate(
        product_ref(p) | {k: v for k, v in optional.items() if v is not None}
    )
    return Event(type_, data, resource_id=p.id)


async def _check_out_id(uow: CatalogUnitOfWork, shop_id: str, out_id: str | None, own: str) -> None:
    if out_id is None:
        return
    other = await uow.products.get_by_out_id(shop_id, out_id)
    if other is not None and other.id != own:
        raise OutProductIdTaken(
            f"The shop already has a product with out_product_id {out_id!r}.",
            extra={"product_id": other.id},
        )


async def _check_template(uow: CatalogUnitOfWork, shop_id: str, template_id: str | None) -> None:
    """A product names one of its shop's freight templates (`rules.template_errors`)."""
    if template_id is not None:
        known = await uow.freight_templates.existing(shop_id, [template_id])
        rules.raise_errors(rules.template_errors(template_id, known))


async def create(
    uow: CatalogUnitOfWork, actor: Actor, shop: Shop, fields: ProductFields, skus: list[SkuFields]
) -> tuple[Product, list[Sku]]:
    shop.ensure_active()
    sc = await rules.shop_catalog(uow, shop)
    rules.raise_errors(rules.new_product_errors(sc, fields, skus))
    await _check_template(uow, shop.id, fields.freight_template_id)
    await _check_out_id(uow, shop.id, fields.out_product_id, own="")
    product = Product(shop_id=shop.id, brand=brand_name(fields.brand_id), **vars(fields))
    uow.products.add(product)
    await uow.flush()  # the product row first: SKUs reference it
    made = [Sku(shop_id=shop.id, product_id=product.id, **vars(s)) for s in skus]
    for sku in made:
        uow.products.add_sku(sku)
    uow.audit.add(audit_entry(actor, "product.created", product, None, skus=len(made)))
    await uow.flush()
    return product, made


async def get_for_shop(uow: CatalogUnitOfWork, shop_id: str, product_id: str) -> Product:
    product = await uow.products.get(shop_id, product_id)
    if product is None:
        raise ProductNotFound(f"No product {product_id} in this shop.")
    return product


async def get_by_out_id(uow: CatalogUnitOfWork, shop_id: str, out_product_id: str) -> Product:
    product = await uow.products.get_by_out_id(shop_id, out_product_id)
    if product is None:
        raise ProductNotFound(f"No product with out_product_id {out_product_id!r} in this shop.")
    return product


async def skus_of(uow: CatalogUnitOfWork, products: list[Product]) -> dict[str, list[Sku]]:
    """The SKUs of each product; one query per shop (a provider's page has one shop, the
    operator's review queue a few)."""
    by_shop: dict[str, list[str]] = {}
    for p in products:
        by_shop.setdefault(p.shop_id, []).append(p.id)
    out: dict[str, list[Sku]] = {}
    for shop_id, product_ids in by_shop.items():
        out |= await uow.products.skus_of(shop_id, product_ids)
    return out


def _expand_category(f: ProductFilter) -> ProductFilter:
    """A branch category filters on every leaf beneath it."""
    tree = category_tree()
    if f.category_id is not None and tree.get(f.category_id) is not None:
        return replace(f, category_ids=tree.leaves_under(f.category_id))
    if f.category_id is not None:
        return replace(f, category_ids=(f.category_id,))
    return f


async def list_for_shop(
    uow: CatalogUnitOfWork, shop_id: str, page: PageRequest, f: ProductFilter
) -> Page[Product]:
    return await uow.products.list_for_shop(shop_id, page, _expand_category(f))


# The provider's reads, as records: the same rules as above without loading entities.


async def read_for_shop(uow: CatalogUnitOfWork, shop_id: str, product_id: str) -> ProductRecord:
    record = await uow.product_reads.get(shop_id, product_id)
    if record is None:
        raise ProductNotFound(f"No product {product_id} in this shop.")
    return record


async def read_by_out_id(
    uow: CatalogUnitOfWork, shop_id: str, out_product_id: str
) -> ProductRecord:
    record = await uow.product_reads.get_by_out_id(shop_id, out_product_id)
    if record is None:
        raise ProductNotFound(f"No product with out_product_id {out_product_id!r} in this shop.")
    return record


async def read_page(
    uow: CatalogUnitOfWork, shop_id: str, page: PageRequest, f: ProductFilter
) -> Page[ProductRecord]:
    return await uow.product_reads.list_for_shop(shop_id, page, _expand_category(f))


def ensure_editable(product: Product) -> None:
    if product.status not in EDITABLE:
        raise InvalidTransition("edit the product", product.status)


def current_content(product: Product) -> dict[str, Any]:
    """What an edit is compared with and checked against: the pending revision over the live
    fields when edits go into a revision, else the product's own fields."""
    return product.pending_view() if product.revises_in_place else {}


def content_changes(product: Product, changes: dict[str, Any]) -> dict[str, Any]:
    """The given fields whose value differs from the product's (or its pending revision's);
    a new `brand_id` brings the brand's name along."""
    current = current_content(product)
    changed = {k: v for k, v in changes.items() if current.get(k, getattr(product, k)) != v}
    if "brand_id" in changed:
        changed["brand"] = brand_name(changed["brand_id"])
    return changed


def changed_errors(
    sc: rules.ShopCatalog, product: Product, changed: dict[str, Any], prefix: str = "body"
) -> list[dict[str, Any]]:
    current = current_content(product)
    return rules.changed_product_errors(
        sc,
        current.get("category_id", product.category_id),
        current.get("condition", product.condition),
        changed,
        prefix,
        current_brand=current.get("brand_id", product.brand_id),
    )


def apply_content(product: Product, changed: dict[str, Any]) -> list[str] | None:
    """Apply an edit. Fields outside review apply at once. Reviewed content of a listed
    product (or one with a pending revision) goes into the revision: returns the fields the
    revision now changes. Otherwise it applies at once, sending an approved or delisted
    product back to draft: returns None."""
    reviewed = {k: v for k, v in changed.items() if k in REVIEWED_FIELDS}
    for name, value in changed.items():
        if name not in reviewed:
            setattr(product, name, value)
    if reviewed and product.revises_in_place:
        return product.propose(reviewed)
    for name, value in reviewed.items():
        setattr(product, name, value)
    if reviewed:
        product.back_to_draft()
    else:
        product.updated_at = utcnow()
    return None


async def update(
    uow: CatalogUnitOfWork,
    actor: Actor,
    shop: Shop,
    product_id: str,
    changes: dict[str, Any],
    expected_version: int | None,
    *,
    auto_approve: bool = False,
) -> Product:
    """Edit a product. In draft, rejected, approved and delisted the edit applies at once (a
    change of reviewed content sends an approved or delisted product back to draft). A listed
    product keeps selling: reviewed changes go into its pending revision, which is reviewed on
    its own (approved at once with `auto_approve`); other fields apply at once."""
    shop.ensure_active()
    product = await get_for_shop(uow, shop.id, product_id)
    check_version(product.version, expected_version)
    ensure_editable(product)
    changed = content_changes(product, changes)
    if not changed:
        return product
    sc = await rules.shop_catalog(uow, shop)
    rules.raise_errors(changed_errors(sc, product, changed))
    if "out_product_id" in changed:
        await _check_out_id(uow, shop.id, changed["out_product_id"], own=product.id)
    if "freight_template_id" in changed:
        await _check_template(uow, shop.id, changed["freight_template_id"])
    before = product.summary()
    pending = apply_content(product, changed)
    if pending is None:
        await _updated(uow, actor, product, before, sorted(changed))
    else:
        uow.audit.add(
            audit_entry(actor, "product.revision_submitted", product, before, pending=pending)
        )
        direct = sorted(k for k in changed if k not in REVIEWED_FIELDS)
        if auto_approve and pending:
            await _approve_revision(uow, actor, product, auto_approved=True)
        elif direct:
            await _updated(uow, actor, product, before, direct)
    await uow.flush()
    return product


async def _updated(
    uow: CatalogUnitOfWork,
    actor: Actor,
    product: Product,
    before: dict[str, Any],
    changed: list[str],
) -> None:
    uow.audit.add(audit_entry(actor, "product.updated", product, before, changed=changed))
    await uow.outbox.add(product_event("product.updated", product, changed=changed))


async def _approve_revision(
    uow: CatalogUnitOfWork, actor: Actor, product: Product, **extra: Any
) -> list[str]:
    """Swap the revision in: the live fields change in this one transaction."""
    before = product.summary()
    changed = product.approve_revision()
    uow.audit.add(
        audit_entry(actor, "product.review_passed", product, before, revision=True, **extra)
    )
    await uow.outbox.add(
        product_event("product.review_passed", product, revision=True, changed=changed)
    )
    await _updated(uow, actor, product, before, changed)
    return changed


async def decide_revision(
    uow: CatalogUnitOfWork, actor: Actor, product: Product, action: str, reason: str | None
) -> None:
    """The operator's decision on a pending revision: `approve` or `reject`."""
    if action == "approve":
        await _approve_revision(uow, actor, product)
        return
    before = product.summary()
    product.reject_revision(reason or "")
    uow.audit.add(
        audit_entry(actor, "product.review_rejected", product, before, revision=True, reason=reason)
    )
    await uow.outbox.add(
        product_event("product.review_rejected", product, revision=True, reason=reason)
    )


async def discard_revision(
    uow: CatalogUnitOfWork, actor: Actor, shop_id: str, product_id: str
) -> Product:
    """The provider withdraws its pending revision; the live version is untouched."""
    product = await get_for_shop(uow, shop_id, product_id)
    before = product.summary()
    product.discard_revision()
    uow.audit.add(audit_entry(actor, "product.revision_discarded", product, before))
    await uow.flush()
    return product


async def delete(uow: CatalogUnitOfWork, actor: Actor, shop_id: str, product_id: str) -> None:
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
    uow: CatalogUnitOfWork, actor: Actor, shop: Shop, product_id: str, fields: SkuFields
) -> tuple[Product, Sku]:
    shop.ensure_active()
    product = await get_for_shop(uow, shop.id, product_id)
    if product.status is ProductStatus.BANNED:
        raise InvalidTransition("add a SKU", product.status)
    existing = (await uow.products.skus_of(shop.id, [product.id]))[product.id]
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
    await uow.outbox.add(product_event("product.updated", product, changed=["skus"], sku_id=sku.id))
    await uow.flush()
    return product, sku


async def get_sku(uow: CatalogUnitOfWork, shop_id: str, product_id: str, sku_id: str) -> Sku:
    await get_for_shop(uow, shop_id, product_id)
    sku = await uow.products.get_sku(shop_id, product_id, sku_id)
    if sku is None:
        raise SkuNotFound(f"No SKU {sku_id} in product {product_id}.")
    return sku


async def update_sku(
    uow: CatalogUnitOfWork,
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
    await uow.outbox.add(
        product_event("product.updated", product, changed=sorted(changed), sku_id=sku.id)
    )
    await uow.flush()
    return sku
