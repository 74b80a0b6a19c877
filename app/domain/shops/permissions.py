"""Member roles and the permission matrix every merchant endpoint enforces.

The matrix is data so it can be documented (README, `GET /merchant/roles`) from one place.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A member's role in a shop."""

    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    CUSTOMER_SERVICE = "customer_service"
    FINANCE = "finance"


class Permission(StrEnum):
    """One thing a member role may do in a shop."""

    SHOP_READ = "shop.read"
    SHOP_UPDATE = "shop.update"
    QUALIFICATION_READ = "qualification.read"
    QUALIFICATION_SUBMIT = "qualification.submit"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    OWNERSHIP_TRANSFER = "ownership.transfer"
    AUDIT_READ = "audit.read"
    APPS_AUTHORIZE = "apps.authorize"
    PRODUCTS_MANAGE = "products.manage"
    ORDERS_READ = "orders.read"
    ORDERS_MANAGE = "orders.manage"
    AFTERSALES_MANAGE = "aftersales.manage"
    FINANCE_READ = "finance.read"


_ALL = frozenset(Permission)

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL - {Permission.OWNERSHIP_TRANSFER},
    Role.OPERATOR: frozenset(
        {
            Permission.SHOP_READ,
            Permission.MEMBERS_READ,
            Permission.PRODUCTS_MANAGE,
            Permission.ORDERS_READ,
            Permission.ORDERS_MANAGE,
        }
    ),
    Role.CUSTOMER_SERVICE: frozenset(
        {
            Permission.SHOP_READ,
            Permission.MEMBERS_READ,
            Permission.ORDERS_READ,
            Permission.ORDERS_MANAGE,
            Permission.AFTERSALES_MANAGE,
        }
    ),
    Role.FINANCE: frozenset(
        {
            Permission.SHOP_READ,
            Permission.MEMBERS_READ,
            Permission.QUALIFICATION_READ,
            # The orders' amounts, not who bought or where they live (see `ORDERS_MANAGE`).
            Permission.ORDERS_READ,
            Permission.FINANCE_READ,
        }
    ),
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in MATRIX[role]


def matrix_markdown() -> str:
    roles = list(Role)
    lines = ["| permission | " + " | ".join(r.value for r in roles) + " |"]
    lines.append("|---|" + "---|" * len(roles))
    for perm in Permission:
        cells = ["yes" if allows(r, perm) else "—" for r in roles]
        lines.append(f"| `{perm.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
