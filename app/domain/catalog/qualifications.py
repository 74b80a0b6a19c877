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

from app.domain.clock import utcnow
from app.domain.errors import InvalidTransition
from app.domain.ids import new_id

MAX_DOCUMENTS = 10


class QualificationStatus(StrEnum):
    """Where an industry qualification is in its platform review."""

    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"


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
