"""The review and sale lifecycle of a product: submit, review, list, delist, ban.

Each step writes an audit entry and, for what providers subscribe to, an outbox event in the
same transaction.
"""

from __future__ import annotations

from app.domain.audit.model import Actor
from app.domain.catalog import qualification_services
from app.domain.catalog.categories import category_tree
from app.domain.catalog.errors import NotListable, ProductNotFound
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.catalog.product_services import (
    audit_entry,
    decide_revision,
    get_for_shop,
    product_event,
)
from app.domain.catalog.products import Product, ProductStatus, RevisionStatus
from app.domain.pagination import Page, PageRequest
from app.domain.shops.model import Shop


async def submit(
    uow: CatalogUnitOfWork, actor: Actor, shop: Shop, product_id: str, *, auto_approve: bool
) -> Product:
    shop.ensure_active()
    product = await get_for_shop(uow, shop.id, product_id)
    before = product.summary()
    product.submit()
    uow.audit.add(audit_entry(actor, "product.submitted", product, before))
    if auto_approve:
        before = product.summary()
        product.approve()
        uow.audit.add(
            audit_entry(actor, "product.review_passed", product, before, auto_approved=True)
        )
        await uow.outbox.add(product_event("product.review_passed", product))
    await uow.flush()
    return product


async def list_for_sale(
    uow: CatalogUnitOfWork, actor: Actor, shop: Shop, product_id: str
) -> Product:
    shop.ensure_active()
    product = await get_for_shop(uow, shop.id, product_id)
    if product.status in (ProductStatus.APPROVED, ProductStatus.DELISTED):
        reasons = []
        if not await uow.products.has_stock(shop.id, product.id):
            reasons.append("No SKU has stock; set the stock of at least one SKU first.")
        held = await qualification_services.held(uow, shop.id)
        usability = category_tree().usability(product.category_id, str(shop.subject_type), held)
        if not usability.usable:
            missing = ", ".join(usability.missing_qualifications) or "none"
            reasons.append(
                f"The shop can no longer use the category {product.category_id} "
                f"(missing qualifications: {missing})."
            )
        if reasons:
            raise NotListable(" ".join(reasons), extra={"reasons": reasons})
    before = product.summary()
    product.list_for_sale()
    uow.audit.add(audit_entry(actor, "product.listed", product, before))
    await uow.outbox.add(product_event("product.listed", product))
    await uow.flush()
    return product


async def delist(uow: CatalogUnitOfWork, actor: Actor, shop_id: str, product_id: str) -> Product:
    product = await get_for_shop(uow, shop_id, product_id)
    before = product.summary()
    product.delist()
    uow.audit.add(audit_entry(actor, "product.delisted", product, before))
    await uow.outbox.add(product_event("product.delisted", product))
    await uow.flush()
    return product


async def review_queue(uow: CatalogUnitOfWork, page: PageRequest) -> Page[Product]:
    return await uow.products.in_review(page)


async def review(
    uow: CatalogUnitOfWork, actor: Actor, product_id: str, action: str, reason: str | None = None
) -> Product:
    """The operator's decision: `approve`, `reject` or `ban` (banned is final). On a live
    product with a pending revision in review, approve and reject decide the revision."""
    product = await uow.products.get_any(product_id)
    if product is None:
        raise ProductNotFound(f"No product {product_id}.")
    if (
        action != "ban"
        and product.status is not ProductStatus.IN_REVIEW
        and product.pending_status is RevisionStatus.IN_REVIEW
    ):
        await decide_revision(uow, actor, product, action, reason)
        await uow.flush()
        return product
    before = product.summary()
    if action == "approve":
        product.approve()
        event, extra = "product.review_passed", {}
    elif action == "reject":
        product.reject(reason or "")
        event, extra = "product.review_rejected", {"reason": reason}
    else:
        product.ban(reason or "")
        event, extra = "product.banned", {"reason": reason}
    uow.audit.add(audit_entry(actor, event, product, before, **extra))
    await uow.outbox.add(product_event(event, product, reason=extra.get("reason")))
    await uow.flush()
    return product
