"""Products and SKUs as providers send and read them. Money is integer fen."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field, model_validator

from app.api.schemas.base import Input, Output
from app.api.schemas.catalog import TIME_EXAMPLE
from app.domain.catalog.brands import NO_BRAND
from app.domain.catalog.product_rules import ProductFields, SkuFields
from app.domain.catalog.products import Condition, ProductStatus, RevisionStatus

PRODUCT_EXAMPLE = "prod_01jd8m3k2x9v7q4w5e6r7t8y9z"
SKU_EXAMPLE = "sku_01jd8m3k2x9v7q4w5e6r7t8y9z"
SHOP_EXAMPLE = "shop_01jd8m3k2x9v7q4w5e6r7t8y9z"
LEAF_EXAMPLE = "cat_apparel_women_dresses"
IMAGE_EXAMPLE = "https://cdn.example.com/products/dress-front.jpg"


class DescriptionBlock(Input):
    """One block of the detail page: a paragraph of text or an image."""

    type: Literal["text", "image"] = Field(
        description="`text` (needs `text`) or `image` (needs `url`).", examples=["text"]
    )
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=5000,
        description="The paragraph, for a text block.",
        examples=["Pure linen, cut for summer."],
    )
    url: AnyHttpUrl | None = Field(
        default=None, description="The image, for an image block.", examples=[None]
    )

    @model_validator(mode="after")
    def _content(self) -> DescriptionBlock:
        if self.type == "text" and (not self.text or self.url is not None):
            raise ValueError("a text block has `text` and no `url`")
        if self.type == "image" and (self.url is None or self.text is not None):
            raise ValueError("an image block has `url` and no `text`")
        return self


class Attribute(Input):
    """A product attribute shown on the detail page (material, origin...)."""

    name: str = Field(min_length=1, max_length=30, description="Name.", examples=["Material"])
    value: str = Field(min_length=1, max_length=100, description="Value.", examples=["Linen"])


SaleAttrs = dict[str, str]

_SALE_ATTRS = Field(
    min_length=0,
    max_length=5,
    description="The sale attributes that tell this SKU apart, e.g. colour and size; each "
    "combination once per product (`{}` for a product with a single SKU).",
    examples=[{"colour": "red", "size": "M"}],
)


class SkuCreate(Input):
    """One SKU: a sale-attribute combination with its price and stock."""

    sale_attrs: SaleAttrs = _SALE_ATTRS
    price: int = Field(
        ge=1, le=100_000_000, description="Price in fen (1999 = ¥19.99).", examples=[19900]
    )
    market_price: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="Crossed-out reference price in fen; at least `price`.",
        examples=[25900],
    )
    stock: int = Field(
        default=0, ge=0, le=10_000_000, description="Units available.", examples=[50]
    )
    out_sku_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Your own id for the SKU, unique in the shop.",
        examples=[None],
    )
    barcode: str | None = Field(
        default=None, max_length=64, description="EAN/UPC barcode.", examples=["6901234567892"]
    )
    weight_g: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Shipping weight in grams.", examples=[350]
    )
    low_stock_threshold: int | None = Field(
        default=None,
        ge=0,
        le=10_000_000,
        description="Raise `product.stock_low` when a stock change takes the stock from above "
        "this to at or below it (once per crossing). Omitted or null: no alert.",
        examples=[5],
    )


class SkuUpdate(Input):
    """Fields of a SKU that change at once, without review. Omitted fields stay."""

    price: int | None = Field(
        default=None, ge=1, le=100_000_000, description="Price in fen.", examples=[17900]
    )
    market_price: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="Reference price in fen; at least `price`; null clears it.",
        examples=[25900],
    )
    out_sku_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Your own id for the SKU; null clears it.",
        examples=["erp-sku-10086-red-m"],
    )
    barcode: str | None = Field(
        default=None, max_length=64, description="Barcode; null clears it.", examples=[None]
    )
    weight_g: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Weight in grams.", examples=[350]
    )
    low_stock_threshold: int | None = Field(
        default=None,
        ge=0,
        le=10_000_000,
        description="The low-stock alert level (see `SkuCreate`); null turns the alert off.",
        examples=[5],
    )


class ProductCreate(Input):
    """A new product, created as a draft together with its SKUs."""

    title: str = Field(
        min_length=1, max_length=60, description="Title.", examples=["Linen summer dress"]
    )
    subtitle: str = Field(
        default="", max_length=120, description="A selling line.", examples=["Breathable linen"]
    )
    description: list[DescriptionBlock] = Field(
        default_factory=list,
        max_length=50,
        description="Detail page blocks, in order.",
        examples=[[{"type": "text", "text": "Pure linen, cut for summer."}]],
    )
    brand_id: str = Field(
        default=NO_BRAND,
        min_length=1,
        max_length=40,
        description="A brand of the category from `GET /v1/brands`, which the shop holds a "
        "`brand_authorization` for; `brand_none` (the default) for no brand.",
        examples=["brand_lining"],
    )
    attributes: list[Attribute] = Field(
        default_factory=list,
        max_length=30,
        description="Name/value attributes.",
        examples=[[{"name": "Material", "value": "Linen"}]],
    )
    condition: Condition = Field(
        default=Condition.NEW,
        description="`new`, or `second_hand` where the category allows it.",
        examples=["new"],
    )
    regions: list[str] = Field(
        default_factory=list,
        max_length=34,
        description="Provinces it sells to, as GB/T 2260 two-digit codes (`11` Beijing, `31` "
        "Shanghai, `44` Guangdong...); empty means everywhere.",
        examples=[["11", "31", "44"]],
    )
    freight_template_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="One of the shop's freight templates (`GET /v1/freight-templates`) its "
        "orders pay; null: the shop's default template, else the shop's flat freight. Not "
        "reviewed: a change applies at once.",
        examples=["ftpl_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )

    images: list[AnyHttpUrl] = Field(
        min_length=1, max_length=9, description="Main images, 1 to 9.", examples=[[IMAGE_EXAMPLE]]
    )
    category_id: str = Field(
        min_length=1,
        max_length=40,
        description="A leaf category the shop can use (see `GET /v1/categories`).",
        examples=[LEAF_EXAMPLE],
    )
    out_product_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Your own id for the product, unique in the shop.",
        examples=["erp-10086"],
    )
    skus: list[SkuCreate] = Field(min_length=1, max_length=100, description="1 to 100 SKUs.")


class ProductUpdate(Input):
    """Fields to change; omitted fields stay. Reviewed content (all but `out_product_id` and
    `freight_template_id`)
    sends an approved or delisted product back to `draft`; on a listed product it becomes a
    pending revision."""

    title: str | None = Field(
        default=None, min_length=1, max_length=60, description="Title.", examples=["Linen dress"]
    )
    subtitle: str | None = Field(
        default=None, max_length=120, description="A selling line.", examples=["Breathable"]
    )
    description: list[DescriptionBlock] | None = Field(
        default=None,
        max_length=50,
        description="Detail page blocks, replacing the current ones.",
        examples=[[{"type": "text", "text": "Pure linen."}]],
    )
    images: list[AnyHttpUrl] | None = Field(
        default=None,
        min_length=1,
        max_length=9,
        description="Main images, replacing.",
        examples=[[IMAGE_EXAMPLE]],
    )
    brand_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Another brand of the category; `brand_none` for no brand.",
        examples=["brand_none"],
    )
    category_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Another leaf category.",
        examples=[LEAF_EXAMPLE],
    )
    attributes: list[Attribute] | None = Field(
        default=None, max_length=30, description="Attributes, replacing.", examples=[None]
    )
    condition: Condition | None = Field(
        default=None, description="`new` or `second_hand`.", examples=["new"]
    )
    regions: list[str] | None = Field(
        default=None, max_length=34, description="Province codes, replacing.", examples=[["11"]]
    )
    out_product_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Your own id; null clears it.",
        examples=["erp-10087"],
    )
    freight_template_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="One of the shop's freight templates (`GET /v1/freight-templates`) its "
        "orders pay; null goes back to the shop's default template (else the shop's flat "
        "freight). Not reviewed: a change applies at once.",
        examples=["ftpl_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )


class StockSet(Input):
    """An absolute stock level."""

    stock: int = Field(ge=0, le=10_000_000, description="The new stock.", examples=[100])


class StockAdjustment(Input):
    """A relative change: positive to add, negative to take away."""

    delta: int = Field(
        ge=-10_000_000, le=10_000_000, description="Units to add (or remove).", examples=[5]
    )


class StockLevel(Output):
    """The stock of a SKU after the change."""

    product_id: str = Field(description="The product.", examples=[PRODUCT_EXAMPLE])
    sku_id: str = Field(description="The SKU.", examples=[SKU_EXAMPLE])
    stock: int = Field(description="Units available now.", examples=[55])


class Sku(Output):
    """A SKU of a product."""

    id: str = Field(description="Its id.", examples=[SKU_EXAMPLE])
    product_id: str = Field(description="The product.", examples=[PRODUCT_EXAMPLE])
    shop_id: str = Field(description="The shop.", examples=[SHOP_EXAMPLE])
    sale_attrs: dict[str, str] = Field(
        description="Sale attributes.", examples=[{"colour": "red", "size": "M"}]
    )
    price: int = Field(description="Price in fen.", examples=[19900])
    market_price: int | None = Field(description="Reference price in fen.", examples=[25900])
    currency: Literal["CNY"] = Field(default="CNY", description="Currency.", examples=["CNY"])
    stock: int = Field(description="Units available.", examples=[50])
    out_sku_id: str | None = Field(description="Your own id.", examples=["erp-sku-10086-red-m"])
    barcode: str | None = Field(description="Barcode.", examples=["6901234567892"])
    weight_g: int | None = Field(description="Weight in grams.", examples=[350])
    low_stock_threshold: int | None = Field(
        description="`product.stock_low` fires when the stock falls to this or below; null: "
        "no alert.",
        examples=[5],
    )
    updated_at: datetime = Field(description="Last change.", examples=[TIME_EXAMPLE])
    version: int = Field(description="Optimistic-lock version.", examples=[1])


class PendingRevision(Output):
    """An edit of a live product's reviewed content, waiting for review while the live
    version keeps selling."""

    status: RevisionStatus = Field(
        description="`in_review`, or `rejected` (see the reason; edit again to resubmit).",
        examples=["in_review"],
    )
    changes: dict[str, Any] = Field(
        description="The reviewed fields it changes, with their proposed values.",
        examples=[{"title": "Linen summer dress, new cut"}],
    )
    rejection_reason: str | None = Field(description="Why review rejected it.", examples=[None])


class Product(Output):
    """A product (SPU) with its SKUs and where it is in review and sale."""

    id: str = Field(description="Its id.", examples=[PRODUCT_EXAMPLE])
    shop_id: str = Field(description="The shop.", examples=[SHOP_EXAMPLE])
    title: str = Field(description="Title.", examples=["Linen summer dress"])
    subtitle: str = Field(description="Selling line.", examples=["Breathable linen"])
    description: list[dict[str, str]] = Field(
        description="Detail page blocks.",
        examples=[[{"type": "text", "text": "Pure linen, cut for summer."}]],
    )
    images: list[str] = Field(description="Main images.", examples=[[IMAGE_EXAMPLE]])
    category_id: str = Field(description="Leaf category.", examples=[LEAF_EXAMPLE])
    brand_id: str = Field(description="Brand (`brand_none`: no brand).", examples=["brand_lining"])
    brand: str | None = Field(
        description="The brand's name; null for no brand.", examples=["Li-Ning"]
    )
    attributes: list[dict[str, str]] = Field(
        description="Attributes.", examples=[[{"name": "Material", "value": "Linen"}]]
    )
    condition: Condition = Field(description="`new` or `second_hand`.", examples=["new"])
    regions: list[str] = Field(description="Province codes; empty: all.", examples=[["11"]])
    out_product_id: str | None = Field(description="Your own id.", examples=["erp-10086"])
    freight_template_id: str | None = Field(
        description="The freight template its orders pay; null: the shop's default template "
        "(or flat freight when the shop has none).",
        examples=["ftpl_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    )
    status: ProductStatus = Field(
        description="`draft`, `in_review`, `approved`, `listed`, `delisted`, `rejected` or "
        "`banned`.",
        examples=["draft"],
    )
    rejection_reason: str | None = Field(description="Why review rejected it.", examples=[None])
    ban_reason: str | None = Field(description="Why the platform banned it.", examples=[None])
    submitted_at: datetime | None = Field(description="Last submitted.", examples=[None])
    reviewed_at: datetime | None = Field(description="Last reviewed.", examples=[None])
    listed_at: datetime | None = Field(description="Last listed.", examples=[None])
    created_at: datetime = Field(description="Created.", examples=[TIME_EXAMPLE])
    updated_at: datetime = Field(description="Last change.", examples=[TIME_EXAMPLE])
    version: int = Field(description="Optimistic-lock version (the ETag).", examples=[1])
    view: Literal["live", "pending"] = Field(
        description="Which content the reviewed fields show: `live` (what buyers see), or "
        "`pending` (the pending revision applied over it; see `pending_revision`).",
        examples=["live"],
    )
    pending_revision: PendingRevision | None = Field(
        description="The edit of reviewed content waiting for review, if any.", examples=[None]
    )
    skus: list[Sku] = Field(description="Its SKUs.")


# --- from the contract to the domain ----------------------------------------------------------


def product_fields(body: ProductCreate) -> ProductFields:
    return ProductFields(
        title=body.title,
        category_id=body.category_id,
        subtitle=body.subtitle,
        description=[b.model_dump(mode="json", exclude_none=True) for b in body.description],
        images=[str(i) for i in body.images],
        brand_id=body.brand_id,
        attributes=[a.model_dump() for a in body.attributes],
        condition=body.condition,
        regions=list(body.regions),
        out_product_id=body.out_product_id,
        freight_template_id=body.freight_template_id,
    )


def sku_fields(body: SkuCreate) -> SkuFields:
    return SkuFields(**body.model_dump())


def product_changes(body: ProductUpdate) -> dict[str, Any]:
    """The fields a PATCH body (or an import line) gives, as the domain stores them."""
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name == "description":
            value = [b.model_dump(mode="json", exclude_none=True) for b in value]
        elif name == "attributes":
            value = [a.model_dump() for a in value]
        elif name == "images":
            value = [str(i) for i in value]
        elif name == "regions":
            value = list(value)
        changes[name] = value
    return changes
