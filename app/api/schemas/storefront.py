"""The storefront's public documents: a shop's profile and its products on sale, as anyone
may read them. Only what a buyer needs: no provider ids, review state, pending revision,
exact stock beyond a cap, qualifications or members.

The product documents are built straight from the read model's records (as the provider's
hot reads are, `product_documents`), field for field in the schemas' order;
`tests/test_storefront_reads.py` holds them to the schemas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.api.schemas.base import Output
from app.api.schemas.catalog import TIME_EXAMPLE
from app.api.schemas.products import (
    IMAGE_EXAMPLE,
    LEAF_EXAMPLE,
    PRODUCT_EXAMPLE,
    SHOP_EXAMPLE,
    SKU_EXAMPLE,
)
from app.domain.catalog.products import Condition, ProductRecord
from app.domain.catalog.storefront import STOCK_HINT_CAP, stock_hint
from app.domain.shops.model import Shop, SubjectType


class StorefrontShop(Output):
    """A shop's public profile."""

    id: str = Field(description="The shop's id.", examples=[SHOP_EXAMPLE])
    name: str = Field(description="The shop's name.", examples=["Mountain Tea House"])
    logo_url: str | None = Field(
        description="Logo URL, or null.", examples=["https://cdn.example.com/logo.png"]
    )
    subject_type: SubjectType = Field(
        description="Who runs it: `personal`, `individual` (个体工商户) or `enterprise`.",
        examples=["enterprise"],
    )
    opened_at: datetime | None = Field(description="When the shop opened.", examples=[TIME_EXAMPLE])


class StorefrontSku(Output):
    """A SKU on sale: its price and whether it can be bought."""

    id: str = Field(description="The SKU's id.", examples=[SKU_EXAMPLE])
    sale_attrs: dict[str, str] = Field(
        description="Sale attributes.", examples=[{"colour": "red", "size": "M"}]
    )
    price: int = Field(description="Price in fen.", examples=[19900])
    market_price: int | None = Field(description="Reference price in fen.", examples=[25900])
    currency: Literal["CNY"] = Field(description="Currency.", examples=["CNY"])
    available: bool = Field(description="In stock now.", examples=[True])
    stock_hint: int = Field(
        ge=0,
        le=STOCK_HINT_CAP,
        description=f"Units in stock, capped at {STOCK_HINT_CAP} ({STOCK_HINT_CAP} means that "
        'many or more): enough for "only 3 left". Not a promise: an order reserves stock '
        "when it is placed.",
        examples=[12],
    )


class StorefrontProduct(Output):
    """A product on sale, as it is live (an edit waiting for review does not show)."""

    id: str = Field(description="The product's id.", examples=[PRODUCT_EXAMPLE])
    shop_id: str = Field(description="The shop selling it.", examples=[SHOP_EXAMPLE])
    title: str = Field(description="Title.", examples=["Linen summer dress"])
    subtitle: str = Field(description="Selling line.", examples=["Breathable linen"])
    description: list[dict[str, str]] = Field(
        description="Detail page blocks.",
        examples=[[{"type": "text", "text": "Pure linen, cut for summer."}]],
    )
    images: list[str] = Field(description="Main images.", examples=[[IMAGE_EXAMPLE]])
    category_id: str = Field(description="Leaf category.", examples=[LEAF_EXAMPLE])
    brand: str | None = Field(
        description="The brand's name; null for no brand.", examples=["Li-Ning"]
    )
    attributes: list[dict[str, str]] = Field(
        description="Attributes.", examples=[[{"name": "Material", "value": "Linen"}]]
    )
    condition: Condition = Field(description="`new` or `second_hand`.", examples=["new"])
    regions: list[str] = Field(
        description="Province codes it ships to (GB/T 2260); empty: all.", examples=[["11"]]
    )
    listed_at: datetime = Field(description="When it went on sale.", examples=[TIME_EXAMPLE])
    skus: list[StorefrontSku] = Field(description="Its SKUs.")


def shop_document(shop: Shop) -> dict[str, Any]:
    return {
        "id": shop.id,
        "name": shop.name,
        "logo_url": shop.logo_url,
        "subject_type": shop.subject_type,
        "opened_at": shop.opened_at,
    }


def sku_document(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": s["id"],
        "sale_attrs": s["sale_attrs"],
        "price": s["price"],
        "market_price": s["market_price"],
        "currency": "CNY",
        "available": s["stock"] > 0,
        "stock_hint": stock_hint(s["stock"]),
    }


def product_document(r: ProductRecord) -> dict[str, Any]:
    """The live fields only: the record's pending revision is the provider's."""
    return {
        "id": r["id"],
        "shop_id": r["shop_id"],
        "title": r["title"],
        "subtitle": r["subtitle"],
        "description": r["description"],
        "images": r["images"],
        "category_id": r["category_id"],
        "brand": r["brand"],
        "attributes": r["attributes"],
        "condition": r["condition"],
        "regions": r["regions"],
        "listed_at": r["listed_at"],
        "skus": [sku_document(s) for s in r["skus"]],
    }
