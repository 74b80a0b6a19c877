"""Use cases of shop members: add, change role, remove, transfer ownership."""

from __future__ import annotations

from app.domain.audit.model import Actor, AuditEntry
from app.domain.errors import Conflict, IntegrityConflict
from app.domain.pagination import Page, PageRequest
from app.domain.shops.errors import (
    AccountNotFound,
    AlreadyMember,
    LastOwner,
    MemberNotFound,
    PermissionDenied,
)
from app.domain.shops.model import Member
from app.domain.shops.permissions import Permission, Role
from app.domain.shops.ports import ShopsUnitOfWork
from app.domain.shops.services import _ensure_can_own, access, check_version


def _only_owner_touches_owner(actor_role: Role, *roles: Role) -> None:
    if Role.OWNER in roles and actor_role is not Role.OWNER:
        raise PermissionDenied("Only an owner can grant, change or remove the owner role.")


def _member_summary(m: Member) -> dict[str, str]:
    return {"account_id": m.account_id, "role": str(m.role)}


async def list_members(
    uow: ShopsUnitOfWork, actor: Actor, shop_id: str, page: PageRequest
) -> Page[Member]:
    await access(uow, actor.id, shop_id, Permission.MEMBERS_READ)
    return await uow.members.list_page(shop_id, page)


async def add_member(
    uow: ShopsUnitOfWork, actor: Actor, shop_id: str, *, username: str, role: Role
) -> Member:
    acc = await access(uow, actor.id, shop_id, Permission.MEMBERS_MANAGE)
    acc.shop.ensure_active()
    _only_owner_touches_owner(acc.member.role, role)
    account = await uow.accounts.get_by_username(username.strip().lower())
    if account is None:
        raise AccountNotFound(f"No account '{username}'.")
    if await uow.members.get(shop_id, account.id) is not None:
        raise AlreadyMember()
    if role is Role.OWNER:
        await _ensure_can_own(uow, account.id, acc.shop.subject_type)
    member = Member(shop_id=shop_id, account_id=account.id, role=role, added_by=actor.id)
    uow.members.add(member)
    uow.audit.add(
        AuditEntry.record(
            actor,
            "member.added",
            target_type="account",
            target_id=account.id,
            shop_id=shop_id,
            after=_member_summary(member),
        )
    )
    try:
        await uow.flush()
    except IntegrityConflict as e:
        # A concurrent request added the same account first.
        raise AlreadyMember() from e
    return member


async def _target(uow: ShopsUnitOfWork, shop_id: str, account_id: str) -> Member:
    member = await uow.members.get(shop_id, account_id)
    if member is None:
        raise MemberNotFound(f"{account_id} is not a member of {shop_id}.")
    return member


async def change_role(
    uow: ShopsUnitOfWork,
    actor: Actor,
    shop_id: str,
    account_id: str,
    *,
    role: Role,
    expected_version: int | None = None,
) -> Member:
    acc = await access(uow, actor.id, shop_id, Permission.MEMBERS_MANAGE)
    acc.shop.ensure_active()
    target = await _target(uow, shop_id, account_id)
    check_version(target.version, expected_version)
    _only_owner_touches_owner(acc.member.role, role, target.role)
    if target.role is role:
        return target
    if target.role is Role.OWNER:
        owners = await uow.members.lock_owners(shop_id)
        if len(owners) <= 1:
            raise LastOwner("Transfer ownership or add another owner first.")
    if role is Role.OWNER:
        await _ensure_can_own(uow, account_id, acc.shop.subject_type)
    before = _member_summary(target)
    target.change_role(role)
    uow.audit.add(
        AuditEntry.record(
            actor,
            "member.role_changed",
            target_type="account",
            target_id=account_id,
            shop_id=shop_id,
            before=before,
            after=_member_summary(target),
        )
    )
    await uow.flush()
    return target


async def remove_member(uow: ShopsUnitOfWork, actor: Actor, shop_id: str, account_id: str) -> None:
    acc = await access(uow, actor.id, shop_id, Permission.MEMBERS_MANAGE)
    acc.shop.ensure_active()
    target = await _target(uow, shop_id, account_id)
    _only_owner_touches_owner(acc.member.role, target.role)
    if target.role is Role.OWNER:
        owners = await uow.members.lock_owners(shop_id)
        if len(owners) <= 1:
            raise LastOwner("The last owner cannot be removed.")
    before = _member_summary(target)
    await uow.members.delete(target)
    uow.audit.add(
        AuditEntry.record(
            actor,
            "member.removed",
            target_type="account",
            target_id=account_id,
            shop_id=shop_id,
            before=before,
        )
    )
    await uow.flush()


async def transfer_ownership(
    uow: ShopsUnitOfWork, actor: Actor, shop_id: str, *, to_account_id: str
) -> tuple[Member, Member]:
    """The target member becomes an owner; the acting owner steps down to admin."""
    acc = await access(uow, actor.id, shop_id, Permission.OWNERSHIP_TRANSFER)
    acc.shop.ensure_active()
    if to_account_id == actor.id:
        raise Conflict("You already own this shop.")
    target = await _target(uow, shop_id, to_account_id)
    await uow.members.lock_owners(shop_id)
    if target.role is not Role.OWNER:
        await _ensure_can_own(uow, to_account_id, acc.shop.subject_type)
    before = {"from": _member_summary(acc.member), "to": _member_summary(target)}
    target.change_role(Role.OWNER)
    acc.member.change_role(Role.ADMIN)
    uow.audit.add(
        AuditEntry.record(
            actor,
            "shop.ownership_transferred",
            target_type="shop",
            target_id=shop_id,
            shop_id=shop_id,
            before=before,
            after={"from": _member_summary(acc.member), "to": _member_summary(target)},
        )
    )
    await uow.flush()
    return acc.member, target
