"""Industry qualifications a shop holds to list in regulated categories (a food business
licence for packaged food, a cosmetics filing, a brand authorization…).

A provider submits documents for one kind; the platform reviews; an approved one counts as
held. Resubmitting (a renewal) leaves the earlier approval in force until the new one is
decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.domain.audit.model import Actor, AuditEntry
from app.domain.catalog.brands import BRAND_AUTHORIZATION, NO_BRAND, brand_catalogue
from app.domain.catalog.categories import category_tree
from app.domain.clock import utcnow
from app.domain.errors import InvalidTransition, NotFound, ValidationFailed
from app.domain.ids import new_id
from app.domain.pagination import Page, PageRequest
from app.domain.uow import UnitOfWork

MAX_DOCUMENTS = 10


class QualificationStatus(StrEnum):
    """Where an industry qualification is in its platform review."""

    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class QualificationNotFound(NotFound):
    code = "qualification_not_found"
    title = "Qualification not found"


@dataclass(eq=False)
class IndustryQualification:
    shop_id: str
    kind: str
    documents: list[str]
    submitted_by: str
    category_id: str | None = None
    brand_id: str | None = None
    note: str | None = None
    status: QualificationStatus = QualificationStatus.IN_REVIEW
    rejection_reason: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    id: str = field(default_factory=lambda: new_id("iq"))
    submitted_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    def approve(self, by: str) -> None:
        if self.status is not QualificationStatus.IN_REVIEW:
            raise InvalidTransition("approve the qualification", self.status)
        self.status = QualificationStatus.APPROVED
        self.reviewed_by, self.reviewed_at = by, utcnow()
        self.updated_at = self.reviewed_at

    def reject(self, by: str, reason: str) -> None:
        if self.status is not QualificationStatus.IN_REVIEW:
            raise InvalidTransition("reject the qualification", self.status)
        self.status = QualificationStatus.REJECTED
        self.rejection_reason = reason
        self.reviewed_by, self.reviewed_at = by, utcnow()
        self.updated_at = self.reviewed_at

    def summary(self) -> dict[str, object]:
        return {"kind": self.kind, "status": str(self.status), "category_id": self.category_id}


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
    uow: UnitOfWork,
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
    uow: UnitOfWork, shop_id: str, qualification_id: str
) -> IndustryQualification:
    """Tenancy: another shop's qualification does not exist for this one."""
    q = await uow.qualifications.get(shop_id, qualification_id)
    if q is None:
        raise QualificationNotFound(f"No qualification {qualification_id} in this shop.")
    return q


async def list_for_shop(
    uow: UnitOfWork, shop_id: str, page: PageRequest, status: QualificationStatus | None
) -> Page[IndustryQualification]:
    return await uow.qualifications.list_for_shop(shop_id, page, status=status)


async def held(uow: UnitOfWork, shop_id: str) -> frozenset[str]:
    return await uow.qualifications.approved_kinds(shop_id)


async def authorized_brands(uow: UnitOfWork, shop_id: str) -> frozenset[str]:
    return await uow.qualifications.authorized_brands(shop_id)


async def review_queue(uow: UnitOfWork, page: PageRequest) -> Page[IndustryQualification]:
    return await uow.qualifications.in_review(page)


async def review(
    uow: UnitOfWork, actor: Actor, qualification_id: str, action: str, reason: str | None = None
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
