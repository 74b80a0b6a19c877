"""Shops, their qualification submission and their members."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.clock import utcnow
from app.domain.errors import Conflict, InvalidTransition
from app.domain.ids import new_id
from app.domain.shops.errors import ShopSuspended
from app.domain.shops.permissions import Role


class SubjectType(StrEnum):
    """Who runs the shop: a person, an individual business or a company."""

    PERSONAL = "personal"
    INDIVIDUAL = "individual"
    ENTERPRISE = "enterprise"


class ShopStatus(StrEnum):
    """Where the shop is in its qualification review."""

    PENDING_QUALIFICATION = "pending_qualification"
    IN_REVIEW = "in_review"
    OPEN = "open"
    REJECTED = "rejected"


MAX_PERSONAL_SHOPS = 1
MAX_BUSINESS_SHOPS = 3  # individual + enterprise together


@dataclass(eq=False)
class Shop:
    name: str
    subject_type: SubjectType
    status: ShopStatus
    created_by: str
    logo_url: str | None = None
    rejection_reason: str | None = None
    suspended_at: datetime | None = None
    suspension_reason: str | None = None
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None
    opened_at: datetime | None = None
    #: The flat freight of the shop's orders (fen), waived from `free_shipping_from`.
    freight_fee: int = 0
    free_shipping_from: int | None = None
    id: str = field(default_factory=lambda: new_id("shop"))
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    @classmethod
    def open_new(cls, *, name: str, subject_type: SubjectType, created_by: str) -> Shop:
        now = utcnow()
        if subject_type is SubjectType.PERSONAL:
            return cls(
                name=name,
                subject_type=subject_type,
                status=ShopStatus.OPEN,
                created_by=created_by,
                opened_at=now,
                created_at=now,
                updated_at=now,
            )
        return cls(
            name=name,
            subject_type=subject_type,
            status=ShopStatus.PENDING_QUALIFICATION,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def can_sell(self) -> bool:
        return self.status is ShopStatus.OPEN and not self.suspended

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "logo_url": self.logo_url,
            "status": str(self.status),
            "suspended": self.suspended,
        }

    def _touch(self) -> None:
        self.updated_at = utcnow()

    def ensure_active(self) -> None:
        if self.suspended:
            raise ShopSuspended(
                f"Shop {self.id} is suspended: {self.suspension_reason}",
                extra={"shop_id": self.id},
            )

    def rename(self, name: str) -> None:
        self.ensure_active()
        if self.status is ShopStatus.IN_REVIEW:
            raise InvalidTransition("change the name", self.status)
        self.name = name
        self._touch()

    def change_logo(self, logo_url: str | None) -> None:
        self.ensure_active()
        self.logo_url = logo_url
        self._touch()

    def submit_qualification(self) -> None:
        self.ensure_active()
        if self.subject_type is SubjectType.PERSONAL:
            raise Conflict(
                "A personal shop needs no qualification review.",
                extra={"subject_type": str(self.subject_type)},
            )
        if self.status not in (ShopStatus.PENDING_QUALIFICATION, ShopStatus.REJECTED):
            raise InvalidTransition("submit qualifications", self.status)
        self.status = ShopStatus.IN_REVIEW
        self.submitted_at = utcnow()
        self.rejection_reason = None
        self._touch()

    def approve(self) -> None:
        if self.status is not ShopStatus.IN_REVIEW:
            raise InvalidTransition("approve", self.status)
        now = utcnow()
        self.status = ShopStatus.OPEN
        self.reviewed_at = now
        self.opened_at = now
        self._touch()

    def reject(self, reason: str) -> None:
        if self.status is not ShopStatus.IN_REVIEW:
            raise InvalidTransition("reject", self.status)
        self.status = ShopStatus.REJECTED
        self.rejection_reason = reason
        self.reviewed_at = utcnow()
        self._touch()

    def suspend(self, reason: str) -> None:
        if self.suspended:
            raise InvalidTransition("suspend", "suspended")
        self.suspended_at = utcnow()
        self.suspension_reason = reason
        self._touch()

    def reinstate(self) -> None:
        if not self.suspended:
            raise InvalidTransition("reinstate", "not suspended")
        self.suspended_at = None
        self.suspension_reason = None
        self._touch()


@dataclass(eq=False)
class Qualification:
    """The latest qualification submission of a shop; secrets are stored encrypted."""

    shop_id: str
    licence_number: str
    registered_name: str
    licence_image_url: str
    operator_name: str
    operator_id_number_encrypted: str
    operator_id_number_last4: str
    bank_account_name: str
    bank_name: str
    bank_account_number_encrypted: str
    bank_account_number_last4: str
    submitted_by: str
    submitted_at: datetime = field(default_factory=utcnow)
    version: int = 1


@dataclass(eq=False)
class Member:
    shop_id: str
    account_id: str
    role: Role
    added_by: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    version: int = 1

    def change_role(self, role: Role) -> None:
        self.role = role
        self.updated_at = utcnow()
