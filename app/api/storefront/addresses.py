"""Storefront: the buyer's address book. Every address belongs to the caller's account;
another buyer's address id is not found (404), like an id that does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status

from app.api.deps import IfMatch, UoW, set_etag
from app.api.errors import problem_responses
from app.api.openapi import sets_headers
from app.api.pagination import PAGE_ERRORS, ListResponse, PageParams, encode_cursor
from app.api.routing import PrefixedRouter, StrictRoute
from app.api.schemas.buyers import (
    ADDRESS_ID_EXAMPLE,
    BuyerAddress,
    BuyerAddressCreate,
    BuyerAddressUpdate,
)
from app.api.storefront.auth import BUYER_ERRORS, BuyerAuth
from app.domain.errors import PreconditionFailed
from app.domain.orders import address_services as addresses
from app.domain.orders.addresses import MAX_ADDRESSES, AddressChanges
from app.domain.orders.errors import (
    AddressLimitReached,
    AddressNotFound,
    PhoneInvalid,
    RegionUnknown,
)

PREFIX = "/v1/storefront/addresses"
_BODY = (400, 413, 415, 422)

router = PrefixedRouter(route_class=StrictRoute, prefix=PREFIX, tags=["Storefront: buyers"])

AddressId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The address's id (`addr_…`).",
        examples=[ADDRESS_ID_EXAMPLE],
    ),
]


@router.get(
    "",
    operation_id="listBuyerAddresses",
    summary="The buyer's addresses",
    description="Oldest first; the default one says `is_default: true`.",
    response_model=ListResponse[BuyerAddress],
    responses=problem_responses(*BUYER_ERRORS, *PAGE_ERRORS),
)
async def list_addresses(
    buyer: BuyerAuth, uow: UoW, page: PageParams
) -> ListResponse[BuyerAddress]:
    result = await addresses.list_addresses(uow, buyer.account_id, page)
    return ListResponse[BuyerAddress](
        data=[BuyerAddress.of(a) for a in result.items],
        next_cursor=encode_cursor(result.next_after),
    )


@router.post(
    "",
    operation_id="createBuyerAddress",
    summary="Add an address",
    description="The buyer's first address becomes the default; `is_default: true` makes a "
    f"later one the default. At most {MAX_ADDRESSES} addresses.",
    status_code=status.HTTP_201_CREATED,
    response_model=BuyerAddress,
    responses={
        **sets_headers(201, etag=True, location=True),
        **problem_responses(
            *BUYER_ERRORS, *_BODY, PhoneInvalid, RegionUnknown, AddressLimitReached
        ),
    },
)
async def create_address(
    body: BuyerAddressCreate, buyer: BuyerAuth, uow: UoW, response: Response
) -> BuyerAddress:
    address = await addresses.create_address(
        uow,
        buyer.account_id,
        recipient=body.recipient,
        phone=body.phone,
        region_code=body.region_code,
        detail=body.detail,
        make_default=body.is_default,
    )
    set_etag(response, address.version)
    response.headers["Location"] = f"{PREFIX}/{address.id}"
    return BuyerAddress.of(address)


@router.get(
    "/{address_id}",
    operation_id="getBuyerAddress",
    summary="One address",
    response_model=BuyerAddress,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(*BUYER_ERRORS, 422, AddressNotFound),
    },
)
async def get_address(
    address_id: AddressId, buyer: BuyerAuth, uow: UoW, response: Response
) -> BuyerAddress:
    address = await addresses.get_address(uow, buyer.account_id, address_id)
    set_etag(response, address.version)
    return BuyerAddress.of(address)


@router.patch(
    "/{address_id}",
    operation_id="updateBuyerAddress",
    summary="Change an address",
    description="Send the `ETag` you read as `If-Match` (412 if the address changed since).",
    response_model=BuyerAddress,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(
            *BUYER_ERRORS, *_BODY, AddressNotFound, PhoneInvalid, RegionUnknown, PreconditionFailed
        ),
    },
)
async def update_address(
    address_id: AddressId,
    body: BuyerAddressUpdate,
    buyer: BuyerAuth,
    uow: UoW,
    response: Response,
    expected: IfMatch,
) -> BuyerAddress:
    address = await addresses.update_address(
        uow,
        buyer.account_id,
        address_id,
        AddressChanges(
            recipient=body.recipient,
            phone=body.phone,
            region_code=body.region_code,
            detail=body.detail,
        ),
        expected_version=expected,
    )
    set_etag(response, address.version)
    return BuyerAddress.of(address)


@router.delete(
    "/{address_id}",
    operation_id="deleteBuyerAddress",
    summary="Delete an address",
    description="Deleting the default address makes the newest remaining one the default.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*BUYER_ERRORS, 422, AddressNotFound),
)
async def delete_address(address_id: AddressId, buyer: BuyerAuth, uow: UoW) -> Response:
    await addresses.delete_address(uow, buyer.account_id, address_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{address_id}/default",
    operation_id="setDefaultBuyerAddress",
    summary="Make an address the default",
    description="The previous default stops being one. Making the default the default again "
    "changes nothing.",
    response_model=BuyerAddress,
    responses={
        **sets_headers(200, etag=True),
        **problem_responses(*BUYER_ERRORS, 422, AddressNotFound),
    },
)
async def set_default(
    address_id: AddressId, buyer: BuyerAuth, uow: UoW, response: Response
) -> BuyerAddress:
    address = await addresses.set_default(uow, buyer.account_id, address_id)
    set_etag(response, address.version)
    return BuyerAddress.of(address)
