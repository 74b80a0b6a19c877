"""Merchant surface: open and manage shops, submit qualifications, read the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from app.api.deps import (
    MERCHANT_ERRORS,
    SESSION_ERRORS,
    ContainerDep,
    CurrentAccount,
    IfMatch,
    MerchantSession,
    UoW,
    set_etag,
)
from app.api.errors import problem_responses
from app.api.openapi import sets_headers
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import ShopIdPath
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.base import BoundedDatetime
from app.api.schemas.shops import (
    AuditEntry,
    MyShop,
    RolePermissions,
    ShopCreate,
    ShopQualification,
    ShopQualificationSubmit,
    ShopUpdate,
    qualification_out,
    shop_fields,
)
from app.domain.errors import Conflict, InvalidTransition, PreconditionFailed
from app.domain.shops import model, services
from app.domain.shops.errors import (
    PermissionDenied,
    ShopLimitReached,
    ShopNotFound,
    ShopSuspended,
)
from app.domain.shops.permissions import MATRIX, Permission, Role

router = PrefixedRouter(route_class=StrictRoute, prefix="/merchant", tags=["Merchant: shops"])


def my_shop_out(shop: model.Shop, role: Role) -> MyShop:
    return MyShop.model_validate(
        {**shop_fields(shop), "role": role, "permissions": sorted(MATRIX[role])}
    )


@router.get(
    "/roles",
    operation_id="listMemberRoles",
    summary="The permission matrix of member roles",
    response_model=list[RolePermissions],
)
async def list_roles() -> list[RolePermissions]:
    return [RolePermissions(role=r, permissions=sorted(p)) for r, p in MATRIX.items()]


@router.post(
    "/shops",
    operation_id="openShop",
    summary="Open a shop",
    status_code=status.HTTP_201_CREATED,
    response_model=MyShop,
    responses={
        **sets_headers(201, etag=True, location=True),
        **problem_responses(*MERCHANT_ERRORS, 400, 413, 415, 422, ShopLimitReached),
    },
)
async def open_shop(body: ShopCreate, ctx: MerchantSession, uow: UoW, response: Response) -> MyShop:
    shop, member = await services.open_shop(
        uow,
        ctx.actor,
        name=body.name,
        subject_type=body.subject_type,
        logo_url=str(body.logo_url) if body.logo_url else None,
    )
    set_etag(response, shop.version)
    response.headers["Location"] = f"/merchant/shops/{shop.id}"
    return my_shop_out(shop, member.role)


@router.get(
    "/shops",
    operation_id="listMyShops",
    summary="Shops where you are a member",
    response_model=ListResponse[MyShop],
    responses=problem_responses(*SESSION_ERRORS, *PAGE_ERRORS),
)
async def list_my_shops(ctx: CurrentAccount, uow: UoW, page: PageParams) -> ListResponse[MyShop]:
    result = await uow.shops.list_for_account(ctx.account.id, page)
    return ListResponse[MyShop](
        data=[my_shop_out(s, m.role) for s, m in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.get(
    "/shops/{shop_id}",
    operation_id="getMyShop",
    summary="A shop you are a member of",
    response_model=MyShop,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(*SESSION_ERRORS, ShopNotFound, PermissionDenied),
    },
)
async def get_my_shop(
    shop_id: ShopIdPath, ctx: CurrentAccount, uow: UoW, response: Response
) -> MyShop:
    acc = await services.access(uow, ctx.account.id, shop_id, Permission.SHOP_READ)
    set_etag(response, acc.shop.version)
    return my_shop_out(acc.shop, acc.member.role)


@router.patch(
    "/shops/{shop_id}",
    operation_id="updateMyShop",
    summary="Change the shop's name or logo",
    response_model=MyShop,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(
            *MERCHANT_ERRORS,
            400,
            413,
            415,
            422,
            ShopNotFound,
            PermissionDenied,
            ShopSuspended,
            InvalidTransition,
            PreconditionFailed,
        ),
    },
)
async def update_my_shop(
    shop_id: ShopIdPath,
    body: ShopUpdate,
    ctx: MerchantSession,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> MyShop:
    acc = await services.update_shop(
        uow,
        ctx.actor,
        shop_id,
        name=body.name,
        logo_url=str(body.logo_url) if body.logo_url else None,
        logo_given="logo_url" in body.model_fields_set,
        expected_version=expected,
    )
    set_etag(response, acc.shop.version)
    return my_shop_out(acc.shop, acc.member.role)


@router.put(
    "/shops/{shop_id}/qualification",
    operation_id="submitShopQualification",
    summary="Submit qualifications for review",
    description="Moves an individual or enterprise shop from `pending_qualification` or "
    "`rejected` to `in_review`. Identity and bank numbers are encrypted at rest and masked on "
    "every read.",
    response_model=ShopQualification,
    responses=problem_responses(
        *MERCHANT_ERRORS,
        400,
        413,
        415,
        422,
        ShopNotFound,
        PermissionDenied,
        ShopSuspended,
        InvalidTransition,
        Conflict,
    ),
)
async def submit_qualification(
    shop_id: ShopIdPath,
    body: ShopQualificationSubmit,
    ctx: MerchantSession,
    uow: UoW,
    container: ContainerDep,
) -> ShopQualification:
    shop, q = await services.submit_qualification(
        uow,
        container.cipher,
        ctx.actor,
        shop_id,
        services.QualificationInput(
            licence_number=body.licence_number,
            registered_name=body.registered_name,
            licence_image_url=str(body.licence_image_url),
            operator_name=body.operator_name,
            operator_id_number=body.operator_id_number,
            bank_account_name=body.bank_account_name,
            bank_name=body.bank_name,
            bank_account_number=body.bank_account_number,
        ),
        auto_approve=container.settings.auto_approve_reviews,
    )
    return qualification_out(shop, q, container.cipher)


@router.get(
    "/shops/{shop_id}/qualification",
    operation_id="getShopQualification",
    summary="The submitted qualification, masked",
    response_model=ShopQualification,
    responses=problem_responses(*SESSION_ERRORS, ShopNotFound, PermissionDenied, 404),
)
async def get_qualification(
    shop_id: ShopIdPath, ctx: CurrentAccount, uow: UoW, container: ContainerDep
) -> ShopQualification:
    shop, q = await services.get_qualification(uow, ctx.actor, shop_id)
    return qualification_out(shop, q, container.cipher)


@router.get(
    "/shops/{shop_id}/audit-log",
    operation_id="listShopAuditLog",
    summary="The shop's audit log, newest first",
    response_model=ListResponse[AuditEntry],
    responses=problem_responses(*SESSION_ERRORS, *PAGE_ERRORS, ShopNotFound, PermissionDenied),
)
async def list_audit_log(
    shop_id: ShopIdPath,
    ctx: CurrentAccount,
    uow: UoW,
    page: PageParams,
    action: Annotated[
        str | None,
        Query(max_length=64, description="e.g. `shop.updated`.", examples=["shop.updated"]),
    ] = None,
    actor_id: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Account or app id.",
            examples=["acct_01jd8m3k2x9v7q4w5e6r7t8y9z"],
        ),
    ] = None,
    target_id: Annotated[
        str | None,
        Query(
            max_length=40, description="Target id.", examples=["shop_01jd8m3k2x9v7q4w5e6r7t8y9z"]
        ),
    ] = None,
    since: Annotated[
        BoundedDatetime | None,
        Query(description="From this time (inclusive).", examples=["2026-11-01T00:00:00Z"]),
    ] = None,
    until: Annotated[
        BoundedDatetime | None,
        Query(description="Before this time.", examples=["2026-12-01T00:00:00Z"]),
    ] = None,
) -> ListResponse[AuditEntry]:
    await services.access(uow, ctx.account.id, shop_id, Permission.AUDIT_READ)
    result = await uow.audit.list_page(
        shop_id,
        page,
        action=action,
        actor_id=actor_id,
        target_id=target_id,
        since=since,
        until=until,
    )
    return ListResponse[AuditEntry](
        data=[AuditEntry.model_validate(e) for e in result.items],
        next_cursor=encode_cursor(result.next_after),
    )
