"""Open API: the shop's logistics accounts (carrier accounts for electronic waybills) and its
sender/return address book. Another shop's ids are not found (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status

from app.api.deps import ContainerDep, IfMatch, UoW, set_etag
from app.api.errors import problem_responses
from app.api.openapi import sets_headers
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.provider import PROVIDER_ERRORS, PROVIDER_WRITE_ERRORS, LogisticsRead, LogisticsWrite
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.logistics import (
    ACCOUNT_ID_EXAMPLE,
    SENDER_ID_EXAMPLE,
    LogisticsAccount,
    LogisticsAccountBind,
    SenderAddress,
    SenderAddressCreate,
    SenderAddressUpdate,
)
from app.container import ConcurrentUpdate
from app.domain.errors import PreconditionFailed
from app.domain.logistics import account_services as accounts
from app.domain.logistics import sender_services as senders
from app.domain.logistics.errors import (
    CarrierNotSupported,
    CarrierResponseInvalid,
    CarrierTimeout,
    CarrierUnavailable,
    DefaultSenderRequired,
    LogisticsAccountExists,
    LogisticsAccountNotFound,
    LogisticsAccountRefused,
    SenderAddressLimitReached,
    SenderAddressNotFound,
)
from app.domain.logistics.senders import MAX_SENDER_ADDRESSES, SenderChanges
from app.domain.orders.errors import CarrierUnknown, PhoneInvalid, RegionUnknown

router = PrefixedRouter(
    route_class=StrictRoute, prefix="/v1/logistics", tags=["Open API: logistics"]
)

ACCOUNTS = "/v1/logistics/accounts"
ADDRESSES = "/v1/logistics/addresses"
_BODY = (400, 413, 415, 422)

AccountId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The logistics account's id (`lacc_…`).",
        examples=[ACCOUNT_ID_EXAMPLE],
    ),
]
AddressId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The sender address's id (`sadr_…`).",
        examples=[SENDER_ID_EXAMPLE],
    ),
]


@router.get(
    "/accounts",
    operation_id="listLogisticsAccounts",
    summary="The shop's carrier accounts",
    description="Scope `logistics:read`. Oldest first; credentials masked.",
    response_model=ListResponse[LogisticsAccount],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_accounts(
    access: LogisticsRead, uow: UoW, page: PageParams
) -> ListResponse[LogisticsAccount]:
    result = await accounts.list_accounts(uow, access.shop_id, page)
    return ListResponse[LogisticsAccount](
        data=[LogisticsAccount.of(a) for a in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.post(
    "/accounts",
    operation_id="bindLogisticsAccount",
    summary="Bind a carrier account",
    description="Scope `logistics:write`. The carrier verifies the credentials first: refused "
    "ones are a 422 `logistics_account_refused` naming the carrier's reason, and nothing is "
    "stored. The key and the secret are stored encrypted (the platform's key ring) and only "
    "ever shown masked. A shop binds a carrier's customer code once (409).",
    status_code=status.HTTP_201_CREATED,
    response_model=LogisticsAccount,
    responses={
        **sets_headers(201, location=True),
        **problem_responses(
            *PROVIDER_WRITE_ERRORS,
            *_BODY,
            CarrierUnknown,
            CarrierNotSupported,
            LogisticsAccountRefused,
            LogisticsAccountExists,
            CarrierUnavailable,
            CarrierTimeout,
            CarrierResponseInvalid,
        ),
    },
)
async def bind_account(
    body: LogisticsAccountBind,
    access: LogisticsWrite,
    uow: UoW,
    container: ContainerDep,
    response: Response,
) -> LogisticsAccount:
    account = await accounts.bind_account(
        uow,
        container.cipher,
        access.actor,
        access.shop_id,
        carrier_code=body.carrier,
        customer_code=body.customer_code,
        key=body.key,
        secret=body.secret,
    )
    response.headers["Location"] = f"{ACCOUNTS}/{account.id}"
    return LogisticsAccount.of(account)


@router.get(
    "/accounts/{logistics_account_id}",
    operation_id="getLogisticsAccount",
    summary="One carrier account",
    description="Scope `logistics:read`. Credentials masked.",
    response_model=LogisticsAccount,
    responses=problem_responses(*PROVIDER_ERRORS, 422, LogisticsAccountNotFound),
)
async def get_account(
    logistics_account_id: AccountId, access: LogisticsRead, uow: UoW
) -> LogisticsAccount:
    return LogisticsAccount.of(
        await accounts.get_account(uow, access.shop_id, logistics_account_id)
    )


@router.delete(
    "/accounts/{logistics_account_id}",
    operation_id="unbindLogisticsAccount",
    summary="Unbind a carrier account",
    description="Scope `logistics:write`. The credentials are deleted.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*PROVIDER_WRITE_ERRORS, 422, LogisticsAccountNotFound),
)
async def unbind_account(logistics_account_id: AccountId, access: LogisticsWrite, uow: UoW) -> None:
    # No Response of our own: the injected one carries the rate-limit headers.
    await accounts.unbind_account(uow, access.actor, access.shop_id, logistics_account_id)


@router.get(
    "/addresses",
    operation_id="listSenderAddresses",
    summary="The shop's sender/return addresses",
    description="Scope `logistics:read`. Oldest first; the default sender says `is_default: true`.",
    response_model=ListResponse[SenderAddress],
    responses=problem_responses(*PROVIDER_ERRORS, *PAGE_ERRORS),
)
async def list_addresses(
    access: LogisticsRead, uow: UoW, page: PageParams
) -> ListResponse[SenderAddress]:
    result = await senders.list_senders(uow, access.shop_id, page)
    return ListResponse[SenderAddress](
        data=[SenderAddress.of(a) for a in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.post(
    "/addresses",
    operation_id="createSenderAddress",
    summary="Add a sender/return address",
    description="Scope `logistics:write`. The shop's first address becomes the default "
    f"sender; `is_default: true` makes a later one the default. At most {MAX_SENDER_ADDRESSES} "
    "addresses.",
    status_code=status.HTTP_201_CREATED,
    response_model=SenderAddress,
    responses={
        **sets_headers(201, etag=True, location=True),
        **problem_responses(
            *PROVIDER_WRITE_ERRORS,
            *_BODY,
            PhoneInvalid,
            RegionUnknown,
            SenderAddressLimitReached,
            ConcurrentUpdate,
        ),
    },
)
async def create_address(
    body: SenderAddressCreate, access: LogisticsWrite, uow: UoW, response: Response
) -> SenderAddress:
    address = await senders.create_sender(
        uow,
        access.actor,
        access.shop_id,
        name=body.name,
        phone=body.phone,
        region_code=body.region_code,
        detail=body.detail,
        company=body.company,
        make_default=body.is_default,
    )
    set_etag(response, address.version)
    response.headers["Location"] = f"{ADDRESSES}/{address.id}"
    return SenderAddress.of(address)


@router.get(
    "/addresses/{sender_address_id}",
    operation_id="getSenderAddress",
    summary="One sender/return address",
    description="Scope `logistics:read`.",
    response_model=SenderAddress,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(*PROVIDER_ERRORS, 422, SenderAddressNotFound),
    },
)
async def get_address(
    sender_address_id: AddressId, access: LogisticsRead, uow: UoW, response: Response
) -> SenderAddress:
    address = await senders.get_sender(uow, access.shop_id, sender_address_id)
    set_etag(response, address.version)
    return SenderAddress.of(address)


@router.patch(
    "/addresses/{sender_address_id}",
    operation_id="updateSenderAddress",
    summary="Change a sender/return address",
    description="Scope `logistics:write`. Send the `ETag` you read as `If-Match` (412 if the "
    "address changed since). `is_default: true` makes it the default sender.",
    response_model=SenderAddress,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(
            *PROVIDER_WRITE_ERRORS,
            *_BODY,
            SenderAddressNotFound,
            PhoneInvalid,
            RegionUnknown,
            DefaultSenderRequired,
            PreconditionFailed,
            ConcurrentUpdate,
        ),
    },
)
async def update_address(
    sender_address_id: AddressId,
    body: SenderAddressUpdate,
    access: LogisticsWrite,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> SenderAddress:
    address = await senders.update_sender(
        uow,
        access.actor,
        access.shop_id,
        sender_address_id,
        SenderChanges(
            name=body.name,
            phone=body.phone,
            region_code=body.region_code,
            detail=body.detail,
            company=body.company,
            is_default=body.is_default,
        ),
        expected_version=expected,
    )
    set_etag(response, address.version)
    return SenderAddress.of(address)


@router.delete(
    "/addresses/{sender_address_id}",
    operation_id="deleteSenderAddress",
    summary="Delete a sender/return address",
    description="Scope `logistics:write`. Deleting the default sender makes the newest "
    "remaining address the default.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*PROVIDER_WRITE_ERRORS, 422, SenderAddressNotFound),
)
async def delete_address(sender_address_id: AddressId, access: LogisticsWrite, uow: UoW) -> None:
    # No Response of our own: the injected one carries the rate-limit headers.
    await senders.delete_sender(uow, access.actor, access.shop_id, sender_address_id)
