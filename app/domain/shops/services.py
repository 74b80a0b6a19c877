"""Use cases of shops: open, change, qualify, review, suspend — each recorded in the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.accounts.model import Account
from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface
from app.domain.errors import (
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from app.domain.pagination import Page, PageRequest
from app.domain.ports import Cipher
from app.domain.shops.errors import (
    OperatorRequired,
    PermissionDenied,
    ShopLimitReached,
    ShopNotFound,
)
from app.domain.shops.model import (
    MAX_BUSINESS_SHOPS,
    MAX_PERSONAL_SHOPS,
    Member,
    Qualification,
    Shop,
    SubjectType,
)
from app.domain.shops.permissions import Permission, Role, allows
from app.domain.shops.ports import ShopsUnitOfWork
from app.domain.shops.validation import (
    mask_tail,
    normalize_shop_name,
    validate_bank_account,
    validate_id_number,
    validate_licence_number,
)


@dataclass(frozen=True)
class MemberAccess:
    shop: Shop
    member: Member

    def require(self, permission: Permission) -> None:
        if not allows(self.member.role, permission):
            raise PermissionDenied(
                f"The role '{self.member.role}' does not have '{permission}'.",
                extra={"role": str(self.member.role), "permission": str(permission)},
            )


def check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"The resource is at version {current}, not {expected}.",
            extra={"current_version": current},
        )


async def access(
    uow: ShopsUnitOfWork, account_id: str, shop_id: str, permission: Permission
) -> MemberAccess:
    """Resolve-or-404: a shop the account is not a member of does not exist for it."""
    member = await uow.members.get(shop_id, account_id)
    shop = await uow.shops.get(shop_id) if member else None
    if member is None or shop is None:
        raise ShopNotFound(f"No shop {shop_id} among your shops.")
    result = MemberAccess(shop, member)
    result.require(permission)
    return result


async def _ensure_can_own(uow: ShopsUnitOfWork, account_id: str, subject_type: SubjectType) -> None:
    await uow.accounts.lock(account_id)
    kinds: tuple[SubjectType, ...]
    if subject_type is SubjectType.PERSONAL:
        kinds, limit = (SubjectType.PERSONAL,), MAX_PERSONAL_SHOPS
    else:
        kinds, limit = (SubjectType.INDIVIDUAL, SubjectType.ENTERPRISE), MAX_BUSINESS_SHOPS
    if await uow.shops.count_owned(account_id, kinds) >= limit:
        label = "personal" if subject_type is SubjectType.PERSONAL else "individual or enterprise"
        raise ShopLimitReached(
            f"An account may own at most {limit} {label} shop(s).",
            extra={"subject_type": str(subject_type), "limit": limit},
        )


async def open_shop(
    uow: ShopsUnitOfWork,
    actor: Actor,
    *,
    name: str,
    subject_type: SubjectType,
    logo_url: str | None = None,
) -> tuple[Shop, Member]:
    name = normalize_shop_name(name)
    await _ensure_can_own(uow, actor.id, subject_type)
    shop = Shop.open_new(name=name, subject_type=subject_type, created_by=actor.id)
    shop.logo_url = logo_url
    member = Member(shop_id=shop.id, account_id=actor.id, role=Role.OWNER, added_by=actor.id)
    uow.shops.add(shop)
    await uow.flush()
    uow.members.add(member)
    uow.audit.add(
        AuditEntry.record(
            actor,
            "shop.opened",
            target_type="shop",
            target_id=shop.id,
            shop_id=shop.id,
            after={**shop.summary(), "subject_type": str(subject_type)},
        )
    )
    await uow.flush()
    return shop, member


async def update_shop(
    uow: ShopsUnitOfWork,
    actor: Actor,
    shop_id: str,
    *,
    name: str | None = None,
    logo_url: str | None = None,
    logo_given: bool = False,
    expected_version: int | None = None,
) -> MemberAccess:
    acc = await access(uow, actor.id, shop_id, Permission.SHOP_UPDATE)
    await _change_shop(uow, actor, acc.shop, name, logo_url, logo_given, expected_version)
    return acc


async def _change_shop(
    uow: ShopsUnitOfWork,
    actor: Actor,
    shop: Shop,
    name: str | None,
    logo_url: str | None,
    logo_given: bool,
    expected_version: int | None,
) -> None:
    """Name and logo rules, whoever changes them (a member or an authorized app)."""
    # First, so that even an empty change is refused rather than answered as a success.
    shop.ensure_active()
    check_version(shop.version, expected_version)
    before = shop.summary()
    if name is not None:
        shop.rename(normalize_shop_name(name))
    if logo_given:
        shop.change_logo(logo_url)
    if before != shop.summary():
        uow.audit.add(
            AuditEntry.record(
                actor,
                "shop.updated",
                target_type="shop",
                target_id=shop.id,
                shop_id=shop.id,
                before=before,
                after=shop.summary(),
            )
        )
    await uow.flush()


def auto_approver(cause: Actor) -> Actor:
    """The development auto-approve is the platform's decision, not the merchant's."""
    return Actor(
        type=ActorType.SYSTEM,
        id=AUTO_APPROVE_ACTOR_ID,
        surface=Surface.SYSTEM,
        request_id=cause.request_id,
    )


AUTO_APPROVE_ACTOR_ID = "system_auto_approve"


@dataclass(frozen=True)
class QualificationInput:
    licence_number: str
    registered_name: str
    licence_image_url: str
    operator_name: str
    operator_id_number: str
    bank_account_name: str
    bank_name: str
    bank_account_number: str


def _validate_qualification(data: QualificationInput) -> tuple[str, str, str]:
    """All three checks at once, so the client sees every bad field in one 422.

    The error locations name the request's own fields, so clients can point at them.
    """
    errors: list[Mapping[str, Any]] = []
    values: list[str] = []
    checks = (
        (validate_licence_number, data.licence_number, "body.licence_number"),
        (validate_id_number, data.operator_id_number, "body.operator_id_number"),
        (validate_bank_account, data.bank_account_number, "body.bank_account_number"),
    )
    for check, raw, loc in checks:
        try:
            values.append(check(raw, loc))
        except ValidationFailed as e:
            errors.extend(e.errors)
    if errors:
        raise ValidationFailed("; ".join(str(e["msg"]) for e in errors), errors=errors)
    return values[0], values[1], values[2]


async def submit_qualification(
    uow: ShopsUnitOfWork,
    cipher: Cipher,
    actor: Actor,
    shop_id: str,
    data: QualificationInput,
    *,
    auto_approve: bool = False,
) -> tuple[Shop, Qualification]:
    acc = await access(uow, actor.id, shop_id, Permission.QUALIFICATION_SUBMIT)
    licence, id_number, bank_number = _validate_qualification(data)
    shop = acc.shop
    before = shop.summary()
    shop.submit_qualification()
    q = await uow.shops.get_qualification(shop.id)
    fields: dict[str, str] = {
        "licence_number": licence,
        "registered_name": data.registered_name.strip(),
        "licence_image_url": data.licence_image_url,
        "operator_name": data.operator_name.strip(),
        "operator_id_number_encrypted": cipher.encrypt(id_number),
        "operator_id_number_last4": id_number[-4:],
        "bank_account_name": data.bank_account_name.strip(),
        "bank_name": data.bank_name.strip(),
        "bank_account_number_encrypted": cipher.encrypt(bank_number),
        "bank_account_number_last4": bank_number[-4:],
        "submitted_by": actor.id,
    }
    if q is None:
        q = Qualification(shop_id=shop.id, **fields)  # type: ignore[arg-type]
        uow.shops.add_qualification(q)
    else:
        for key, value in fields.items():
            setattr(q, key, value)
        q.submitted_at = shop.submitted_at or q.submitted_at
    uow.audit.add(
        AuditEntry.record(
            actor,
            "shop.qualification_submitted",
            target_type="shop",
            target_id=shop.id,
            shop_id=shop.id,
            before=before,
            after={
                **shop.summary(),
                "licence_number": licence,
                "bank_account_number": mask_tail(bank_number),
            },
        )
    )
    if auto_approve:
        shop.approve()
        uow.audit.add(
            AuditEntry.record(
                auto_approver(actor),
                "shop.approved",
                target_type="shop",
                target_id=shop.id,
                shop_id=shop.id,
                after={**shop.summary(), "auto_approved": True},
            )
        )
    await uow.flush()
    return shop, q


async def get_qualification(
    uow: ShopsUnitOfWork, actor: Actor, shop_id: str
) -> tuple[Shop, Qualification]:
    acc = await access(uow, actor.id, shop_id, Permission.QUALIFICATION_READ)
    q = await uow.shops.get_qualification(shop_id)
    if q is None:
        raise NotFound("No qualification has been submitted for this shop.")
    return acc.shop, q


# --- platform operator -------------------------------------------------------------------


def require_operator(account: Account) -> None:
    if not account.is_operator:
        raise OperatorRequired()


async def shop_or_404(uow: ShopsUnitOfWork, shop_id: str) -> Shop:
    shop = await uow.shops.get(shop_id)
    if shop is None:
        raise ShopNotFound(f"No shop {shop_id}.")
    return shop


async def storefront_shop(uow: ShopsUnitOfWork, shop_id: str) -> Shop:
    """A shop whose storefront is open to anyone: open and not suspended. Any other is not
    found, so the public reads never tell a shop in review or suspended from none at all."""
    shop = await uow.shops.get(shop_id)
    if shop is None or not shop.can_sell:
        raise ShopNotFound(f"No shop {shop_id}.")
    return shop


async def review_queue(uow: ShopsUnitOfWork, page: PageRequest) -> Page[Shop]:
    """Shops in review, the longest-waiting first (by submission time, then id)."""
    return await uow.shops.review_queue(page)


async def qualification_for_review(
    uow: ShopsUnitOfWork, shop_id: str
) -> tuple[Shop, Qualification]:
    """What an operator approves: the shop's submitted qualification (masked by the API)."""
    shop = await shop_or_404(uow, shop_id)
    q = await uow.shops.get_qualification(shop_id)
    if q is None:
        raise NotFound(f"No qualification has been submitted for {shop_id}.")
    return shop, q


async def operator_action(
    uow: ShopsUnitOfWork,
    actor: Actor,
    shop_id: str,
    action: str,
    *,
    reason: str | None = None,
) -> Shop:
    shop = await shop_or_404(uow, shop_id)
    before = shop.summary()
    if action == "approve":
        shop.approve()
    elif action == "reject":
        shop.reject(reason or "")
    elif action == "suspend":
        shop.suspend(reason or "")
    elif action == "reinstate":
        shop.reinstate()
    else:  # pragma: no cover - the API exposes only the four actions
        raise ValueError(action)
    after = shop.summary()
    if reason:
        after["reason"] = reason
    past = {
        "approve": "approved",
        "reject": "rejected",
        "suspend": "suspended",
        "reinstate": "reinstated",
    }[action]
    uow.audit.add(
        AuditEntry.record(
            actor,
            f"shop.{past}",
            target_type="shop",
            target_id=shop.id,
            shop_id=shop.id,
            before=before,
            after=after,
        )
    )
    await uow.flush()
    return shop


async def update_shop_as_app(
    uow: ShopsUnitOfWork,
    actor: Actor,
    shop_id: str,
    *,
    name: str | None,
    logo_url: str | None,
    logo_given: bool,
    expected_version: int | None,
) -> Shop:
    """`PATCH /v1/shop`: the same rules as the merchant's change, by an authorized app."""
    shop = await shop_or_404(uow, shop_id)  # the token's own shop: tenancy from the grant
    await _change_shop(uow, actor, shop, name, logo_url, logo_given, expected_version)
    return shop
