"""The rules every new or changed product and SKU must satisfy, shared by the single-product
API, the batch endpoint and the bulk importer.

Each check returns field-level errors (`{"loc", "msg", "type"}`) instead of raising, so a
caller can collect all of them (one request) or attach them to the lines of an upload (a
bulk job). `loc` starts with a prefix the caller chooses: `body` for a request body, `row`
for a line of an import file.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from app.domain.catalog import qualification_services
from app.domain.catalog.brands import NO_BRAND, brand_catalogue
from app.domain.catalog.categories import category_tree
from app.domain.catalog.ports import CatalogUnitOfWork
from app.domain.catalog.products import REGION_CODES, Condition, attrs_key
from app.domain.errors import ValidationFailed
from app.domain.shops.model import Shop

MAX_SKUS = 100


@dataclass
class SkuFields:
    sale_attrs: dict[str, str]
    price: int
    market_price: int | None = None
    stock: int = 0
    out_sku_id: str | None = None
    barcode: str | None = None
    weight_g: int | None = None
    low_stock_threshold: int | None = None


@dataclass
class ProductFields:
    title: str
    category_id: str
    subtitle: str = ""
    description: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    brand_id: str = NO_BRAND
    attributes: list[dict[str, str]] = field(default_factory=list)
    condition: Condition = Condition.NEW
    regions: list[str] = field(default_factory=list)
    out_product_id: str | None = None
    freight_template_id: str | None = None


@dataclass(frozen=True)
class ShopCatalog:
    """What the category rules need to know about a shop, loaded once per request or job
    (plain values: a job keeps it across its transactions)."""

    shop_type: str
    held: frozenset[str]
    #: Brands the shop holds an approved brand authorization for.
    brands: frozenset[str] = frozenset()


async def shop_catalog(uow: CatalogUnitOfWork, shop: Shop) -> ShopCatalog:
    return ShopCatalog(
        str(shop.subject_type),
        await qualification_services.held(uow, shop.id),
        await qualification_services.authorized_brands(uow, shop.id),
    )


def err(loc: str, msg: str, type_: str = "invalid") -> dict[str, Any]:
    return {"loc": loc.split("."), "msg": msg, "type": type_}


def template_errors(
    template_id: str | None, known: Collection[str], prefix: str = "body"
) -> list[dict[str, Any]]:
    """A product names one of its shop's freight templates (`known`: those of the shop among
    the ids asked about; another shop's is unknown)."""
    if template_id is None or template_id in known:
        return []
    return [
        err(
            f"{prefix}.freight_template_id",
            f"The shop has no freight template {template_id}.",
            "unknown_freight_template",
        )
    ]


def raise_errors(errors: list[dict[str, Any]]) -> None:
    if errors:
        summary = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors[:5])
        raise ValidationFailed(summary, errors=errors)


def category_errors(
    sc: ShopCatalog, category_id: str, condition: Condition, prefix: str = "body"
) -> list[dict[str, Any]]:
    tree = category_tree()
    category = tree.get(category_id)
    loc = f"{prefix}.category_id"
    if category is None:
        return [err(loc, f"Unknown category {category_id}.", "unknown_category")]
    if not category.is_leaf:
        return [
            err(
                loc,
                f"{category_id} is not a leaf category; products go in leaves only.",
                "not_a_leaf",
            )
        ]
    usability = tree.usability(category_id, sc.shop_type, sc.held)
    errors = []
    if not usability.open_to_shop_type:
        errors.append(
            err(
                loc,
                f"{category_id} is not open to {sc.shop_type} shops.",
                "category_not_open",
            )
        )
    elif usability.missing_qualifications:
        missing = ", ".join(usability.missing_qualifications)
        errors.append(
            err(
                loc,
                f"The shop lacks the qualifications {category_id} requires: {missing}.",
                "missing_qualifications",
            )
        )
    if str(condition) not in category.conditions:
        errors.append(
            err(
                f"{prefix}.condition",
                f"{category_id} allows the conditions {', '.join(category.conditions)} only.",
                "condition_not_allowed",
            )
        )
    return errors


def brand_errors(
    sc: ShopCatalog, brand_id: str, category_id: str, prefix: str = "body"
) -> list[dict[str, Any]]:
    """The brand exists, is bound to the category, and the shop is authorized for it."""
    catalogue = brand_catalogue()
    brand = catalogue.get(brand_id)
    loc = f"{prefix}.brand_id"
    if brand is None:
        return [err(loc, f"Unknown brand {brand_id}.", "unknown_brand")]
    if category_tree().get(category_id) is not None and not catalogue.fits(brand, category_id):
        return [
            err(
                loc,
                f"{brand.name} is not a brand of {category_id} (see GET /v1/brands).",
                "brand_not_in_category",
            )
        ]
    if not catalogue.authorized(brand, sc.brands):
        return [
            err(
                loc,
                f"The shop holds no approved brand_authorization for {brand.name}; submit one "
                "with brand_id first.",
                "missing_brand_authorization",
            )
        ]
    return []


def brand_name(brand_id: str) -> str | None:
    """The name stored with the product; none for `brand_none`."""
    brand = brand_catalogue().get(brand_id)
    return None if brand is None or brand.id == NO_BRAND else brand.name


def region_errors(regions: list[str], prefix: str = "body") -> list[dict[str, Any]]:
    return [
        err(
            f"{prefix}.regions.{i}",
            f"{code!r} is not a GB/T 2260 province code.",
            "unknown_region",
        )
        for i, code in enumerate(regions)
        if code not in REGION_CODES
    ]


def price_errors(prefix: str, price: int, market_price: int | None) -> list[dict[str, Any]]:
    """`prefix` ends with a dot: `body.`, `body.skus.0.`."""
    if market_price is not None and market_price < price:
        return [err(f"{prefix}market_price", "market_price must be at least the price.")]
    return []


def sku_errors(skus: list[SkuFields], prefix: str = "body.skus") -> list[dict[str, Any]]:
    """Prices, and one SKU per sale-attribute combination (the error names both indexes)."""
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, sku in enumerate(skus):
        errors += price_errors(f"{prefix}.{i}.", sku.price, sku.market_price)
        key = attrs_key(sku.sale_attrs)
        if key in seen:
            errors.append(
                err(
                    f"{prefix}.{i}.sale_attrs",
                    f"SKU {i} has the same sale attributes as SKU {seen[key]}; each SKU needs "
                    "its own combination.",
                    "duplicate_sale_attrs",
                )
            )
        else:
            seen[key] = i
    return errors


def duplicate_attrs_error(loc: str, existing_sku_id: str) -> dict[str, Any]:
    return err(
        loc,
        f"SKU {existing_sku_id} already has these sale attributes.",
        "duplicate_sale_attrs",
    )


def sku_count_error(loc: str) -> dict[str, Any]:
    return err(loc, f"A product has at most {MAX_SKUS} SKUs.")


def new_product_errors(
    sc: ShopCatalog, fields: ProductFields, skus: list[SkuFields], prefix: str = "body"
) -> list[dict[str, Any]]:
    """Everything a new product with its SKUs must satisfy, but out-id uniqueness (a lookup)."""
    errors = category_errors(sc, fields.category_id, fields.condition, prefix)
    errors += brand_errors(sc, fields.brand_id, fields.category_id, prefix)
    errors += region_errors(fields.regions, prefix)
    if not 1 <= len(skus) <= MAX_SKUS:
        errors.append(err(f"{prefix}.skus", f"Send 1 to {MAX_SKUS} SKUs."))
    errors += sku_errors(skus, f"{prefix}.skus")
    return errors


def changed_product_errors(
    sc: ShopCatalog,
    current_category: str,
    current_condition: Condition,
    changed: dict[str, Any],
    prefix: str = "body",
    current_brand: str = NO_BRAND,
) -> list[dict[str, Any]]:
    """The rules a change of an existing product's content must satisfy (`changed` holds only
    the fields whose value differs; `current_*` what they are now, or in the pending revision
    the change goes into)."""
    errors: list[dict[str, Any]] = []
    category = changed.get("category_id", current_category)
    if "category_id" in changed or "condition" in changed:
        errors += category_errors(sc, category, changed.get("condition", current_condition), prefix)
    if "brand_id" in changed or "category_id" in changed:
        errors += brand_errors(sc, changed.get("brand_id", current_brand), category, prefix)
    if "regions" in changed:
        errors += region_errors(changed["regions"], prefix)
    return errors
