"""Categories and industry qualifications as providers and operators see them."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, Field

from app.api.schemas.base import Input, Output
from app.domain.catalog.qualifications import IndustryQualification as QualificationEntity
from app.domain.catalog.qualifications import QualificationStatus

CATEGORY_EXAMPLE = "cat_food_snacks_nuts"
TIME_EXAMPLE = "2026-11-25T08:00:00Z"


class QualificationKind(Output):
    """A kind of industry qualification some categories require."""

    code: str = Field(description="Stable code.", examples=["food_business_licence"])
    name: str = Field(description="Name.", examples=["Food business licence (食品经营许可证)"])
    description: str = Field(
        description="Who issues it and what it covers.",
        examples=["Required to sell pre-packaged food."],
    )


class Brand(Output):
    """A brand of the catalogue and whether the calling shop may use it."""

    id: str = Field(description="Brand id.", examples=["brand_lining"])
    name: str = Field(description="Name.", examples=["Li-Ning"])
    name_zh: str = Field(description="Chinese name.", examples=["李宁"])
    categories: list[str] = Field(
        description="Categories it is bound to: usable in every leaf beneath them (`*`: all).",
        examples=[["cat_apparel_men", "cat_sports_wear"]],
    )
    authorization_required: bool = Field(
        description="Using it needs an approved `brand_authorization` qualification naming it.",
        examples=[True],
    )
    authorized: bool = Field(
        description="The calling shop may use it now (no authorization needed, or one approved).",
        examples=[False],
    )


class CategoryNode(Output):
    """A category, with what it means for the calling shop."""

    id: str = Field(description="Category id.", examples=[CATEGORY_EXAMPLE])
    name: str = Field(description="English name.", examples=["Nuts & dried fruit"])
    name_zh: str = Field(description="Chinese name.", examples=["坚果炒货"])
    level: int = Field(ge=1, le=3, description="1 (top) to 3 (leaf).", examples=[3])
    parent_id: str | None = Field(
        description="The parent, null at the top.", examples=["cat_food_snacks"]
    )
    is_leaf: bool = Field(description="Only leaves take products.", examples=[True])
    shop_types: list[str] = Field(
        description="Shop types a leaf is open to (empty on branches).",
        examples=[["individual", "enterprise"]],
    )
    conditions: list[str] = Field(
        description="Conditions a leaf allows: `new`, `second_hand`.", examples=[["new"]]
    )
    required_qualifications: list[str] = Field(
        description="IndustryQualification kinds a leaf requires.",
        examples=[["food_business_licence"]],
    )
    usable: bool = Field(
        description="Whether this shop can list products here now (for a "
        "branch: in at least one leaf).",
        examples=[False],
    )
    open_to_shop_type: bool = Field(
        description="Whether the shop's type may ever use it.", examples=[True]
    )
    missing_qualifications: list[str] = Field(
        description="Required kinds the shop does not hold approved yet.",
        examples=[["food_business_licence"]],
    )
    children: list[CategoryNode] | None = Field(
        default=None,
        description="Sub-categories, when the tree was asked for.",
        examples=[None],
    )


class IndustryQualificationSubmit(Input):
    """Documents for one qualification kind, for platform review."""

    kind: str = Field(
        min_length=1,
        max_length=64,
        description="A qualification kind code.",
        examples=["food_business_licence"],
    )
    category_id: str | None = Field(
        default=None,
        max_length=40,
        description="The category it is for (optional).",
        examples=[CATEGORY_EXAMPLE],
    )
    brand_id: str | None = Field(
        default=None,
        max_length=40,
        description="For `brand_authorization` (and only for it): the brand from "
        "`GET /v1/brands` it authorizes.",
        examples=[None],
    )
    documents: list[AnyHttpUrl] = Field(
        min_length=1,
        max_length=10,
        description="Scans or photos of the documents.",
        examples=[["https://cdn.example.com/licence.jpg"]],
    )
    note: str | None = Field(
        default=None,
        max_length=500,
        description="For the reviewer.",
        examples=["Licence renewed in 2026."],
    )


class IndustryQualification(Output):
    """A submitted industry qualification and its review."""

    id: str = Field(description="Its id.", examples=["iq_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    shop_id: str = Field(description="The shop.", examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"])
    kind: str = Field(description="IndustryQualification kind.", examples=["food_business_licence"])
    category_id: str | None = Field(description="Category it is for.", examples=[CATEGORY_EXAMPLE])
    brand_id: str | None = Field(description="Brand it is for.", examples=[None])
    documents: list[str] = Field(
        description="Document URLs.", examples=[["https://cdn.example.com/licence.jpg"]]
    )
    note: str | None = Field(description="Note for the reviewer.", examples=[None])
    status: QualificationStatus = Field(
        description="`in_review`, `approved` or `rejected`.", examples=["in_review"]
    )
    rejection_reason: str | None = Field(description="Why it was rejected.", examples=[None])
    submitted_at: datetime = Field(description="Submitted.", examples=[TIME_EXAMPLE])
    reviewed_at: datetime | None = Field(description="Decided.", examples=[None])
    version: int = Field(description="Optimistic-lock version.", examples=[1])


def qualification_out(q: QualificationEntity) -> IndustryQualification:
    return IndustryQualification.model_validate(q)
