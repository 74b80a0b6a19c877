"""The public contract of logistics: a shop's carrier accounts and its sender address book."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.api.schemas.base import Input, Output
from app.api.schemas.buyers import AddressRegion, MainlandPlace
from app.domain.logistics.accounts import LogisticsAccount as AccountEntity
from app.domain.logistics.accounts import mask
from app.domain.logistics.senders import SenderAddress as SenderEntity

ACCOUNT_ID_EXAMPLE = "lacc_01jd8m3k2x9v7q4w5e6r7t8y9z"
SENDER_ID_EXAMPLE = "sadr_01jd8m3k2x9v7q4w5e6r7t8y9z"
_CODE = r"^[A-Za-z0-9_-]+$"


class LogisticsAccountBind(Input):
    """A carrier account to bind (电子面单月结账号). The carrier checks the credentials
    first; the key and the secret are stored encrypted and never returned."""

    carrier: str = Field(
        min_length=1,
        max_length=16,
        description="A code of `GET /v1/logistics/carriers` (not `OTHER`).",
        examples=["SF"],
    )
    customer_code: str = Field(
        min_length=4,
        max_length=32,
        pattern=_CODE,
        description="The customer code / monthly account number the carrier bills.",
        examples=["7551234567"],
    )
    key: str = Field(
        min_length=1,
        max_length=128,
        description="The API key (partner id, app key) the carrier issued for the account.",
        examples=["SFPARTNER01"],
    )
    secret: str = Field(
        min_length=1,
        max_length=256,
        description="The API secret (check word). The sandbox carrier accepts one of at "
        "least 12 characters and refuses one beginning with `refuse` (422 "
        "`logistics_account_refused`).",
        examples=["sk_sandbox_5f3c9a1d7e"],
    )


class LogisticsAccount(Output):
    """A bound carrier account. The credentials are shown masked: their last 4 characters."""

    id: str = Field(description="Account id (`lacc_…`).", examples=[ACCOUNT_ID_EXAMPLE])
    carrier: str = Field(description="The carrier's code.", examples=["SF"])
    customer_code: str = Field(
        description="The customer code / monthly account number.", examples=["7551234567"]
    )
    key_masked: str = Field(
        description="The API key, masked (its last 4 characters at most).",
        examples=["********ER01"],
    )
    secret_masked: str = Field(
        description="The API secret, masked (its last 4 characters at most); the secret "
        "itself is never returned.",
        examples=["********7e1d"],
    )
    verified_at: datetime = Field(
        description="When the carrier accepted the credentials.",
        examples=["2026-12-07T08:00:00Z"],
    )
    created_at: datetime = Field(
        description="When the account was bound.", examples=["2026-12-07T08:00:00Z"]
    )

    @classmethod
    def of(cls, a: AccountEntity) -> LogisticsAccount:
        return cls(
            id=a.id,
            carrier=a.carrier_code,
            customer_code=a.customer_code,
            key_masked=mask(a.key_tail),
            secret_masked=mask(a.secret_tail),
            verified_at=a.verified_at,
            created_at=a.created_at,
        )


class SenderAddressCreate(MainlandPlace):
    """A new sender/return address. The shop's first one becomes the default sender."""

    name: str = Field(
        min_length=1, max_length=32, description="The sender's name.", examples=["张伟"]
    )
    company: str | None = Field(
        default=None,
        max_length=64,
        description="The company printed beside the name, if any.",
        examples=["深圳小店科技有限公司"],
    )
    is_default: bool = Field(
        default=False,
        description="Make it the default sender (the previous default stops being one).",
        examples=[False],
    )


class SenderAddressUpdate(Input):
    """The fields to change; those left out stay as they are."""

    name: str | None = Field(
        default=None, min_length=1, max_length=32, description="Sender's name.", examples=["张伟"]
    )
    company: str | None = Field(
        default=None,
        max_length=64,
        description="Company; an empty string removes it.",
        examples=["深圳小店科技有限公司"],
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
    is_default: bool | None = Field(
        default=None,
        description="`true` makes it the default sender; the default cannot be unset with "
        "`false` (make another address the default instead).",
        examples=[True],
    )


class SenderAddress(Output):
    """An address of the shop's sender/return address book."""

    id: str = Field(description="Address id (`sadr_…`).", examples=[SENDER_ID_EXAMPLE])
    name: str = Field(description="The sender's name.", examples=["张伟"])
    company: str | None = Field(
        description="The company printed beside the name.", examples=["深圳小店科技有限公司"]
    )
    phone: str = Field(description="Mobile number, 11 digits.", examples=["13800138000"])
    region_code: str = Field(description="GB/T 2260 code.", examples=["440305"])
    region: AddressRegion = Field(description="The region, resolved.")
    detail: str = Field(
        description="Street, building, unit, room.", examples=["科技园南区深南大道10000号"]
    )
    is_default: bool = Field(description="Whether this is the default sender.", examples=[True])
    created_at: datetime = Field(
        description="When it was added.", examples=["2026-12-07T08:00:00Z"]
    )
    updated_at: datetime = Field(
        description="When it last changed.", examples=["2026-12-07T08:00:00Z"]
    )
    version: int = Field(description="Send as `If-Match` to update.", examples=[1])

    @classmethod
    def of(cls, a: SenderEntity) -> SenderAddress:
        return cls(
            id=a.id,
            name=a.name,
            company=a.company,
            phone=a.phone,
            region_code=a.region_code,
            region=AddressRegion.of(a.region),
            detail=a.detail,
            is_default=a.is_default,
            created_at=a.created_at,
            updated_at=a.updated_at,
            version=a.version,
        )
