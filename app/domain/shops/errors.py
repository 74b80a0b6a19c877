"""The shops context's errors: what a client can act on, with its code and status."""

from __future__ import annotations

from app.domain.errors import Conflict, Forbidden, LimitExceeded, NotFound


class ShopSuspended(Forbidden):
    code = "shop_suspended"
    title = "The shop is suspended"


class MemberNotFound(NotFound):
    code = "member_not_found"
    title = "Member not found"


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "No account with that username"


class AlreadyMember(Conflict):
    code = "already_member"
    title = "The account is already a member of this shop"


class LastOwner(Conflict):
    code = "last_owner"
    title = "A shop keeps at least one owner"


class ShopNotFound(NotFound):
    code = "shop_not_found"
    title = "Shop not found"


class PermissionDenied(Forbidden):
    code = "permission_denied"
    title = "Your role does not allow this"


class OperatorRequired(Forbidden):
    code = "operator_required"
    title = "Platform operators only"


class ShopLimitReached(LimitExceeded):
    code = "shop_limit_reached"
    title = "The account owns the maximum number of shops of this kind"
