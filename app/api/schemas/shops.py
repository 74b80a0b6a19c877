"""Shops, qualifications, members and the audit log as merchants see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from app.api.schemas.base import HttpUrl, Input, Output
from app.domain.audit.model import ActorType, Surface
from app.domain.ports import Cipher
from app.domain.shops.model import Qualification as QualificationEntity
from app.domain.shops.model import Shop as ShopEntity
from app.domain.shops.model import ShopStatus, SubjectType
from app.domain.shops.permissions import Permission, Role
from app.domain.shops.validation import mask_tail

SHOP_ID_EXAMPLE = "shop_01jd8m3k2x9v7q4w5e6r7t8y9z"
ACCOUNT_ID_EXAMPLE = "acct_01jd8m3k2x9v7q4w5e6r7t8y9z"
TIME_EXAMPLE = "2026-11-25T08:00:00Z"


class ShopCreate(Input):
    """Open a shop. A personal shop opens at once; the others need a qualification review."""

    name: str = Field(
        min_length=1,
        max_length=64,
        description="2-30 characters: letters, digits, spaces and - _ · & ( ).",
        examples=["Mountain Tea House"],
    )
    subject_type: SubjectType = Field(
        description="`personal`, `individual` (个体工商户) or `enterprise`. An account owns at "
        "most 1 personal and 3 individual-or-enterprise shops.",
        examples=["personal"],
    )
    logo_url: HttpUrl | None = Field(
        default=None,
        description="Square logo image URL.",
        examples=["https://cdn.example.com/logo.png"],
    )


class ShopUpdate(Input):
    """Change the name (not while in review) or the logo. Send only what changes."""

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="New shop name.",
        examples=["Mountain Tea House"],
    )
    logo_url: HttpUrl | None = Field(
        default=None,
        description="New logo URL, or null.",
        examples=["https://cdn.example.com/logo2.png"],
    )


class Shop(Output):
    """A shop. `status` is the review lifecycle; `suspended` is set by the platform."""

    id: str = Field(description="Shop id.", examples=[SHOP_ID_EXAMPLE])
    name: str = Field(description="Shop name.", examples=["Mountain Tea House"])
    subject_type: SubjectType = Field(description="Who runs the shop.", examples=["enterprise"])
    status: ShopStatus = Field(
        description="`pending_qualification` → `in_review` → `open`, or `rejected`.",
        examples=["open"],
    )
    logo_url: str | None = Field(
        description="Logo URL.", examples=["https://cdn.example.com/logo.png"]
    )
    rejection_reason: str | None = Field(
        description="Why the last review was rejected.", examples=[None]
    )
    suspended: bool = Field(
        description="Whether the platform suspended the shop.", examples=[False]
    )
    suspension_reason: str | None = Field(description="Why it was suspended.", examples=[None])
    can_sell: bool = Field(description="Open and not suspended.", examples=[True])
    submitted_at: datetime | None = Field(
        description="Last qualification submission.", examples=[TIME_EXAMPLE]
    )
    opened_at: datetime | None = Field(description="When the shop opened.", examples=[TIME_EXAMPLE])
    created_at: datetime = Field(description="Creation time.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(description="Last change.", examples=[TIME_EXAMPLE])
    version: int = Field(description="Increments on every change; also the ETag.", examples=[3])


class MyShop(Shop):
    """A shop with the caller's role in it."""

    role: Role = Field(description="Your role in this shop.", examples=["owner"])
    permissions: list[Permission] = Field(
        description="What your role allows.", examples=[["shop.read", "shop.update"]]
    )


class ShopQualificationSubmit(Input):
    """Documents for the platform's review of an individual or enterprise shop."""

    licence_number: str = Field(
        min_length=15,
        max_length=18,
        description="Unified social credit code (18 characters) or legacy 15-digit number.",
        examples=["91350100M000100Y43"],
    )
    registered_name: str = Field(
        min_length=2,
        max_length=128,
        description="Name on the business licence.",
        examples=["Fuzhou Mountain Tea Co., Ltd."],
    )
    licence_image_url: HttpUrl = Field(
        description="Scan of the business licence.",
        examples=["https://cdn.example.com/licence.jpg"],
    )
    operator_name: str = Field(
        min_length=2,
        max_length=64,
        description="Legal representative or operator.",
        examples=["Wang Fang"],
    )
    operator_id_number: str = Field(
        min_length=18,
        max_length=18,
        description="Resident identity number (stored encrypted).",
        examples=["11010519491231002X"],
    )
    bank_account_name: str = Field(
        min_length=2,
        max_length=128,
        description="Settlement account holder.",
        examples=["Fuzhou Mountain Tea Co., Ltd."],
    )
    bank_name: str = Field(
        min_length=2,
        max_length=128,
        description="Bank and branch.",
        examples=["China Merchants Bank Fuzhou Branch"],
    )
    bank_account_number: str = Field(
        min_length=8,
        max_length=40,
        description="Settlement account (stored encrypted).",
        examples=["6225880137000000"],
    )


class ShopQualification(Output):
    """A submitted qualification; secret numbers are masked on every read."""

    shop_id: str = Field(description="Shop id.", examples=[SHOP_ID_EXAMPLE])
    licence_number: str = Field(description="Credit code.", examples=["91350100M000100Y43"])
    registered_name: str = Field(
        description="Name on the licence.", examples=["Fuzhou Mountain Tea Co., Ltd."]
    )
    licence_image_url: str = Field(
        description="Licence scan.", examples=["https://cdn.example.com/licence.jpg"]
    )
    operator_name: str = Field(description="Operator.", examples=["Wang Fang"])
    operator_id_number: str = Field(
        description="Masked identity number.", examples=["**************002X"]
    )
    bank_account_name: str = Field(
        description="Account holder.", examples=["Fuzhou Mountain Tea Co., Ltd."]
    )
    bank_name: str = Field(description="Bank.", examples=["China Merchants Bank Fuzhou Branch"])
    bank_account_number: str = Field(
        description="Masked account number.", examples=["************0000"]
    )
    submitted_at: datetime = Field(description="Submission time.", examples=[TIME_EXAMPLE])
    shop_status: ShopStatus = Field(description="The shop's review status.", examples=["in_review"])


class MemberCreate(Input):
    """Add an existing account to the shop with a role."""

    username: str = Field(
        min_length=3, max_length=32, description="An existing account.", examples=["zhang.min"]
    )
    role: Role = Field(
        description="Role to grant. Only owners grant `owner`.", examples=["operator"]
    )


class MemberUpdate(Input):
    """Change a member's role."""

    role: Role = Field(description="The new role.", examples=["customer_service"])


class Member(Output):
    """A member of a shop and their role."""

    account_id: str = Field(description="Member's account.", examples=[ACCOUNT_ID_EXAMPLE])
    username: str = Field(description="Member's username.", examples=["zhang.min"])
    display_name: str = Field(description="Member's display name.", examples=["Zhang Min"])
    role: Role = Field(description="Role in the shop.", examples=["operator"])
    created_at: datetime = Field(description="When the member was added.", examples=[TIME_EXAMPLE])
    version: int = Field(description="ETag of the membership.", examples=[1])


class OwnershipTransfer(Input):
    """Hand the owner role to another member."""

    to_account_id: str = Field(
        min_length=5,
        max_length=40,
        description="A current member who becomes an owner; you become an admin.",
        examples=[ACCOUNT_ID_EXAMPLE],
    )


class OwnershipTransferResult(Output):
    """Both sides of an ownership transfer."""

    previous_owner: Member = Field(description="You, now an admin.")
    new_owner: Member = Field(description="The new owner.")


class AuditEntry(Output):
    """One recorded state change: who, where, what, before and after."""

    id: str = Field(description="Entry id.", examples=["aud_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    actor_type: ActorType = Field(description="Who acted.", examples=["account"])
    actor_id: str = Field(description="Account or app id.", examples=[ACCOUNT_ID_EXAMPLE])
    grant_id: str | None = Field(description="The app's grant, when an app acted.", examples=[None])
    surface: Surface = Field(description="Where the change came from.", examples=["merchant"])
    action: str = Field(description="What happened.", examples=["shop.updated"])
    target_type: str = Field(description="Kind of thing changed.", examples=["shop"])
    target_id: str = Field(description="Its id.", examples=[SHOP_ID_EXAMPLE])
    before: dict[str, Any] | None = Field(
        description="Summary before.", examples=[{"name": "Old name"}]
    )
    after: dict[str, Any] | None = Field(
        description="Summary after.", examples=[{"name": "New name"}]
    )
    request_id: str | None = Field(
        description="Request that made the change.", examples=["req_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )
    created_at: datetime = Field(description="When (UTC).", examples=[TIME_EXAMPLE])


class RolePermissions(Output):
    """A member role and the permissions it grants."""

    role: Role = Field(description="A member role.", examples=["operator"])
    permissions: list[Permission] = Field(
        description="What the role may do.", examples=[["shop.read", "products.manage"]]
    )


class ReasonInput(Input):
    """A reason for a review decision or an enforcement action."""

    free_text_fields: ClassVar[frozenset[str]] = frozenset({"reason"})

    reason: str = Field(
        min_length=2,
        max_length=500,
        description="Shown to the merchant.",
        examples=["The licence scan is unreadable."],
    )


# --- from the domain's entities ------------------------------------------------------------


def shop_fields(shop: ShopEntity) -> dict[str, object]:
    return {
        "id": shop.id,
        "name": shop.name,
        "subject_type": shop.subject_type,
        "status": shop.status,
        "logo_url": shop.logo_url,
        "rejection_reason": shop.rejection_reason,
        "suspended": shop.suspended,
        "suspension_reason": shop.suspension_reason,
        "can_sell": shop.can_sell,
        "submitted_at": shop.submitted_at,
        "opened_at": shop.opened_at,
        "created_at": shop.created_at,
        "updated_at": shop.updated_at,
        "version": shop.version,
    }


def shop_out(shop: ShopEntity) -> Shop:
    return Shop.model_validate(shop_fields(shop))


def qualification_out(
    shop: ShopEntity, q: QualificationEntity, cipher: Cipher
) -> ShopQualification:
    return ShopQualification(
        shop_id=q.shop_id,
        licence_number=q.licence_number,
        registered_name=q.registered_name,
        licence_image_url=q.licence_image_url,
        operator_name=q.operator_name,
        operator_id_number=mask_tail(cipher.decrypt(q.operator_id_number_encrypted)),
        bank_account_name=q.bank_account_name,
        bank_name=q.bank_name,
        bank_account_number=mask_tail(cipher.decrypt(q.bank_account_number_encrypted)),
        submitted_at=q.submitted_at,
        shop_status=shop.status,
    )
