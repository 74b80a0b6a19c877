"""The use cases of industry qualifications: a provider submits one, the platform reviews it,
and the catalogue rules ask which kinds and brands a shop holds."""

from __future__ import annotations

from app.domain.audit.model import Actor, AuditEntry
from app.domain.catalog.brands import BRAND_AUTHORIZATION, NO_BRAND, brand_catalogue
from app.domain.catalog.categories import category_tree
from app.domain.catalog.errors import QualificationNotFound
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.catalog.qualifications import (
    MAX_DOCUMENTS,
    IndustryQualification,
    QualificationStatus,
)
from app.domain.errors import ValidationFailed
from app.domain.pagination import Page, PageRequest


def _audit(
    actor: Actor, action: str, q: IndustryQualification, before: dict[str, object] | None
) -> AuditEntry:
    return AuditEntry.record(
        actor,
        action,
        target_type="industry_qualification",
        target_id=q.id,
        shop_id=q.shop_id,
        before=before,
        after=q.summary(),
    )


async def submit(
    uow: CatalogUnitOfWork,
    actor: Actor,
    shop_id: str,
    *,
    kind: str,
    documents: list[str],
    category_id: str | None,
    brand_id: str | None,
    note: str | None,
    auto_approve: bool,
) -> IndustryQualification:
    tree = category_tree()
    if kind not in tree.qualifications:
        raise ValidationFailed.field("body.kind", f"Unknown qualification kind {kind!r}.")
    if category_id is not None:
        category = tree.get(category_id)
        if category is None:
            raise ValidationFailed.field("body.category_id", f"Unknown category {category_id}.")
        needed = {
            q for leaf in tree.leaves_under(category.id) for q in tree.by_id[leaf].qualifications
        }
        if kind not in needed:
            raise ValidationFailed.field(
                "body.kind", f"The category {category_id} does not require {kind}."
            )
    if kind == BRAND_AUTHORIZATION:
        if brand_id is None or brand_id == NO_BRAND:
            raise ValidationFailed.field(
                "body.brand_id", "A brand authorization names the brand it is for."
            )
        if brand_catalogue().get(brand_id) is None:
            raise ValidationFailed.field(
                "body.brand_id", f"Unknown brand {brand_id}.", type_="unknown_brand"
            )
    elif brand_id is not None:
        raise ValidationFailed.field(
            "body.brand_id", f"Only a {BRAND_AUTHORIZATION} names a brand, not {kind}."
        )
    if not documents or len(documents) > MAX_DOCUMENTS:
        raise ValidationFailed.field("body.documents", f"Send 1 to {MAX_DOCUMENTS} document URLs.")
    q = IndustryQualification(
        shop_id=shop_id,
        kind=kind,
        documents=list(documents),
        submitted_by=actor.id,
        category_id=category_id,
        brand_id=brand_id,
        note=note,
    )
    uow.qualifications.add(q)
    uow.audit.add(_audit(actor, "qualification.submitted", q, None))
    if auto_approve:
        before = q.summary()
        q.approve("system:auto-approve")
        uow.audit.add(_audit(actor, "qualification.approved", q, before))
    await uow.flush()
    return q


async def get_for_shop(
    uow: CatalogUnitOfWork, shop_id: str, qualification_id: str
) -> IndustryQualification:
    """Tenancy: another shop's qualification does not exist for this one."""
    q = await uow.qualifications.get(shop_id, qualification_id)
    if q is None:
        raise QualificationNotFound(f"No qualification {qualification_id} in this shop.")
    return q


async def list_for_shop(
    uow: CatalogUnitOfWork, shop_id: str, page: PageRequest, status: QualificationStatus | None
) -> Page[IndustryQualification]:
    return await uow.qualifications.list_for_shop(shop_id, page, status=status)


async def held(uow: CatalogUnitOfWork, shop_id: str) -> frozenset[str]:
    return await uow.qualifications.approved_kinds(shop_id)


async def authorized_brands(uow: CatalogUnitOfWork, shop_id: str) -> frozenset[str]:
    return await uow.qualifications.authorized_brands(shop_id)


async def review_queue(uow: CatalogUnitOfWork, page: PageRequest) -> Page[IndustryQualification]:
    return await uow.qualifications.in_review(page)


async def review(
    uow: CatalogUnitOfWork,
    actor: Actor,
    qualification_id: str,
    action: str,
    reason: str | None = None,
) -> IndustryQualification:
    q = await uow.qualifications.get_any(qualification_id)
    if q is None:
        raise QualificationNotFound(f"No qualification {qualification_id}.")
    before = q.summary()
    if action == "approve":
        q.approve(actor.id)
    else:
        q.reject(actor.id, reason or "")
    uow.audit.add(
        _audit(
            actor,
            "qualification.approved" if action == "approve" else "qualification.rejected",
            q,
            before,
        )
    )
    await uow.flush()
    return q
