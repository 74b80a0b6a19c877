"""Merchant surface: shop members and their roles, ownership transfer."""

from __future__ import annotations

from fastapi import Response, status

from app.api.deps import (
    MERCHANT_ERRORS,
    SESSION_ERRORS,
    CurrentAccount,
    IfMatch,
    MerchantSession,
    UoW,
    set_etag,
)
from app.api.errors import problem_responses
from app.api.openapi import sets_headers
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.params import AccountIdPath, ShopIdPath
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.shops import (
    Member,
    MemberCreate,
    MemberUpdate,
    OwnershipTransfer,
    OwnershipTransferResult,
)
from app.domain.errors import Conflict, PreconditionFailed
from app.domain.shops import members
from app.domain.shops import model as shop_model
from app.domain.shops.errors import (
    AccountNotFound,
    AlreadyMember,
    LastOwner,
    MemberNotFound,
    PermissionDenied,
    ShopLimitReached,
    ShopNotFound,
    ShopSuspended,
)
from app.domain.shops.ports import ShopsUnitOfWork

#: What every member change can answer: the session's errors, a shop the caller does not see,
#: a permission the caller's role lacks, a suspended shop.
_CHANGE = (*MERCHANT_ERRORS, ShopNotFound, PermissionDenied, ShopSuspended)
_BODY = (400, 413, 415, 422)

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/merchant/shops/{shop_id}", tags=["Merchant: members"]
)


async def members_out(uow: ShopsUnitOfWork, items: list[shop_model.Member]) -> list[Member]:
    accounts = await uow.accounts.get_many([m.account_id for m in items])
    out = []
    for m in items:
        a = accounts[m.account_id]
        out.append(
            Member(
                account_id=m.account_id,
                username=a.username,
                display_name=a.display_name,
                role=m.role,
                created_at=m.created_at,
                version=m.version,
            )
        )
    return out


@router.get(
    "/members",
    operation_id="listShopMembers",
    summary="Members of the shop",
    response_model=ListResponse[Member],
    responses=problem_responses(*SESSION_ERRORS, *PAGE_ERRORS, ShopNotFound, PermissionDenied),
)
async def list_members(
    shop_id: ShopIdPath, ctx: CurrentAccount, uow: UoW, page: PageParams
) -> ListResponse[Member]:
    result = await members.list_members(uow, ctx.actor, shop_id, page)
    return ListResponse[Member](
        data=await members_out(uow, result.items), next_cursor=encode_cursor(result.next_after)
    )


@router.post(
    "/members",
    operation_id="addShopMember",
    summary="Add an existing account as a member",
    status_code=status.HTTP_201_CREATED,
    response_model=Member,
    responses={
        **sets_headers(201, etag=True),
        **problem_responses(*_CHANGE, *_BODY, AccountNotFound, AlreadyMember, ShopLimitReached),
    },
)
async def add_member(
    shop_id: ShopIdPath, body: MemberCreate, ctx: MerchantSession, uow: UoW, response: Response
) -> Member:
    member = await members.add_member(
        uow, ctx.actor, shop_id, username=body.username, role=body.role
    )
    set_etag(response, member.version)
    return (await members_out(uow, [member]))[0]


@router.patch(
    "/members/{account_id}",
    operation_id="changeShopMemberRole",
    summary="Change a member's role",
    description="Only owners grant, change or remove the owner role; the last owner stays.",
    response_model=Member,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(
            *_CHANGE,
            *_BODY,
            MemberNotFound,
            LastOwner,
            PreconditionFailed,
            ShopLimitReached,
        ),
    },
)
async def change_role(
    shop_id: ShopIdPath,
    account_id: AccountIdPath,
    body: MemberUpdate,
    ctx: MerchantSession,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> Member:
    member = await members.change_role(
        uow, ctx.actor, shop_id, account_id, role=body.role, expected_version=expected
    )
    set_etag(response, member.version)
    return (await members_out(uow, [member]))[0]


@router.delete(
    "/members/{account_id}",
    operation_id="removeShopMember",
    summary="Remove a member",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_CHANGE, 422, MemberNotFound, LastOwner),
)
async def remove_member(
    shop_id: ShopIdPath, account_id: AccountIdPath, ctx: MerchantSession, uow: UoW
) -> Response:
    await members.remove_member(uow, ctx.actor, shop_id, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/ownership-transfer",
    operation_id="transferShopOwnership",
    summary="Hand ownership to another member",
    response_model=OwnershipTransferResult,
    responses=problem_responses(*_CHANGE, *_BODY, MemberNotFound, Conflict, ShopLimitReached),
)
async def transfer(
    shop_id: ShopIdPath, body: OwnershipTransfer, ctx: MerchantSession, uow: UoW
) -> OwnershipTransferResult:
    previous, new = await members.transfer_ownership(
        uow, ctx.actor, shop_id, to_account_id=body.to_account_id
    )
    out = await members_out(uow, [previous, new])
    return OwnershipTransferResult(previous_owner=out[0], new_owner=out[1])
