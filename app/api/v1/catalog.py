"""Open API: the category tree for the calling shop, and its industry qualifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response, status

from app.api.deps import ContainerDep, UoW
from app.api.errors import problem_responses
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import QualificationId
from app.api.provider import PROVIDER_ERRORS, PROVIDER_WRITE_ERRORS, ProductsRead, ProductsWrite
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.catalog import (
    CATEGORY_EXAMPLE,
    Brand,
    CategoryNode,
    IndustryQualification,
    IndustryQualificationSubmit,
    QualificationKind,
    qualification_out,
)
from app.domain.catalog import qualification_services as services
from app.domain.catalog.brands import Brand as BrandEntry
from app.domain.catalog.brands import BrandCatalogue, brand_catalogue
from app.domain.catalog.categories import CategoryTree, category_tree
from app.domain.catalog.errors import BrandNotFound, CategoryNotFound, QualificationNotFound
from app.domain.catalog.qualifications import QualificationStatus
from app.domain.shops import services as shop_services

router = PrefixedRouter(route_class=StrictRoute, prefix="/v1", tags=["Open API: catalog"])

CategoryId = Annotated[
    str, Path(max_length=40, description="A category id.", examples=[CATEGORY_EXAMPLE])
]


def _node(
    tree: CategoryTree, category_id: str, shop_type: str, held: frozenset[str], depth: int
) -> CategoryNode:
    c = tree.by_id[category_id]
    u = tree.usability(c.id, shop_type, held)
    return CategoryNode(
        id=c.id,
        name=c.name,
        name_zh=c.name_zh,
        level=c.level,
        parent_id=c.parent_id,
        is_leaf=c.is_leaf,
        shop_types=sorted(c.shop_types),
        conditions=list(c.conditions),
        required_qualifications=list(c.qualifications),
        usable=u.usable,
        open_to_shop_type=u.open_to_shop_type,
        missing_qualifications=list(u.missing_qualifications),
        children=[_node(tree, k, shop_type, held, depth - 1) for k in c.children]
        if depth > 0 and c.children
        else None,
    )


@router.get(
    "/categories",
    operation_id="listCategories",
    summary="Categories, and whether this shop can use them",
    description="Top-level categories, or the children of `parent_id`; `tree=true` nests "
    "every level below. Each node says whether the calling shop can list products there and "
    "which qualifications it still lacks. Scope `products:read`.",
    response_model=list[CategoryNode],
    responses=problem_responses(*PROVIDER_ERRORS, 422, CategoryNotFound),
)
async def list_categories(
    access: ProductsRead,
    uow: UoW,
    parent_id: Annotated[
        str | None,
        Query(max_length=40, description="Children of this category.", examples=["cat_food"]),
    ] = None,
    tree: Annotated[bool, Query(description="Nest every level below.", examples=[False])] = False,
) -> list[CategoryNode]:
    categories = category_tree()
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    held = await services.held(uow, access.shop_id)
    if parent_id is None:
        ids = list(categories.roots)
    else:
        ids = list(categories.require(parent_id).children)
    depth = 3 if tree else 0
    return [_node(categories, i, str(shop.subject_type), held, depth) for i in ids]


@router.get(
    "/categories/{category_id}",
    operation_id="getCategory",
    summary="One category, with its children",
    response_model=CategoryNode,
    responses=problem_responses(*PROVIDER_ERRORS, 422, CategoryNotFound),
)
async def get_category(category_id: CategoryId, access: ProductsRead, uow: UoW) -> CategoryNode:
    categories = category_tree()
    categories.require(category_id)
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    held = await services.held(uow, access.shop_id)
    return _node(categories, category_id, str(shop.subject_type), held, 1)


BrandId = Annotated[str, Path(max_length=40, description="A brand id.", examples=["brand_lining"])]


def _brand(b: BrandEntry, authorized: frozenset[str]) -> Brand:
    return Brand(
        id=b.id,
        name=b.name,
        name_zh=b.name_zh,
        categories=list(b.categories),
        authorization_required=b.authorization_required,
        authorized=BrandCatalogue.authorized(b, authorized),
    )


@router.get(
    "/brands",
    operation_id="listBrands",
    summary="Brands, by category, and whether this shop may use them",
    description="Scope `products:read`. The whole catalogue (a few hundred entries, so no "
    "pages), or the brands usable in `category_id` (for a branch: in one of its leaves), "
    "optionally matching `q`. `brand_none` (no brand) fits every category. A brand with "
    "`authorization_required` needs an approved `brand_authorization` qualification naming "
    "it (`POST /v1/qualifications` with `brand_id`) before a product may use it.",
    response_model=list[Brand],
    responses=problem_responses(*PROVIDER_ERRORS, 422, CategoryNotFound),
)
async def list_brands(
    access: ProductsRead,
    uow: UoW,
    category_id: Annotated[
        str | None,
        Query(max_length=40, description="Only brands usable here.", examples=["cat_sports"]),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=60,
            description="Name (English or Chinese) contains this text.",
            examples=["li"],
        ),
    ] = None,
) -> list[Brand]:
    if category_id is not None:
        category_tree().require(category_id)
    authorized = await services.authorized_brands(uow, access.shop_id)
    found = brand_catalogue().search(category_id=category_id, query=q)
    return [_brand(b, authorized) for b in found]


@router.get(
    "/brands/{brand_id}",
    operation_id="getBrand",
    summary="One brand",
    response_model=Brand,
    responses=problem_responses(*PROVIDER_ERRORS, 422, BrandNotFound),
)
async def get_brand(brand_id: BrandId, access: ProductsRead, uow: UoW) -> Brand:
    brand = brand_catalogue().require(brand_id)
    return _brand(brand, await services.authorized_brands(uow, access.shop_id))


@router.get(
    "/qualification-kinds",
    operation_id="listQualificationKinds",
    summary="Kinds of industry qualification",
    response_model=list[QualificationKind],
    responses=problem_responses(*PROVIDER_ERRORS),
)
async def list_kinds(access: ProductsRead) -> list[QualificationKind]:
    return [QualificationKind.model_validate(k) for k in category_tree().qualifications.values()]


@router.post(
    "/qualifications",
    operation_id="submitQualification",
    summary="Submit an industry qualification for review",
    status_code=status.HTTP_201_CREATED,
    response_model=IndustryQualification,
    responses=problem_responses(*PROVIDER_WRITE_ERRORS, 400, 413, 415, 422),
)
async def submit_qualification(
    body: IndustryQualificationSubmit,
    access: ProductsWrite,
    uow: UoW,
    container: ContainerDep,
    response: Response,
) -> IndustryQualification:
    shop = await shop_services.shop_or_404(uow, access.shop_id)
    shop.ensure_active()
    q = await services.submit(
        uow,
        access.actor,
        access.shop_id,
        kind=body.kind,
        documents=[str(d) for d in body.documents],
        category_id=body.category_id,
        brand_id=body.brand_id,
        note=body.note,
        auto_approve=container.settings.auto_approve_reviews,
    )
    response.headers["Location"] = f"/v1/qualifications/{q.id}"
    return qualification_out(q)


@router.get(
    "/qualifications",
    operation_id="listQualifications",
    summary="The shop's industry qualifications",
    response_model=ListResponse[IndustryQualification],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_qualifications(
    access: ProductsRead,
    uow: UoW,
    page: PageParams,
    status: Annotated[
        QualificationStatus | None, Query(description="Only in this status.", examples=["approved"])
    ] = None,
) -> ListResponse[IndustryQualification]:
    result = await services.list_for_shop(uow, access.shop_id, page, status)
    return ListResponse[IndustryQualification](
        data=[qualification_out(q) for q in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/qualifications/{qualification_id}",
    operation_id="getQualification",
    summary="One of the shop's industry qualifications",
    response_model=IndustryQualification,
    responses=problem_responses(*PROVIDER_ERRORS, 422, QualificationNotFound),
)
async def get_qualification(
    qualification_id: QualificationId, access: ProductsRead, uow: UoW
) -> IndustryQualification:
    return qualification_out(await services.get_for_shop(uow, access.shop_id, qualification_id))
