"""Buyers on the storefront: their tokens and their address book."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.api.schemas.base import Input, Output
from app.domain.orders.addresses import Address as AddressModel
from app.domain.orders.regions import Region

ADDRESS_ID_EXAMPLE = "addr_01jd8m3k2x9v7q4w5e6r7t8y9z"


class BuyerTokenRequest(Input):
    """A token request (RFC 6749 §4.3 and §6), as JSON or form-encoded: the buyer's username
    and password (`grant_type=password`), or the refresh token of an earlier answer
    (`grant_type=refresh_token`)."""

    grant_type: Literal["password", "refresh_token"] = Field(
        description="`password` to log in, `refresh_token` to renew.", examples=["password"]
    )
    username: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="With `grant_type=password`: the account's username.",
        examples=["wang.fang"],
    )
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="With `grant_type=password`: the account's password.",
        examples=["correct horse battery"],
    )
    refresh_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="With `grant_type=refresh_token`: the refresh token last received.",
        examples=["msbr_3kT9x..."],
    )


class BuyerToken(Output):
    """A buyer's token pair (RFC 6749 §5.1)."""

    access_token: str = Field(
        description="ES256 JWT for `Authorization: Bearer` on the storefront; short-lived.",
        examples=["eyJhbGciOiJFUzI1NiIsImtpZCI6..."],
    )
    token_type: Literal["Bearer"] = Field(description="Always `Bearer`.", examples=["Bearer"])
    expires_in: int = Field(
        description="Seconds until the access token expires (`MINISHOP_BUYER_TOKEN_SECONDS`).",
        examples=[900],
    )
    refresh_token: str = Field(
        description="Opaque and single use: each refresh answers a new one; presenting a used "
        "one again revokes every token of the login.",
        examples=["msbr_3kT9x..."],
    )
    account_id: str = Field(
        description="The buyer's account.", examples=["acct_01jd8m3k2x9v7q4w5e6r7t8y9z"]
    )


class BuyerTokenRevocation(Input):
    """Either token of a login (RFC 7009, JSON or form-encoded): the whole login ends."""

    token: str = Field(
        min_length=1,
        max_length=4096,
        description="The refresh token, or an access token of the login.",
        examples=["msbr_3kT9x..."],
    )
    token_type_hint: Literal["access_token", "refresh_token"] | None = Field(
        default=None,
        description="What the token is (optional; both are recognised anyway).",
        examples=["refresh_token"],
    )


class MainlandPlace(Input):
    """What every address given to the platform holds besides its name (a buyer's, a
    sender's): a mainland mobile number and a GB/T 2260 place."""

    phone: str = Field(
        min_length=11,
        max_length=20,
        description="A mainland China mobile number (11 digits, 13-19...); spaces, hyphens "
        "and a leading +86 are dropped.",
        examples=["13800138000"],
    )
    region_code: str = Field(
        pattern=r"^\d{6}$",
        description="The GB/T 2260 code of the district or county (or of a city or region "
        "with none under it).",
        examples=["440305"],
    )
    detail: str = Field(
        min_length=1,
        max_length=120,
        description="Street, building, unit, room.",
        examples=["科技园南区深南大道10000号 2栋 1801"],
    )


class BuyerAddressCreate(MainlandPlace):
    """A new address in the buyer's address book. The first one becomes the default."""

    recipient: str = Field(
        min_length=1, max_length=32, description="Who receives the parcel.", examples=["王芳"]
    )
    is_default: bool = Field(
        default=False,
        description="Make it the default address (the previous default stops being one).",
        examples=[False],
    )


class BuyerAddressUpdate(Input):
    """The fields to change; those left out stay as they are."""

    recipient: str | None = Field(
        default=None, min_length=1, max_length=32, description="Recipient.", examples=["王芳"]
    )
    phone: str | None = Field(
        default=None,
        min_length=11,
        max_length=20,
        description="A mainland China mobile number.",
        examples=["13900139000"],
    )
    region_code: str | None = Field(
        default=None,
        pattern=r"^\d{6}$",
        description="GB/T 2260 district code.",
        examples=["110105"],
    )
    detail: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="Street, building, unit, room.",
        examples=["望京街道 阜通东大街6号 3单元 502"],
    )


class AddressRegion(Output):
    """The GB/T 2260 division of an address, resolved from the shipped table."""

    code: str = Field(description="The address's region code.", examples=["440305"])
    province_code: str = Field(description="Its province-level division.", examples=["440000"])
    province_name: str = Field(description="Province name.", examples=["广东省"])
    city_code: str | None = Field(
        description="Its prefecture-level city; null for a municipality's district or a "
        "province-level region without cities.",
        examples=["440300"],
    )
    city_name: str | None = Field(description="City name.", examples=["深圳市"])
    district_name: str = Field(description="The division the code names.", examples=["南山区"])

    @classmethod
    def of(cls, r: Region) -> AddressRegion:
        return cls(
            code=r.code,
            province_code=r.province,
            province_name=r.province_name,
            city_code=r.city,
            city_name=r.city_name,
            district_name=r.district_name,
        )


class BuyerAddress(Output):
    """An address of the buyer's address book."""

    id: str = Field(description="Address id (`addr_…`).", examples=[ADDRESS_ID_EXAMPLE])
    recipient: str = Field(description="Who receives the parcel.", examples=["王芳"])
    phone: str = Field(description="Mobile number, 11 digits.", examples=["13800138000"])
    region_code: str = Field(description="GB/T 2260 code.", examples=["440305"])
    region: AddressRegion = Field(description="The region, resolved.")
    detail: str = Field(
        description="Street, building, unit, room.", examples=["科技园南区深南大道10000号"]
    )
    is_default: bool = Field(description="Whether this is the default address.", examples=[True])
    created_at: datetime = Field(
        description="When it was added.", examples=["2026-12-07T08:00:00Z"]
    )
    updated_at: datetime = Field(
        description="When it last changed.", examples=["2026-12-07T08:00:00Z"]
    )
    version: int = Field(description="Send as `If-Match` to update.", examples=[1])

    @classmethod
    def of(cls, address: AddressModel) -> BuyerAddress:
        return cls(
            id=address.id,
            recipient=address.recipient,
            phone=address.phone,
            region_code=address.region_code,
            region=AddressRegion.of(address.region),
            detail=address.detail,
            is_default=address.is_default,
            created_at=address.created_at,
            updated_at=address.updated_at,
            version=address.version,
        )
