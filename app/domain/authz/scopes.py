"""OAuth scopes of the open API, each with the plain words the consent page shows."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """An OAuth scope: what an app may read or change in a shop."""

    SHOP_READ = "shop:read"
    SHOP_WRITE = "shop:write"
    PRODUCTS_READ = "products:read"
    PRODUCTS_WRITE = "products:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    LOGISTICS_READ = "logistics:read"
    LOGISTICS_WRITE = "logistics:write"
    AFTERSALES_READ = "aftersales:read"
    AFTERSALES_WRITE = "aftersales:write"
    MARKETING_READ = "marketing:read"
    MARKETING_WRITE = "marketing:write"
    FUNDS_READ = "funds:read"


DESCRIPTIONS: dict[Scope, str] = {
    Scope.SHOP_READ: "See your shop's name, logo, type and status",
    Scope.SHOP_WRITE: "Change your shop's name and logo",
    Scope.PRODUCTS_READ: "See your products, SKUs, prices and stock",
    Scope.PRODUCTS_WRITE: "Create and edit products, prices and stock, and list or delist them",
    Scope.ORDERS_READ: "See your orders, including buyers' delivery addresses",
    Scope.ORDERS_WRITE: "Change order prices and notes, cancel and ship orders",
    Scope.LOGISTICS_READ: "See carriers, waybills, shipments and freight templates",
    Scope.LOGISTICS_WRITE: "Bind carrier accounts, print waybills and manage freight templates",
    Scope.AFTERSALES_READ: "See refund and return requests",
    Scope.AFTERSALES_WRITE: "Approve or refuse refunds and returns",
    Scope.MARKETING_READ: "See coupons and promotions",
    Scope.MARKETING_WRITE: "Create and end coupons and promotions",
    Scope.FUNDS_READ: "See your shop's balances and money movements",
}


class InvalidScope(ValueError):
    def __init__(self, unknown: list[str]) -> None:
        super().__init__(f"Unknown scope(s): {' '.join(unknown)}")
        self.unknown = unknown


def parse_scopes(value: str | None) -> frozenset[Scope]:
    """A space-delimited scope string (RFC 6749 §3.3) to a set; unknown names are refused."""
    names = [s for s in (value or "").split(" ") if s]
    unknown = [n for n in names if n not in Scope._value2member_map_]
    if unknown:
        raise InvalidScope(unknown)
    return frozenset(Scope(n) for n in names)


def scope_string(scopes: frozenset[Scope] | set[Scope] | list[Scope]) -> str:
    """Canonical order (as declared), so equal sets give equal strings."""
    chosen = set(scopes)
    return " ".join(s.value for s in Scope if s in chosen)
