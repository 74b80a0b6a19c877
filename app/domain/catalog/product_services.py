"""Use cases of products and SKUs — create, read, edit, delete, prices and stock — run
through a unit of work that the edge commits. The review and sale lifecycle is in
`product_lifecycle`.

Tenancy: every provider use case takes the token's shop and looks products up through
`uow.products.get(shop_id, ...)`, so another shop's product does not exist here (404).
Each change writes an audit entry, and the events providers subscribe to go to the outbox
in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from app.domain.audit.model import Actor, AuditEntry
from app.domain.catalog import qualifications
from app.domain.catalog.categories import category_tree
from app.domain.catalog.products import (
    REGION_CODES,
    REVIEWED_FIELDS,
    Condition,
    OutOfStock,
    Product,
    ProductFilter,
    ProductNotFound,
    ProductRecord,
    ProductStatus,
    Sku,
    SkuNotFound,
    attrs_key,
)
from app.domain.clock import utcnow
from app.domain.errors import Conflict, InvalidTransition, ValidationFailed
from app.domain.events.model import Event
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Shop
from app.domain.shops.services import check_version
from app.domain.uow import UnitOfWork

MAX_SKUS = 100
#: States in which the provider may edit a product directly (a listed product, or one with
#: a pending revision, is revised instead).
EDITABLE = (
    ProductStatus.DRAFT,
    ProductStatus.REJECTED,
    ProductStatus.APPROVED,
    ProductStatus.DELISTED,
    ProductStatus.LISTED,
)


class OutProductIdTaken(Conflict):
    code = "out_product_id_taken"
    title = "Another product of the shop has this out_product_id"


class ProductWasListed(Conflict):
    code = "product_was_listed"
    title = "A product that was ever listed cannot be deleted"


@dataclass
class SkuFields:
    sale_attrs: dict[str, str]
    price: int
    market_price: int | None = None
    stock: int = 0
    out_sku_id: str | None = None
    barcode: str | None = None
    weight_g: int | None = None


@dataclass
class ProductFields:
    title: str
    category_id: str
    subtitle: str = ""
    description: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    brand: str | None = None
    attributes: list[dict[str, str]] = field(default_factory=list)
    condition: Condition = Condition.NEW
    regions: list[str] = field(default_factory=list)
    out_product_id: str | None = None


def _err(loc: str, msg: str, type_: str = "invalid") -> dict[str, Any]:
    return {"loc": loc.split("."), "msg": msg, "type": type_}


def _raise(errors: list[dict[str, Any]]) -> None:
    if errors:
        summary = "; ".join(f"{'.'.join(e['loc'][1:])}: {e['msg']}" for e in errors[:5])
        raise ValidationFailed(summary, errors=errors)


async def _category_errors(
    uow: UnitOfWork, shop: Shop, category_id: str, condition: Condition
) -> list[dict[str, Any]]:
    tree = category_tree()
    category = tree.get(category_id)
    if category is None:
        return [_err("body.category_id", f"Unknown category {category_id}.", "unknown_category")]
    if not category.is_leaf:
        return [
            _err(
                "body.category_id",
                f"{category_id} is not a leaf category; products go in leaves only.",
                "not_a_leaf",
            )
        ]
    held = await qualifications.held(uow, shop.id)
    usability = tree.usability(category_id, str(shop.subject_type), held)
    errors = []
    if not usability.open_to_shop_type:
        errors.append(
            _err(
                "body.category_id",
                f"{category_id} is not open to {shop.subject_type} shops.",
                "category_not_open",
            )
        )
    elif usability.missing_qualifications:
        missing = ", ".join(usability.missing_qualifications)
        errors.append(
            _err(
                "body.category_id",
                f"The shop lacks the qualifications {category_id} requires: {missing}.",
                "missing_qualifications",
            )
        )
    if str(condition) not in category.conditions:
        errors.append(
            _err(
                "body.condition",
                f"{category_id} allows the conditions {', '.join(category.conditions)} only.",
                "condition_not_allowed",
            )
        )
    return errors


def _region_errors(regions: list[str]) -> list[dict[str, Any]]:
    return [
        _err(f"body.regions.{i}", f"{code!r} is not a GB/T 2260 province code.", "unknown_region")
        for i, code in enumerate(regions)
        if code not in REGION_CODES
    ]


def _price_errors(prefix: str, price: int, market_price: int | None) -> list[dict[str, Any]]:
    if market_price is not None and market_price < price:
        return [_err(f"{prefix}market_price", "market_price must be at least the price.")]
    return []


def _sku_errors(skus: list[SkuFields]) -> list[dict[str, Any]]:
    """Prices, and one SKU per sale-attribute combination (the error names both indexes)."""
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, sku in enumerate(skus):
        errors += _price_errors(f"body.skus.{i}.", sku.price, sku.market_price)
        key = attrs_key(sku.sale_attrs)
        if key in seen:
            errors.append(
                _err(
                    f"body.skus.{i}.sale_attrs",
                    f"SKU {i} has the same sale attributes as SKU {seen[key]}; each SKU needs "
                    "its own combination.",
                    "duplicate_sale_attrs",
                )
            )
        else:
            seen[key] = i
    return errors


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
    errors = await _category_errors(uow, shop, fields.category_id, fields.condition)
    errors += _region_errors(fields.regions)
    if not 1 <= len(skus) <= MAX_SKUS:
        errors.append(_err("body.skus", f"Send 1 to {MAX_SKUS} SKUs."))
    errors += _sku_errors(skus)
    _raise(errors)
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


def _expand_category(f: ProductFilter) -> ProductFilter:
    """A branch category filters on every leaf beneath it."""
    tree = category_tree()
    if f.category_id is not None and tree.get(f.category_id) is not None:
        return replace(f, category_ids=tree.leaves_under(f.category_id))
    if f.category_id is not None:
        return replace(f, category_ids=(f.category_id,))
    return f


async def list_for_shop(
    uow: UnitOfWork, shop_id: str, page: PageRequest, f: ProductFilter
) -> Page[Product]:
    return await uow.products.list_for_shop(shop_id, page, _expand_category(f))


# The provider's reads, as records: the same rules as above without loading entities.


async def read_for_shop(uow: UnitOfWork, shop_id: str, product_id: str) -> ProductRecord:
    record = await uow.product_reads.get(shop_id, product_id)
    if record is None:
        raise ProductNotFound(f"No product {product_id} in this shop.")
    return record


async def read_by_out_id(uow: UnitOfWork, shop_id: str, out_product_id: str) -> ProductRecord:
    record = await uow.product_reads.get_by_out_id(shop_id, out_product_id)
    if record is None:
        raise ProductNotFound(f"No product with out_product_id {out_product_id!r} in this shop.")
    return record


async def read_page(
    uow: UnitOfWork, shop_id: str, page: PageRequest, f: ProductFilter
) -> Page[ProductRecord]:
    return await uow.product_reads.list_for_shop(shop_id, page, _expand_category(f))


async def update(
    uow: UnitOfWork,
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
    if product.status not in EDITABLE:
        raise InvalidTransition("edit the product", product.status)
    revising = product.revises_in_place
    current = product.pending_view() if revising else {}
    changed = {k: v for k, v in changes.items() if current.get(k, getattr(product, k)) != v}
    if not changed:
        return product
    errors: list[dict[str, Any]] = []
    if "category_id" in changed or "condition" in changed:
        errors += await _category_errors(
            uow,
            shop,
            changed.get("category_id", current.get("category_id", product.category_id)),
            changed.get("condition", current.get("condition", product.condition)),
        )
    if "regions" in changed:
        errors += _region_errors(changed["regions"])
    _raise(errors)
    if "out_product_id" in changed:
        await _check_out_id(uow, shop.id, changed["out_product_id"], own=product.id)
    before = product.summary()
    reviewed = {k: v for k, v in changed.items() if k in REVIEWED_FIELDS}
    direct = {k: v for k, v in changed.items() if k not in REVIEWED_FIELDS}
    for name, value in direct.items():
        setattr(product, name, value)
    if revising and reviewed:
        pending = product.propose(reviewed)
        uow.audit.add(
            audit_entry(actor, "product.revision_submitted", product, before, pending=pending)
        )
        if auto_approve and pending:
            await _approve_revision(uow, actor, product, auto_approved=True)
        elif direct:
            _updated(uow, actor, product, before, sorted(direct))
    else:
        for name, value in reviewed.items():
            setattr(product, name, value)
        if reviewed:
            product.back_to_draft()
        else:
            product.updated_at = utcnow()
        _updated(uow, actor, product, before, sorted(changed))
    await uow.flush()
    return product


def _updated(
    uow: UnitOfWork, actor: Actor, product: Product, before: dict[str, Any], changed: list[str]
) -> None:
    uow.audit.add(audit_entry(actor, "product.updated", product, before, changed=changed))
    uow.outbox.add(product_event("product.updated", product, changed=changed))


async def _approve_revision(
    uow: UnitOfWork, actor: Actor, product: Product, **extra: Any
) -> list[str]:
    """Swap the revision in: the live fields change in this one transaction."""
    before = product.summary()
    changed = product.approve_revision()
    uow.audit.add(
        audit_entry(actor, "product.review_passed", product, before, revision=True, **extra)
    )
    uow.outbox.add(product_event("product.review_passed", product, revision=True, changed=changed))
    _updated(uow, actor, product, before, changed)
    return changed


async def decide_revision(
    uow: UnitOfWork, actor: Actor, product: Product, action: str, reason: str | None
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
    uow.outbox.add(product_event("product.review_rejected", product, revision=True, reason=reason))


async def discard_revision(uow: UnitOfWork, actor: Actor, shop_id: str, product_id: str) -> Product:
    """The provider withdraws its pending revision; the live version is untouched."""
    product = await get_for_shop(uow, shop_id, product_id)
    before = product.summary()
    product.discard_revision()
    uow.audit.add(audit_entry(actor, "product.revision_discarded", product, before))
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
        errors.append(_err("body", f"A product has at most {MAX_SKUS} SKUs."))
    errors += _price_errors("body.", fields.price, fields.market_price)
    taken = {s.attrs_key: s.id for s in existing}
    if attrs_key(fields.sale_attrs) in taken:
        errors.append(
            _err(
                "body.sale_attrs",
                f"SKU {taken[attrs_key(fields.sale_attrs)]} already has these sale attributes.",
                "duplicate_sale_attrs",
            )
        )
    _raise(errors)
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
    _raise(
        _price_errors(
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
