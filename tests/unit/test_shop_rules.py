"""Shop rules and use cases without a database: the state machine, field validation, the
permission matrix, and the services run against an in-memory unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from app.domain.accounts.model import Account
from app.domain.audit.model import Actor, ActorType, AuditEntry, Surface
from app.domain.errors import (
    Conflict,
    InvalidTransition,
    PreconditionFailed,
    ValidationFailed,
)
from app.domain.ids import new_id
from app.domain.pagination import Page, PageRequest
from app.domain.shops import members as member_services
from app.domain.shops import services
from app.domain.shops.errors import (
    OperatorRequired,
    PermissionDenied,
    ShopLimitReached,
    ShopNotFound,
    ShopSuspended,
)
from app.domain.shops.model import (
    MAX_BUSINESS_SHOPS,
    MAX_PERSONAL_SHOPS,
    Member,
    Qualification,
    Shop,
    ShopStatus,
    SubjectType,
)
from app.domain.shops.permissions import MATRIX, Permission, Role, allows, matrix_markdown
from app.domain.shops.validation import (
    id_check_char,
    mask_tail,
    normalize_shop_name,
    uscc_check_char,
    validate_bank_account,
    validate_id_number,
    validate_licence_number,
)

# --------------------------------------------------------------------------- in-memory UoW


class MemAccounts:
    def __init__(self) -> None:
        self.rows: dict[str, Account] = {}
        self.locked: list[str] = []

    def add(self, account: Account) -> None:
        self.rows[account.id] = account

    async def get(self, account_id: str) -> Account | None:
        return self.rows.get(account_id)

    async def get_by_username(self, username: str) -> Account | None:
        return next((a for a in self.rows.values() if a.username == username), None)

    async def get_many(self, account_ids: list[str]) -> dict[str, Account]:
        return {i: self.rows[i] for i in account_ids if i in self.rows}

    async def lock(self, account_id: str) -> None:
        self.locked.append(account_id)

    def add_session(self, session: Any) -> None:  # pragma: no cover - not used here
        raise NotImplementedError

    async def get_session(self, token_hash: str) -> Any:  # pragma: no cover
        raise NotImplementedError


class MemShops:
    def __init__(self, uow: MemUoW) -> None:
        self.uow = uow
        self.rows: dict[str, Shop] = {}
        self.qualifications: dict[str, Qualification] = {}

    def add(self, shop: Shop) -> None:
        self.rows[shop.id] = shop

    async def get(self, shop_id: str) -> Shop | None:
        return self.rows.get(shop_id)

    async def count_owned(self, account_id: str, subject_types: tuple[SubjectType, ...]) -> int:
        return sum(
            1
            for m in self.uow.members.rows.values()
            if m.account_id == account_id
            and m.role is Role.OWNER
            and self.rows[m.shop_id].subject_type in subject_types
        )

    async def list_for_account(
        self, account_id: str, page: PageRequest
    ) -> Page[tuple[Shop, Member]]:  # pragma: no cover - not used here
        raise NotImplementedError

    async def list_by_status(
        self, status: ShopStatus, page: PageRequest, *, suspended: bool | None = None
    ) -> Page[Shop]:
        rows = sorted((s for s in self.rows.values() if s.status is status), key=lambda s: s.id)
        if page.after:
            rows = [s for s in rows if s.id > page.after[0]]
        items = rows[: page.limit]
        return Page(items, (items[-1].id,) if len(rows) > page.limit else None)

    async def review_queue(self, page: PageRequest) -> Page[Shop]:
        def key(s: Shop) -> tuple[str, str]:
            return (s.submitted_at.isoformat() if s.submitted_at else "", s.id)

        rows = sorted((s for s in self.rows.values() if s.status is ShopStatus.IN_REVIEW), key=key)
        if page.after:
            rows = [s for s in rows if key(s) > tuple(page.after)]
        items = rows[: page.limit]
        return Page(items, key(items[-1]) if len(rows) > page.limit else None)

    async def get_qualification(self, shop_id: str) -> Qualification | None:
        return self.qualifications.get(shop_id)

    def add_qualification(self, qualification: Qualification) -> None:
        self.qualifications[qualification.shop_id] = qualification


class MemMembers:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Member] = {}

    def add(self, member: Member) -> None:
        self.rows[(member.shop_id, member.account_id)] = member

    async def get(self, shop_id: str, account_id: str) -> Member | None:
        return self.rows.get((shop_id, account_id))

    async def delete(self, member: Member) -> None:
        del self.rows[(member.shop_id, member.account_id)]

    async def list_page(self, shop_id: str, page: PageRequest) -> Page[Member]:
        rows = sorted(
            (m for m in self.rows.values() if m.shop_id == shop_id), key=lambda m: m.account_id
        )
        return Page(rows[: page.limit], None)

    async def lock_owners(self, shop_id: str) -> list[Member]:
        return [m for m in self.rows.values() if m.shop_id == shop_id and m.role is Role.OWNER]


class MemAudit:
    def __init__(self) -> None:
        self.rows: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.rows.append(entry)

    async def list_page(
        self, shop_id: str, page: PageRequest, **filters: Any
    ) -> Page[AuditEntry]:  # pragma: no cover - not used here
        raise NotImplementedError

    @property
    def actions(self) -> list[str]:
        return [e.action for e in self.rows]


class MemUoW:
    def __init__(self) -> None:
        self.accounts = MemAccounts()
        self.members = MemMembers()
        self.shops = MemShops(self)
        self.audit = MemAudit()
        self.committed = False

    async def flush(self) -> None:
        pass

    async def commit(self) -> None:
        self.committed = True

    async def rollback(self) -> None:
        pass


class ReversingCipher:
    """Not encryption, but enough to see that services store the cipher's output."""

    def encrypt(self, plaintext: str) -> str:
        return "enc:" + plaintext[::-1]

    def decrypt(self, token: str) -> str:
        return token.removeprefix("enc:")[::-1]


@dataclass
class World:
    uow: MemUoW = field(default_factory=MemUoW)

    def account(self, username: str | None = None, *, operator: bool = False) -> Account:
        a = Account(
            username=username or new_id("u")[-10:],
            display_name="Someone",
            password_hash="x",
            is_operator=operator,
        )
        self.uow.accounts.add(a)
        return a


def actor(account: Account, surface: Surface = Surface.MERCHANT) -> Actor:
    return Actor(type=ActorType.ACCOUNT, id=account.id, surface=surface, request_id="req_unit")


def licence() -> str:
    first = "91350100M000100Y4"
    return first + uscc_check_char(first)


def id_number() -> str:
    first = "11010519491231002"
    return first + id_check_char(first)


def q_input(**overrides: str) -> services.QualificationInput:
    values = {
        "licence_number": licence(),
        "registered_name": " Test Co. ",
        "licence_image_url": "https://cdn.example.com/l.jpg",
        "operator_name": "Wang Fang",
        "operator_id_number": id_number(),
        "bank_account_name": "Test Co.",
        "bank_name": "Bank",
        "bank_account_number": "6225 8801-3700 9876",
        **overrides,
    }
    return services.QualificationInput(**values)


# --------------------------------------------------------------------------- the state machine


def business_shop() -> Shop:
    return Shop.open_new(name="Biz", subject_type=SubjectType.ENTERPRISE, created_by="acct_1")


def test_personal_shop_is_open_at_once() -> None:
    shop = Shop.open_new(name="Me", subject_type=SubjectType.PERSONAL, created_by="acct_1")
    assert shop.status is ShopStatus.OPEN
    assert shop.can_sell
    assert shop.opened_at is not None
    assert shop.id.startswith("shop_")


@pytest.mark.parametrize("subject_type", [SubjectType.INDIVIDUAL, SubjectType.ENTERPRISE])
def test_business_shop_waits_for_qualification(subject_type: SubjectType) -> None:
    shop = Shop.open_new(name="Biz", subject_type=subject_type, created_by="acct_1")
    assert shop.status is ShopStatus.PENDING_QUALIFICATION
    assert not shop.can_sell
    assert shop.opened_at is None


def test_review_cycle_reject_resubmit_approve() -> None:
    shop = business_shop()
    shop.submit_qualification()
    assert shop.status is ShopStatus.IN_REVIEW
    assert shop.submitted_at is not None
    shop.reject("blurry")
    assert (shop.status, shop.rejection_reason) == (ShopStatus.REJECTED, "blurry")
    assert shop.reviewed_at is not None
    assert not shop.can_sell
    shop.submit_qualification()
    assert (shop.status, shop.rejection_reason) == (ShopStatus.IN_REVIEW, None)
    shop.approve()
    assert shop.status is ShopStatus.OPEN
    assert shop.can_sell
    assert shop.opened_at == shop.reviewed_at


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ([], "approve"),
        ([], "reject"),
        (["submit_qualification"], "submit_qualification"),
        (["submit_qualification", "approve"], "submit_qualification"),
        (["submit_qualification", "approve"], "approve"),
        (["submit_qualification", "approve"], "reject"),
        (["submit_qualification", "reject"], "approve"),
        (["submit_qualification", "reject"], "reject"),
    ],
)
def test_invalid_transitions(setup: list[str], action: str) -> None:
    shop = business_shop()
    for step in setup:
        getattr(shop, step)(*(["r"] if step == "reject" else []))
    status = shop.status
    with pytest.raises(InvalidTransition) as e:
        getattr(shop, action)(*(["r"] if action == "reject" else []))
    assert e.value.status == 409
    assert e.value.code == "invalid_state_transition"
    assert e.value.extra == {"current_status": status}
    assert shop.status is status


def test_personal_shop_has_no_review() -> None:
    shop = Shop.open_new(name="Me", subject_type=SubjectType.PERSONAL, created_by="acct_1")
    with pytest.raises(Conflict) as e:
        shop.submit_qualification()
    assert e.value.extra == {"subject_type": "personal"}
    assert shop.status is ShopStatus.OPEN


def test_rename_blocked_in_review_logo_not() -> None:
    shop = business_shop()
    shop.rename("Before Review")
    shop.submit_qualification()
    with pytest.raises(InvalidTransition):
        shop.rename("During Review")
    shop.change_logo("https://cdn.example.com/l.png")
    assert shop.name == "Before Review"
    assert shop.logo_url == "https://cdn.example.com/l.png"


def test_suspension_blocks_changes_and_selling() -> None:
    shop = Shop.open_new(name="Me", subject_type=SubjectType.PERSONAL, created_by="acct_1")
    shop.suspend("fraud")
    assert shop.suspended and not shop.can_sell
    assert shop.status is ShopStatus.OPEN
    for change in (lambda: shop.rename("Other"), lambda: shop.change_logo(None)):
        with pytest.raises(ShopSuspended) as e:
            change()
        assert (e.value.status, e.value.code) == (403, "shop_suspended")
        assert e.value.extra == {"shop_id": shop.id}
        assert "fraud" in e.value.detail
    with pytest.raises(InvalidTransition):
        shop.suspend("again")
    shop.reinstate()
    assert not shop.suspended and shop.can_sell
    assert shop.suspension_reason is None
    with pytest.raises(InvalidTransition):
        shop.reinstate()
    shop.rename("Other")
    assert shop.name == "Other"


def test_suspended_business_shop_cannot_submit() -> None:
    shop = business_shop()
    shop.suspend("check")
    with pytest.raises(ShopSuspended):
        shop.submit_qualification()
    assert shop.status is ShopStatus.PENDING_QUALIFICATION


def test_summary_is_what_the_audit_log_compares() -> None:
    shop = business_shop()
    assert shop.summary() == {
        "name": "Biz",
        "logo_url": None,
        "status": "pending_qualification",
        "suspended": False,
    }


# --------------------------------------------------------------------------- field rules


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Mountain   Tea  ", "Mountain Tea"),
        ("山茶小店", "山茶小店"),
        ("茶馆\uff08福州\uff09", "茶馆\uff08福州\uff09"),
        ("Tea & Co. (Fuzhou)", "Tea & Co. (Fuzhou)"),
        ("Li's-Corner_Store·2", "Li's-Corner_Store·2"),
        ("AB", "AB"),
        ("N" * 30, "N" * 30),
        ("Cafe\u0301", "Caf\u00e9"),  # NFC-normalized
        ("Shop 7", "Shop 7"),
    ],
)
def test_shop_names_accepted(raw: str, expected: str) -> None:
    assert normalize_shop_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "A", "   ", "N" * 31, "123456", "Tea/House", "<b>Shop</b>", "Tea \U0001f375", "a\tb\x00"],
)
def test_shop_names_rejected(raw: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        normalize_shop_name(raw)
    assert e.value.status == 422
    assert e.value.errors[0]["loc"] == ["body", "name"]


def test_uscc_check_character() -> None:
    # A published example: the check character of 91350100M000100Y4 is 3.
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert validate_licence_number(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert validate_licence_number("350100123456789") == "350100123456789"


@pytest.mark.parametrize(
    "raw", ["91350100M000100Y40", "91350100M000100Y4", "91350100I000100Y43", "3501001234567", ""]
)
def test_uscc_rejected(raw: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        validate_licence_number(raw, "body.licence_number")
    assert e.value.errors[0]["loc"] == ["body", "licence_number"]


def test_id_number_check_character() -> None:
    # GB 11643 example: 11010519491231002X.
    assert id_check_char("11010519491231002") == "X"
    assert validate_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    "raw", ["110105194912310021", "11010519491231002", "A1010519491231002X", "1" * 19]
)
def test_id_number_rejected(raw: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        validate_id_number(raw, "body.operator_id_number")
    assert e.value.errors[0]["loc"] == ["body", "operator_id_number"]


def test_bank_account_rules() -> None:
    assert validate_bank_account("6225 8801-3700 9876") == "6225880137009876"
    assert validate_bank_account("12345678") == "12345678"
    for bad in ("1234567", "6225 ABCD 3700", "1" * 31, ""):
        with pytest.raises(ValidationFailed):
            validate_bank_account(bad)


@pytest.mark.parametrize(
    ("value", "masked"),
    [("6225880137009876", "************9876"), ("1234", "****"), ("12", "**"), ("", "")],
)
def test_mask_tail(value: str, masked: str) -> None:
    assert mask_tail(value) == masked


# --------------------------------------------------------------------------- permissions


def test_permission_matrix() -> None:
    assert MATRIX[Role.OWNER] == frozenset(Permission)
    assert MATRIX[Role.ADMIN] == frozenset(Permission) - {Permission.OWNERSHIP_TRANSFER}
    for role in (Role.OPERATOR, Role.CUSTOMER_SERVICE, Role.FINANCE):
        assert not allows(role, Permission.MEMBERS_MANAGE)
        assert not allows(role, Permission.SHOP_UPDATE)
        assert not allows(role, Permission.AUDIT_READ)
        assert not allows(role, Permission.QUALIFICATION_SUBMIT)
        assert allows(role, Permission.SHOP_READ)
        assert allows(role, Permission.MEMBERS_READ)
    assert allows(Role.FINANCE, Permission.QUALIFICATION_READ)
    assert not allows(Role.OPERATOR, Permission.QUALIFICATION_READ)
    assert not allows(Role.CUSTOMER_SERVICE, Permission.QUALIFICATION_READ)
    assert set(MATRIX) == set(Role)


def test_matrix_markdown_has_a_row_per_permission() -> None:
    lines = matrix_markdown().splitlines()
    assert len(lines) == 2 + len(Permission)
    assert all(r.value in lines[0] for r in Role)
    row = next(line for line in lines if "`ownership.transfer`" in line)
    assert row.count("yes") == 1


# --------------------------------------------------------------------------- ids


def test_ids_are_prefixed_unique_and_time_ordered() -> None:
    ids = [new_id("aud") for _ in range(5000)]
    assert all(i.startswith("aud_") and len(i) == 30 for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids), "ids made one after another sort in creation order"


# --------------------------------------------------------------------------- use cases


async def test_open_shop_limits_and_audit() -> None:
    w = World()
    a = w.account()
    shop, member = await services.open_shop(
        w.uow, actor(a), name=" My  Shop ", subject_type=SubjectType.PERSONAL
    )
    assert shop.name == "My Shop"
    assert member.role is Role.OWNER
    assert w.uow.accounts.locked == [a.id]
    with pytest.raises(ShopLimitReached) as e:
        await services.open_shop(w.uow, actor(a), name="Two", subject_type=SubjectType.PERSONAL)
    assert e.value.extra == {"subject_type": "personal", "limit": MAX_PERSONAL_SHOPS}
    for i in range(MAX_BUSINESS_SHOPS):
        kind = SubjectType.INDIVIDUAL if i % 2 else SubjectType.ENTERPRISE
        await services.open_shop(w.uow, actor(a), name=f"Biz {i}", subject_type=kind)
    with pytest.raises(ShopLimitReached) as e:
        await services.open_shop(w.uow, actor(a), name="Biz X", subject_type=SubjectType.INDIVIDUAL)
    assert e.value.status == 409
    assert len(w.uow.shops.rows) == 1 + MAX_BUSINESS_SHOPS
    assert w.uow.audit.actions == ["shop.opened"] * 4
    entry = w.uow.audit.rows[0]
    assert (entry.actor_id, entry.surface, entry.request_id) == (a.id, "merchant", "req_unit")
    assert entry.after is not None and entry.after["subject_type"] == "personal"


async def test_open_shop_rejects_bad_names_before_touching_anything() -> None:
    w = World()
    a = w.account()
    with pytest.raises(ValidationFailed):
        await services.open_shop(w.uow, actor(a), name="1", subject_type=SubjectType.PERSONAL)
    assert w.uow.shops.rows == {} and w.uow.audit.rows == [] and w.uow.accounts.locked == []


async def test_access_is_404_for_non_members_and_403_for_weak_roles() -> None:
    w = World()
    owner, staff, stranger = w.account(), w.account(), w.account()
    shop, _ = await services.open_shop(
        w.uow, actor(owner), name="Shop", subject_type=SubjectType.PERSONAL
    )
    w.uow.members.add(Member(shop_id=shop.id, account_id=staff.id, role=Role.CUSTOMER_SERVICE))
    with pytest.raises(ShopNotFound) as e:
        await services.access(w.uow, stranger.id, shop.id, Permission.SHOP_READ)
    assert e.value.status == 404
    with pytest.raises(ShopNotFound):
        await services.access(w.uow, owner.id, "shop_missing", Permission.SHOP_READ)
    with pytest.raises(PermissionDenied) as p:
        await services.access(w.uow, staff.id, shop.id, Permission.SHOP_UPDATE)
    assert p.value.extra == {"role": "customer_service", "permission": "shop.update"}
    acc = await services.access(w.uow, staff.id, shop.id, Permission.SHOP_READ)
    assert acc.shop is shop


async def test_update_shop_checks_version_and_audits_only_real_changes() -> None:
    w = World()
    a = w.account()
    shop, _ = await services.open_shop(
        w.uow, actor(a), name="Shop", subject_type=SubjectType.PERSONAL
    )
    with pytest.raises(PreconditionFailed) as e:
        await services.update_shop(w.uow, actor(a), shop.id, name="New", expected_version=7)
    assert e.value.extra == {"current_version": shop.version}
    assert shop.name == "Shop"
    await services.update_shop(w.uow, actor(a), shop.id, name="Shop")  # same name
    assert w.uow.audit.actions == ["shop.opened"]
    await services.update_shop(w.uow, actor(a), shop.id, name="New", expected_version=shop.version)
    await services.update_shop(
        w.uow, actor(a), shop.id, logo_url="https://x.example/l.png", logo_given=True
    )
    assert w.uow.audit.actions == ["shop.opened", "shop.updated", "shop.updated"]
    renamed, relogoed = w.uow.audit.rows[1], w.uow.audit.rows[2]
    assert renamed.before is not None and renamed.after is not None
    assert (renamed.before["name"], renamed.after["name"]) == ("Shop", "New")
    assert relogoed.after is not None
    assert relogoed.after["logo_url"] == "https://x.example/l.png"


async def test_submit_qualification_encrypts_and_reports_all_bad_fields() -> None:
    w = World()
    a = w.account()
    cipher = ReversingCipher()
    shop, _ = await services.open_shop(
        w.uow, actor(a), name="Biz", subject_type=SubjectType.ENTERPRISE
    )
    with pytest.raises(ValidationFailed) as e:
        await services.submit_qualification(
            w.uow,
            cipher,
            actor(a),
            shop.id,
            q_input(
                licence_number="91350100M000100Y40",
                operator_id_number="110105194912310021",
                bank_account_number="12",
            ),
        )
    assert [err["loc"] for err in e.value.errors] == [
        ["body", "licence_number"],
        ["body", "operator_id_number"],
        ["body", "bank_account_number"],
    ]
    assert shop.status is ShopStatus.PENDING_QUALIFICATION
    assert w.uow.shops.qualifications == {}

    shop, q = await services.submit_qualification(w.uow, cipher, actor(a), shop.id, q_input())
    assert shop.status is ShopStatus.IN_REVIEW
    assert q.bank_account_number_encrypted == cipher.encrypt("6225880137009876")
    assert q.bank_account_number_last4 == "9876"
    assert q.operator_id_number_encrypted == cipher.encrypt(id_number())
    assert q.registered_name == "Test Co."
    entry = w.uow.audit.rows[-1]
    assert entry.action == "shop.qualification_submitted"
    assert entry.after is not None
    assert entry.after["bank_account_number"] == "************9876"
    assert "6225880137009876" not in repr(entry.after)


async def test_auto_approve_records_both_steps() -> None:
    w = World()
    a = w.account()
    shop, _ = await services.open_shop(
        w.uow, actor(a), name="Biz", subject_type=SubjectType.INDIVIDUAL
    )
    shop, _ = await services.submit_qualification(
        w.uow, ReversingCipher(), actor(a), shop.id, q_input(), auto_approve=True
    )
    assert shop.status is ShopStatus.OPEN
    assert w.uow.audit.actions[-2:] == ["shop.qualification_submitted", "shop.approved"]
    ids = [e.id for e in w.uow.audit.rows]
    assert ids == sorted(ids)


async def test_operator_actions_and_queue() -> None:
    w = World()
    a = w.account()
    op = w.account(operator=True)
    with pytest.raises(OperatorRequired):
        services.require_operator(a)
    services.require_operator(op)
    shop, _ = await services.open_shop(
        w.uow, actor(a), name="Biz", subject_type=SubjectType.ENTERPRISE
    )
    await services.submit_qualification(w.uow, ReversingCipher(), actor(a), shop.id, q_input())
    queue = await services.review_queue(w.uow, PageRequest(limit=10))
    assert [s.id for s in queue.items] == [shop.id]
    platform = actor(op, Surface.PLATFORM)
    await services.operator_action(w.uow, platform, shop.id, "reject", reason="blurry")
    assert (await services.review_queue(w.uow, PageRequest())).items == []
    entry = w.uow.audit.rows[-1]
    assert (entry.action, entry.surface, entry.actor_id) == ("shop.rejected", "platform", op.id)
    assert entry.before is not None and entry.before["status"] == "in_review"
    assert entry.after is not None and entry.after["reason"] == "blurry"
    await services.operator_action(w.uow, platform, shop.id, "suspend", reason="spot check")
    with pytest.raises(ShopSuspended):
        await services.update_shop(w.uow, actor(a), shop.id, name="Nope")
    await services.operator_action(w.uow, platform, shop.id, "reinstate")
    with pytest.raises(ShopNotFound):
        await services.operator_action(w.uow, platform, "shop_missing", "approve")
    assert w.uow.audit.actions[-3:] == ["shop.rejected", "shop.suspended", "shop.reinstated"]


async def members_world() -> tuple[World, Account, Shop]:
    w = World()
    owner = w.account("owner1")
    shop, _ = await services.open_shop(
        w.uow, actor(owner), name="Shop", subject_type=SubjectType.PERSONAL
    )
    return w, owner, shop


async def test_add_member_rules() -> None:
    w, owner, shop = await members_world()
    admin, other = w.account("admin1"), w.account("other1")
    m = await member_services.add_member(
        w.uow, actor(owner), shop.id, username=" ADMIN1 ", role=Role.ADMIN
    )
    assert (m.account_id, m.role, m.added_by) == (admin.id, Role.ADMIN, owner.id)
    with pytest.raises(member_services.AlreadyMember):
        await member_services.add_member(
            w.uow, actor(owner), shop.id, username="admin1", role=Role.FINANCE
        )
    with pytest.raises(member_services.AccountNotFound):
        await member_services.add_member(
            w.uow, actor(owner), shop.id, username="nobody", role=Role.FINANCE
        )
    with pytest.raises(PermissionDenied):
        await member_services.add_member(
            w.uow, actor(admin), shop.id, username="other1", role=Role.OWNER
        )
    await member_services.add_member(
        w.uow, actor(admin), shop.id, username="other1", role=Role.FINANCE
    )
    assert (await w.uow.members.get(shop.id, other.id)) is not None
    assert w.uow.audit.actions == ["shop.opened", "member.added", "member.added"]


async def test_last_owner_stays() -> None:
    w, owner, shop = await members_world()
    with pytest.raises(member_services.LastOwner) as e:
        await member_services.change_role(w.uow, actor(owner), shop.id, owner.id, role=Role.ADMIN)
    assert (e.value.status, e.value.code) == (409, "last_owner")
    with pytest.raises(member_services.LastOwner):
        await member_services.remove_member(w.uow, actor(owner), shop.id, owner.id)
    assert (await w.uow.members.get(shop.id, owner.id)).role is Role.OWNER  # type: ignore[union-attr]


async def test_change_role_version_and_owner_rules() -> None:
    w, owner, shop = await members_world()
    admin = w.account("admin1")
    staff = w.account("staff1")
    await member_services.add_member(
        w.uow, actor(owner), shop.id, username="admin1", role=Role.ADMIN
    )
    await member_services.add_member(
        w.uow, actor(owner), shop.id, username="staff1", role=Role.OPERATOR
    )
    with pytest.raises(PreconditionFailed):
        await member_services.change_role(
            w.uow, actor(owner), shop.id, staff.id, role=Role.FINANCE, expected_version=9
        )
    with pytest.raises(PermissionDenied):
        await member_services.change_role(w.uow, actor(admin), shop.id, owner.id, role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        await member_services.remove_member(w.uow, actor(admin), shop.id, owner.id)
    with pytest.raises(PermissionDenied):
        await member_services.change_role(w.uow, actor(staff), shop.id, staff.id, role=Role.ADMIN)
    with pytest.raises(member_services.MemberNotFound):
        await member_services.change_role(
            w.uow, actor(owner), shop.id, "acct_missing", role=Role.ADMIN
        )
    m = await member_services.change_role(w.uow, actor(admin), shop.id, staff.id, role=Role.FINANCE)
    assert m.role is Role.FINANCE
    assert w.uow.audit.rows[-1].before == {"account_id": staff.id, "role": "operator"}


async def test_transfer_ownership() -> None:
    w, owner, shop = await members_world()
    heir = w.account("heir1")
    await member_services.add_member(
        w.uow, actor(owner), shop.id, username="heir1", role=Role.FINANCE
    )
    with pytest.raises(Conflict):
        await member_services.transfer_ownership(
            w.uow, actor(owner), shop.id, to_account_id=owner.id
        )
    with pytest.raises(member_services.MemberNotFound):
        await member_services.transfer_ownership(
            w.uow, actor(owner), shop.id, to_account_id="acct_missing"
        )
    previous, new = await member_services.transfer_ownership(
        w.uow, actor(owner), shop.id, to_account_id=heir.id
    )
    assert (previous.account_id, previous.role) == (owner.id, Role.ADMIN)
    assert (new.account_id, new.role) == (heir.id, Role.OWNER)
    assert w.uow.audit.actions[-1] == "shop.ownership_transferred"
    with pytest.raises(PermissionDenied):
        await member_services.transfer_ownership(
            w.uow, actor(owner), shop.id, to_account_id=heir.id
        )


async def test_transfer_respects_the_heirs_limit() -> None:
    w, owner, shop = await members_world()
    heir = w.account("heir1")
    await services.open_shop(w.uow, actor(heir), name="Heirs", subject_type=SubjectType.PERSONAL)
    await member_services.add_member(
        w.uow, actor(owner), shop.id, username="heir1", role=Role.ADMIN
    )
    with pytest.raises(ShopLimitReached):
        await member_services.transfer_ownership(
            w.uow, actor(owner), shop.id, to_account_id=heir.id
        )
    assert (await w.uow.members.get(shop.id, owner.id)).role is Role.OWNER  # type: ignore[union-attr]
    assert (await w.uow.members.get(shop.id, heir.id)).role is Role.ADMIN  # type: ignore[union-attr]


async def test_suspended_shop_refuses_member_changes() -> None:
    w, owner, shop = await members_world()
    staff = w.account("staff1")
    await member_services.add_member(
        w.uow, actor(owner), shop.id, username="staff1", role=Role.OPERATOR
    )
    shop.suspend("check")
    with pytest.raises(ShopSuspended):
        await member_services.add_member(
            w.uow, actor(owner), shop.id, username="owner1", role=Role.ADMIN
        )
    with pytest.raises(ShopSuspended):
        await member_services.change_role(w.uow, actor(owner), shop.id, staff.id, role=Role.ADMIN)
    with pytest.raises(ShopSuspended):
        await member_services.remove_member(w.uow, actor(owner), shop.id, staff.id)
    with pytest.raises(ShopSuspended):
        await member_services.transfer_ownership(
            w.uow, actor(owner), shop.id, to_account_id=staff.id
        )
    assert (await w.uow.members.get(shop.id, staff.id)).role is Role.OPERATOR  # type: ignore[union-attr]
